import { ValueError, nearestNames } from '@glassbox/tensor';

/** One option of a plugin or command: its type, default, bounds and help text. */
export type OptionSpec =
  | { type: 'number'; default: number; description: string; min?: number; max?: number }
  | { type: 'integer'; default: number; description: string; min?: number; max?: number }
  | { type: 'string'; default: string; description: string }
  | { type: 'boolean'; default: boolean; description: string }
  | { type: 'enum'; default: string; description: string; choices: readonly string[] }
  | { type: 'list'; default: readonly number[]; description: string; integer?: boolean; min?: number };

export type OptionsSchema = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S extends { type: 'number' | 'integer' }
  ? number
  : S extends { type: 'boolean' }
    ? boolean
    : S extends { type: 'list' }
      ? number[]
      : S extends { type: 'enum'; choices: readonly (infer C)[] }
        ? C
        : string;

/** The resolved options of a schema, with each value typed by its spec. */
export type OptionsOf<S extends OptionsSchema> = { -readonly [K in keyof S]: ValueOf<S[K]> };

function describe(spec: OptionSpec): string {
  switch (spec.type) {
    case 'enum':
      return `one of ${spec.choices.join(', ')}`;
    case 'integer':
    case 'number': {
      const kind = spec.type === 'integer' ? 'an integer' : 'a number';
      if (spec.min !== undefined && spec.max !== undefined) return `${kind} in [${spec.min}, ${spec.max}]`;
      if (spec.min !== undefined) return `${kind} >= ${spec.min}`;
      if (spec.max !== undefined) return `${kind} <= ${spec.max}`;
      return kind;
    }
    case 'list':
      return `a comma-separated list of ${spec.integer ? 'integers' : 'numbers'}`;
    default:
      return `a ${spec.type}`;
  }
}

/** Parses a value given as text (from a command line) or as a JSON value, against its spec. */
function coerce(op: string, name: string, spec: OptionSpec, raw: unknown): unknown {
  const fail = () => new ValueError('bad option value', { op, arg: name, expected: describe(spec), given: JSON.stringify(raw) });
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw fail();
      if (spec.type === 'integer' && !Number.isInteger(value)) throw fail();
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) throw fail();
      return value;
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw fail();
    case 'enum':
      if (typeof raw === 'string' && spec.choices.includes(raw)) return raw;
      throw new ValueError('bad option value', {
        op,
        arg: name,
        expected: describe(spec),
        given: JSON.stringify(raw),
        suggestions: typeof raw === 'string' ? nearestNames(raw, spec.choices) : [],
      });
    case 'list': {
      const items = typeof raw === 'string' ? raw.split(',').map((s) => Number(s.trim())) : raw;
      if (!Array.isArray(items) || items.length === 0) throw fail();
      for (const v of items) {
        if (typeof v !== 'number' || !Number.isFinite(v) || (spec.integer && !Number.isInteger(v)) || (spec.min !== undefined && v < spec.min)) throw fail();
      }
      return [...items];
    }
    case 'string':
      if (typeof raw === 'string') return raw;
      throw fail();
  }
}

/**
 * Fills defaults and validates every given value; an unknown option name is an error that
 * suggests the nearest known name.
 */
export function resolveOptions<S extends OptionsSchema>(op: string, schema: S, given: Readonly<Record<string, unknown>> = {}): OptionsOf<S> {
  const names = Object.keys(schema);
  for (const name of Object.keys(given)) {
    if (!(name in schema)) {
      throw new ValueError('unknown option', {
        op,
        arg: name,
        expected: `one of ${names.join(', ')}`,
        given: name,
        suggestions: nearestNames(name, names),
      });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const raw = given[name];
    out[name] = raw === undefined ? (Array.isArray(spec.default) ? [...spec.default] : spec.default) : coerce(op, name, spec, raw);
  }
  return out as OptionsOf<S>;
}
