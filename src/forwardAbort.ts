// Lets a controller follow another signal, whatever object a framework handed it (engine, service and HTTP share it).

/** What is needed of a caller's signal; a real `AbortSignal` has it, and so do frameworks' look-alikes. */
export type AbortSignalLike = Pick<AbortSignal, 'aborted' | 'reason' | 'addEventListener' | 'removeEventListener'>;

/**
 * Aborts `target` when `source` aborts (at once if it already has), with the same reason. Unlike
 * `AbortSignal.any`, it accepts look-alike signals, which newer Node releases refuse there. Returns the detach
 * function: call it when the work ends so a long-lived source does not keep the target alive.
 */
export function forwardAbort(source: AbortSignalLike | undefined, target: AbortController): () => void {
  if (!source) return () => {};
  if (source.aborted) {
    target.abort(source.reason);
    return () => {};
  }
  const onAbort = (): void => target.abort(source.reason);
  source.addEventListener('abort', onAbort, { once: true });
  return () => source.removeEventListener('abort', onAbort);
}
