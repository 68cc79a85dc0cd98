/** Progress of long bench steps, drawn on stderr. */

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

export interface Progress {
  tick(done: number, note?: string): void;
  /** Draws the finished bar; returns the milliseconds since the bar was made. */
  done(): number;
}

/**
 * A bar redrawn in place on a terminal; in a log file (stderr not a terminal), a line per tenth
 * of the way, and one whenever the note changes.
 */
export function progress(label: string, total: number): Progress {
  const started = Date.now();
  let lastDraw = 0;
  let lastTenth = -1;
  let lastNote = '';
  let note = '';
  const draw = (done: number, force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 200 && note === lastNote) return;
    const tenth = Math.floor((done / total) * 10);
    if (!force && !process.stderr.isTTY && tenth === lastTenth && note === lastNote) return;
    lastTenth = tenth;
    lastNote = note;
    lastDraw = now;
    const frac = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(frac * width);
    const elapsed = now - started;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : 0;
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${done.toLocaleString('en')}/${total.toLocaleString('en')}  ${formatDuration(elapsed)}${frac < 1 ? `, ETA ${formatDuration(eta)}` : ''}${note ? `  ${note}` : ''}`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  };
  return {
    tick: (done, n) => {
      if (n !== undefined) note = n;
      draw(done);
    },
    done: () => {
      note = '';
      if (process.stderr.isTTY || lastTenth < 10) draw(total, true);
      if (process.stderr.isTTY) process.stderr.write('\n');
      return Date.now() - started;
    },
  };
}
