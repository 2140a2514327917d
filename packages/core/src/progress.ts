/** Reports the progress of long work: a bar with ETA and throughput on a terminal, nothing when quiet. */
export interface ProgressReporter {
  /** Begins a phase of `total` units (steps, tokens, prompts). `done` counts units already finished, when resuming. */
  start(label: string, total: number, options?: { unit?: string; done?: number }): void;
  /** Advances by `n` units; `metrics` are shown beside the bar (e.g. { loss: 2.31 }). */
  tick(n?: number, metrics?: Readonly<Record<string, number>>): void;
  /** Ends the phase. */
  finish(): void;
}

export const silentProgress: ProgressReporter = { start() {}, tick() {}, finish() {} };

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(perSecond >= 10 ? 0 : 1);
}

function formatMetric(value: number): string {
  return Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(2) : value.toFixed(4);
}

export interface TerminalProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Milliseconds between redraws (on a terminal) or printed lines (in a log). */
  interval?: number;
  now?: () => number;
}

/**
 * A progress bar on stderr. On a terminal it redraws one line; in a log (not a TTY) it prints a
 * line at most every few seconds, so CI output stays readable.
 */
export function terminalProgress(options: TerminalProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const interval = options.interval ?? (tty ? 100 : 5000);
  const now = options.now ?? (() => performance.now());
  let label = '';
  let unit = 'it';
  let total = 0;
  let done = 0;
  let startDone = 0;
  let started = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastDrawnDone = -1;
  let metrics: Readonly<Record<string, number>> = {};

  const line = (): string => {
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? (done - startDone) / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const extra = Object.entries(metrics)
      .map(([k, v]) => `${k} ${formatMetric(v)}`)
      .join(' · ');
    return `${label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total} · ${formatRate(rate)} ${unit}/s · ETA ${formatDuration(eta)} · ${formatDuration(elapsed)} elapsed${extra ? ` · ${extra}` : ''}`;
  };

  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - lastDraw < interval) return;
    lastDraw = t;
    lastDrawnDone = done;
    stream.write(tty ? `\r\x1b[2K${line()}` : `${line()}\n`);
  };

  return {
    start(newLabel, newTotal, opts = {}) {
      label = newLabel;
      total = newTotal;
      unit = opts.unit ?? 'it';
      done = opts.done ?? 0;
      startDone = done;
      started = now();
      metrics = {};
      lastDraw = Number.NEGATIVE_INFINITY;
      draw(true);
    },
    tick(n = 1, newMetrics) {
      done += n;
      if (newMetrics) metrics = newMetrics;
      draw(done >= total);
    },
    finish() {
      if (lastDrawnDone !== done) draw(true);
      if (tty) stream.write('\n');
    },
  };
}
