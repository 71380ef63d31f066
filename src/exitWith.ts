// Start-up and command faults end with one clear line on stderr and a non-zero exit, never a stack dump.
import { ConfigError } from './config.js';
import { describeNativeAddonFault } from './nativeAddonFault.js';

export function exitWith(error: unknown, program = 'all-in-one'): never {
  const message = describeNativeAddonFault(error) ?? (error instanceof Error ? error.message : String(error));
  const prefix = error instanceof ConfigError ? 'Invalid configuration: ' : 'Error: ';
  process.stderr.write(`${program}: ${prefix}${message}\n`);
  process.exit(1);
}
