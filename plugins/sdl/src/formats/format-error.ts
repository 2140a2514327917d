import { GlassboxError } from '@glassbox/tensor';

/**
 * A saved SAE folder is malformed: a missing or unreadable file, a config field of the wrong type
 * or value, a missing tensor or one of the wrong shape. The message names the file, the field or
 * tensor, what was expected and what was found.
 */
export class SaeFormatError extends GlassboxError {
  /** The file at fault. */
  readonly file: string;

  constructor(file: string, summary: string, details: { op: string; field?: string; expected?: string; given?: string; suggestions?: readonly string[] }) {
    super(`${file}: ${summary}`, { op: details.op, arg: details.field, expected: details.expected, given: details.given, suggestions: details.suggestions });
    this.file = file;
  }
}

/** A short description of a JSON value, for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array ${JSON.stringify(value).slice(0, 60)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Typed readers of config fields, each throwing a SaeFormatError that names the field. */
export function fieldReader(file: string, op: string, cfg: Record<string, unknown>, prefix = '') {
  const fail = (field: string, expected: string, value: unknown) =>
    new SaeFormatError(file, `bad config field \`${prefix}${field}\``, { op, field: `${prefix}${field}`, expected, given: describeValue(value) });
  return {
    fail,
    has: (field: string) => cfg[field] !== undefined && cfg[field] !== null,
    positiveInt(field: string): number {
      const v = cfg[field];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw fail(field, 'a positive integer', v);
      return v;
    },
    nonNegativeInt(field: string, fallback?: number): number {
      const v = cfg[field] ?? fallback;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw fail(field, 'a non-negative integer', v);
      return v;
    },
    positiveNumber(field: string, fallback?: number): number {
      const v = cfg[field] ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(field, 'a positive number', v);
      return v;
    },
    boolean(field: string, fallback?: boolean): boolean {
      const v = cfg[field] ?? fallback;
      if (typeof v !== 'boolean') throw fail(field, 'true or false', v);
      return v;
    },
    string(field: string, fallback?: string): string {
      const v = cfg[field] ?? fallback;
      if (typeof v !== 'string') throw fail(field, 'a string', v);
      return v;
    },
    optionalInt(field: string): number | null {
      const v = cfg[field];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw fail(field, 'an integer or null', v);
      return v;
    },
    oneOf<T extends string>(field: string, choices: readonly T[], fallback?: T): T {
      const v = cfg[field] ?? fallback;
      if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw fail(field, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, v);
      return v as T;
    },
  };
}
