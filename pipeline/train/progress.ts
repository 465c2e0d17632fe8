/**
 * A progress line for long work (training epochs, data loading) on stderr:
 * redrawn in place on a terminal, printed every 10% otherwise (CI logs).
 */
export interface ProgressOptions {
  total: number;
  label: string;
  stream?: NodeJS.WriteStream;
  /** Silences all output (tests, --quiet). */
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  private lastDecile = -1;
  private readonly started = Date.now();
  private readonly stream: NodeJS.WriteStream;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
  }

  /** Advances by `n` items; `info` is shown after the bar (e.g. "loss 3.21"). */
  tick(n = 1, info = ''): void {
    this.done += n;
    if (this.options.quiet) return;
    const { total, label } = this.options;
    const frac = total > 0 ? Math.min(1, this.done / total) : 1;
    const secs = (Date.now() - this.started) / 1000;
    const eta = frac > 0 ? secs / frac - secs : 0;
    if (this.stream.isTTY) {
      const width = 24;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      this.stream.write(`\r${label} [${bar}] ${this.done}/${total} ${secs.toFixed(0)}s eta ${eta.toFixed(0)}s ${info}\x1b[K`);
    } else {
      const decile = Math.floor(frac * 10);
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${label} ${Math.round(frac * 100)}% (${this.done}/${total}, ${secs.toFixed(0)}s) ${info}\n`);
      }
    }
  }

  /** Ends the line with a summary. */
  finish(summary: string): void {
    if (this.options.quiet) return;
    this.stream.write(`${this.stream.isTTY ? '\r' : ''}${this.options.label} ${summary}${this.stream.isTTY ? '\x1b[K' : ''}\n`);
  }
}
