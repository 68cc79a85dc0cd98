import type { Progress } from './admin/backup.js';

const fmt = (n: number) => n.toLocaleString('en-US');

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A progress bar on standard error. On a terminal it redraws one line (at most ten times a
 * second); otherwise (a log, a pipe) it prints a line at every tenth of the work.
 */
export class ProgressBar implements Progress {
  private total = 0;
  private done = 0;
  private started = Date.now();
  private lastDraw = 0;
  private lastTenth = 0;

  constructor(
    private readonly label: string,
    private readonly out: { write(s: string): unknown; isTTY?: boolean } = process.stderr,
  ) {}

  start(total: number): void {
    this.total = total;
    this.started = Date.now();
    this.draw(true);
  }

  advance(rows: number): void {
    this.done += rows;
    this.draw(false);
  }

  /** Ends the bar with a summary line. */
  finish(summary: string): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
    const secs = (Date.now() - this.started) / 1000;
    this.out.write(`${this.label}: ${summary} in ${duration(secs)}\n`);
  }

  private draw(force: boolean): void {
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const pct = Math.floor(fraction * 100);
    if (this.out.isTTY) {
      const now = Date.now();
      if (!force && now - this.lastDraw < 100 && this.done < this.total) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(fraction * width);
      const secs = (now - this.started) / 1000;
      const rate = secs > 0 ? this.done / secs : 0;
      const eta = rate > 0 ? ` ETA ${duration((this.total - this.done) / rate)}` : '';
      this.out.write(
        `\r\x1b[K${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${fmt(this.done)}/${fmt(this.total)} rows ${fmt(Math.round(rate))}/s${eta}`,
      );
      return;
    }
    if (force) {
      this.out.write(`${this.label}: ${fmt(this.total)} rows to copy\n`);
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.out.write(`${this.label}: ${pct}% (${fmt(this.done)}/${fmt(this.total)} rows)\n`);
    }
  }
}
