// Who a connection counts against: its peer address, with an IPv6 client's whole /64 as one client.
import { isIPv4, isIPv6 } from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;
const IPV6_GROUPS = 8;
/** A /64 is what one IPv6 subscriber is given: counting single addresses would let one client use 2^64 of them. */
const IPV6_CLIENT_GROUPS = 4;

export function clientOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  const mapped = IPV4_MAPPED.exec(remoteAddress)?.[1];
  if (mapped !== undefined) return mapped;
  if (isIPv4(remoteAddress) || !isIPv6(remoteAddress)) return remoteAddress;
  return `${expandIPv6(remoteAddress).slice(0, IPV6_CLIENT_GROUPS).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, `::` filled in and leading zeros dropped; a zone (`%eth0`) is ignored. */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('%', 1)[0]!.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const zeros = Array.from({ length: IPV6_GROUPS - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((group) => group.replace(/^0+(?=.)/, '').toLowerCase());
}
