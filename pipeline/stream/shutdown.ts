/**
 * Graceful shutdown on SIGTERM/SIGINT: the first signal starts a stop that
 * must finish within a deadline. A second signal, or the deadline passing,
 * ends the process at once the way an unhandled signal would: the handlers
 * are removed and the signal is raised again, so the kernel terminates the
 * process (exit status 128 + signal number) even if a thread is stuck in I/O,
 * where process.exit() could hang. What was not committed is read again by
 * the next worker (at-least-once), or aborted with the open transaction.
 */
export interface ShutdownOptions {
  /** Starts the graceful stop (called once, on the first signal). */
  stop: (signal: NodeJS.Signals) => void;
  /** Most time the graceful stop may take (ms) before the process is ended anyway. */
  timeoutMs: number;
  /** Told why the process is about to be ended (e.g. to log it). */
  onForcedExit?: (reason: string) => void;
  /** Ends the process now by `signal`; default: remove the handlers and raise it again. */
  forceExit?: (signal: NodeJS.Signals) => void;
  signals?: readonly NodeJS.Signals[];
  /** Where signal handlers are installed; default process. */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export interface ShutdownHandle {
  /** The signal that started the stop, if any. */
  readonly signal: NodeJS.Signals | undefined;
  /** Removes the handlers and the deadline (call when the worker has finished). */
  dispose(): void;
}

export function handleShutdownSignals(opts: ShutdownOptions): ShutdownHandle {
  const { stop, timeoutMs, signals = ['SIGTERM', 'SIGINT'], target = process, onForcedExit = () => undefined } = opts;
  let received: NodeJS.Signals | undefined;
  let deadline: NodeJS.Timeout | undefined;

  const dispose = (): void => {
    clearTimeout(deadline);
    for (const s of signals) target.off(s, onSignal);
  };
  const forceExit =
    opts.forceExit ??
    ((signal: NodeJS.Signals) => {
      dispose();
      process.kill(process.pid, signal);
    });
  const die = (signal: NodeJS.Signals, reason: string): void => {
    onForcedExit(reason);
    forceExit(signal);
  };

  function onSignal(signal: NodeJS.Signals): void {
    if (received !== undefined) {
      die(signal, `second signal (${signal}): exiting without waiting`);
      return;
    }
    received = signal;
    deadline = setTimeout(() => die(signal, `graceful shutdown took longer than ${timeoutMs} ms: exiting anyway`), timeoutMs);
    deadline.unref();
    stop(signal);
  }
  for (const s of signals) target.on(s, onSignal);
  return {
    get signal() {
      return received;
    },
    dispose,
  };
}
