/**
 * Typed errors. Each names the operation, the argument, what was expected and what was given,
 * so that a message alone tells the user what to fix.
 */

export interface ErrorDetails {
  /** The operation or function that failed, e.g. `matmul` or `SafetensorsFile.read`. */
  op: string;
  /** The argument at fault, e.g. `b` or `axis`. */
  arg?: string;
  expected?: string;
  given?: string;
  /** Nearest valid names, when the input was a misspelt name. */
  suggestions?: readonly string[];
}

function formatMessage(summary: string, d: ErrorDetails): string {
  const parts = [`${d.op}: ${summary}`];
  if (d.arg !== undefined) parts.push(`argument \`${d.arg}\``);
  if (d.expected !== undefined) parts.push(`expected ${d.expected}`);
  if (d.given !== undefined) parts.push(`given ${d.given}`);
  let message = parts.join('; ');
  if (d.suggestions && d.suggestions.length > 0) {
    message += `. Did you mean ${d.suggestions.map((s) => `\`${s}\``).join(' or ')}?`;
  }
  return message;
}

export class GlassboxError extends Error {
  readonly op: string;
  readonly arg: string | undefined;
  readonly expected: string | undefined;
  readonly given: string | undefined;
  readonly suggestions: readonly string[];

  constructor(summary: string, details: ErrorDetails) {
    super(formatMessage(summary, details));
    this.name = new.target.name;
    this.op = details.op;
    this.arg = details.arg;
    this.expected = details.expected;
    this.given = details.given;
    this.suggestions = details.suggestions ?? [];
  }
}

/** A tensor had the wrong shape, or shapes could not be broadcast together. */
export class ShapeError extends GlassboxError {}
/** A tensor had the wrong dtype. */
export class DTypeError extends GlassboxError {}
/** An argument had a bad value: an axis out of range, a negative size, an unknown option. */
export class ValueError extends GlassboxError {}
/** A file in the safetensors format was malformed or did not match what was asked of it. */
export class SafetensorsError extends GlassboxError {}
/** Anomaly mode found a NaN or Inf in the output of an operation. */
export class AnomalyError extends GlassboxError {}
/** Autograd was misused: backward on a tensor that needs no grad, a non-scalar without a seed. */
export class AutogradError extends GlassboxError {}

/** Formats a shape the way error messages print it: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The valid names closest to `name` by edit distance, best first; empty when none is close. */
export function nearestNames(name: string, valid: Iterable<string>, limit = 3): string[] {
  const scored: Array<[string, number]> = [];
  for (const candidate of valid) {
    const distance = editDistance(name, candidate);
    if (distance <= Math.max(2, Math.floor(Math.max(name.length, candidate.length) / 3))) {
      scored.push([candidate, distance]);
    }
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  return scored.slice(0, limit).map(([candidate]) => candidate);
}
