/**
 * A progress line for long operations on standard error: redrawn in place on a terminal, printed
 * every few seconds otherwise (in CI logs, or when standard error goes to a file).
 */
const BAR_WIDTH = 30;
const LOG_INTERVAL_MS = 3000;
const REDRAW_INTERVAL_MS = 100;

export interface ProgressCounts {
  stored: number;
  failed: number;
  skipped: number;
  invalid: number;
}

export class ProgressReporter {
  private readonly total: number;
  private readonly output: NodeJS.WriteStream;
  private readonly startedAt = Date.now();
  private lastDrawn = 0;

  constructor(total: number, output: NodeJS.WriteStream) {
    this.total = total;
    this.output = output;
  }

  update(counts: ProgressCounts): void {
    const now = Date.now();
    if (now - this.lastDrawn < (this.output.isTTY ? REDRAW_INTERVAL_MS : LOG_INTERVAL_MS)) return;
    this.lastDrawn = now;
    this.draw(counts, false);
  }

  finish(counts: ProgressCounts): void {
    this.draw(counts, true);
  }

  private draw(counts: ProgressCounts, last: boolean): void {
    const done = counts.stored + counts.failed + counts.skipped + counts.invalid;
    const fraction = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = Math.max(0.001, (Date.now() - this.startedAt) / 1000);
    const line =
      `[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${Math.floor(fraction * 100)}% ${done}/${this.total}` +
      ` stored ${counts.stored}, failed ${counts.failed + counts.invalid}, skipped ${counts.skipped}, ${Math.round(counts.stored / seconds)}/s`;
    if (this.output.isTTY) this.output.write(`\r${line}${last ? '\n' : ''}`);
    else this.output.write(`${line}\n`);
  }
}
