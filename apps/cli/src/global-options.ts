import { ValueError } from '@glassbox/tensor';

/** Options every subcommand accepts. */
export interface GlobalOptions {
  backend?: string;
  threads?: string;
  seed: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function parseSeed(raw: string): number {
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ValueError('bad option value', { op: 'glassbox', arg: '--seed', expected: 'a non-negative integer', given: JSON.stringify(raw) });
  }
  return seed;
}

export function parseThreads(raw: string): number {
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new ValueError('bad option value', { op: 'glassbox', arg: '--threads', expected: 'an integer in [1, 64]', given: JSON.stringify(raw) });
  }
  return threads;
}
