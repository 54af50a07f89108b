// Waiting between a watcher's rounds.

/** Sleep, but wake early (false) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const abort = () => (clearTimeout(timer), resolve(false));
    // the listener goes with its round: a long wait must not pile one up per round on the signal
    const timer = setTimeout(() => (signal.removeEventListener('abort', abort), resolve(true)), ms);
    signal.addEventListener('abort', abort, { once: true });
  });
}
