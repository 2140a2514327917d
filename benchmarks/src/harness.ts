/**
 * Shared pieces for benchmarks: timing with warm-up and medians, a machine description, Markdown
 * tables, atomic JSON writes and regeneration of marked README sections.
 *
 * A benchmark is a sibling `*.bench.ts` module exporting a {@link Benchmark}; `run.ts` lists them.
 */

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The benchmarks package root (the folder holding README.md and results/). */
export const BENCH_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const README_PATH = join(BENCH_ROOT, 'README.md');
export const RESULTS_DIR = join(BENCH_ROOT, 'results');

export interface BenchmarkResult {
  /** Written to results/<name>.json. */
  json: unknown;
  /** Replaces the README section between `<!-- name:start -->` and `<!-- name:end -->`. */
  markdown: string;
}

export interface Benchmark {
  /** Short id: names the results file and the README markers. */
  name: string;
  description: string;
  run(log: (line: string) => void): Promise<BenchmarkResult>;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  arch: string;
  totalMemoryGiB: number;
  /** 1-minute load average when the run started: above ~1 per core, others were competing for the CPU. */
  loadAverage1m: number;
  date: string;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    date: new Date().toISOString(),
  };
}

/** `--name=N` from the command line (run.ts takes the arguments without a leading dash as benchmark names). */
export function integerOption(name: string, fallback: number, min = 1): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (!arg) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${arg}`);
  return value;
}

/** Deterministic values in [-1, 1) from a seeded linear congruential generator, so runs are comparable. */
export function seededValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median: no values');
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Timing {
  /** Median wall-clock time. */
  medianSeconds: number;
  samplesSeconds: number[];
  /**
   * Median CPU time (user + system) of this process over the same calls. For single-threaded work
   * it leaves out the time the process sat descheduled while other processes held the cores.
   */
  medianCpuSeconds: number;
  samplesCpuSeconds: number[];
}

/**
 * Times several contenders on the same task. After `warmup` untimed calls each, runs `reps` rounds;
 * every round calls each contender once, in turn, so that slow and fast phases of a shared, noisy
 * machine fall on all of them alike and their ratio stays meaningful.
 */
export function timeInterleaved<K extends string>(
  contenders: Record<K, () => void>,
  options: { warmup: number; reps: number },
): Record<K, Timing> {
  const names = Object.keys(contenders) as K[];
  for (const name of names) for (let i = 0; i < options.warmup; i++) contenders[name]();
  const wall = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const cpu = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < options.reps; r++) {
    for (const name of names) {
      const cpuStart = process.cpuUsage();
      const start = process.hrtime.bigint();
      contenders[name]();
      wall[name].push(Number(process.hrtime.bigint() - start) / 1e9);
      const used = process.cpuUsage(cpuStart);
      cpu[name].push((used.user + used.system) / 1e6);
    }
  }
  return Object.fromEntries(
    names.map((name) => [
      name,
      {
        medianSeconds: median(wall[name]),
        samplesSeconds: wall[name],
        medianCpuSeconds: median(cpu[name]),
        samplesCpuSeconds: cpu[name],
      },
    ]),
  ) as Record<K, Timing>;
}

/** A GitHub-flavoured Markdown table; `align` gives 'r' for right-aligned (numeric) columns. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: string): string {
  const sep = headers.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [headers, sep, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Writes JSON through a temp file and a rename, so a reader never sees a half-written file. */
export function writeJsonAtomic(path: string, data: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, path);
}

/**
 * Replaces what lies between `<!-- name:start -->` and `<!-- name:end -->` in a Markdown file,
 * leaving the rest as written by hand. Appends a new marked section when the markers are absent.
 */
export function replaceMarkedSection(path: string, name: string, content: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = readFileSync(path, 'utf8');
  const i = text.indexOf(start);
  const j = text.indexOf(end, i + start.length);
  const block = `${start}\n${content.trim()}\n${end}`;
  const next = i >= 0 && j >= 0 ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, path);
}

/** Formats a number with a fixed count of significant digits, without exponent notation for common ranges. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return x.toFixed(Math.min(decimals, 10));
}
