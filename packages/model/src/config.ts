import { ValueError, nearestNames } from '@glassbox/tensor';

/** MLP nonlinearities: `gelu` is the exact erf form, `gelu_new` the tanh approximation of GPT-2. */
export type ActFn = 'gelu' | 'gelu_new' | 'relu' | 'silu';
/** `LNPre` and `RMSPre` normalise without weights, as after foldLayerNorm. */
export type NormalizationType = 'LN' | 'LNPre' | 'RMS' | 'RMSPre';
/**
 * `standard` adds learned position vectors to the residual stream; `shortformer` adds them only to
 * the query and key inputs of every attention layer; `rotary` turns queries and keys by position.
 */
export type PositionalEmbeddingType = 'standard' | 'rotary' | 'shortformer';

export const ACT_FNS: readonly ActFn[] = ['gelu', 'gelu_new', 'relu', 'silu'];
export const NORMALIZATION_TYPES: readonly NormalizationType[] = ['LN', 'LNPre', 'RMS', 'RMSPre'];
export const POSITIONAL_EMBEDDING_TYPES: readonly PositionalEmbeddingType[] = ['standard', 'rotary', 'shortformer'];

/**
 * A validated transformer configuration. The fields are TransformerLens's HookedTransformerConfig
 * fields in camelCase, with the same meanings.
 */
export interface TransformerConfig {
  readonly nLayers: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dHead: number;
  /** Hidden width of each MLP; null for attention-only models. */
  readonly dMlp: number | null;
  readonly dVocab: number;
  /** Width of the unembedding; defaults to dVocab. */
  readonly dVocabOut: number;
  /** The longest sequence the model accepts. */
  readonly nCtx: number;
  /** null for attention-only models. */
  readonly actFn: ActFn | null;
  /** null means no normalisation at all. */
  readonly normalizationType: NormalizationType | null;
  readonly positionalEmbeddingType: PositionalEmbeddingType;
  /** How many leading features of each head rotary embeddings turn (even, at most dHead); null unless rotary. */
  readonly rotaryDim: number | null;
  readonly rotaryBase: number;
  readonly attnOnly: boolean;
  /** Attention and MLP both read the block input and add to it (GPT-J style), instead of in sequence. */
  readonly parallelAttnMlp: boolean;
  /** Whether the attention layers have the biases b_Q, b_K, b_V and b_O. */
  readonly attnBias: boolean;
  /** Whether attention scores are divided by attnScale; when false, attnScale is 1. */
  readonly useAttnScale: boolean;
  /** What attention scores are divided by; defaults to sqrt(dHead). */
  readonly attnScale: number;
  /** Added to the variance in LayerNorm and RMSNorm. */
  readonly eps: number;
  /** Standard deviation of the random initial weights; defaults to 0.8 / sqrt(dModel). */
  readonly initRange: number;
  /** Seeds the random initial weights. */
  readonly seed: number;
}

type Required = 'nLayers' | 'dModel' | 'nHeads' | 'dVocab' | 'nCtx';

/** What `transformerConfig` accepts: the five sizes, and any other field to override its default. */
export type TransformerConfigInput = Pick<TransformerConfig, Required> & Partial<Omit<TransformerConfig, Required>>;

const FIELDS: readonly (keyof TransformerConfig)[] = [
  'nLayers',
  'dModel',
  'nHeads',
  'dHead',
  'dMlp',
  'dVocab',
  'dVocabOut',
  'nCtx',
  'actFn',
  'normalizationType',
  'positionalEmbeddingType',
  'rotaryDim',
  'rotaryBase',
  'attnOnly',
  'parallelAttnMlp',
  'attnBias',
  'useAttnScale',
  'attnScale',
  'eps',
  'initRange',
  'seed',
];

/** A configuration field was missing, unknown, or had a bad value. */
export class ConfigError extends ValueError {}

const OP = 'transformerConfig';

function fail(field: string, expected: string, given: unknown, summary = `invalid \`${field}\``): never {
  throw new ConfigError(summary, { op: OP, arg: field, expected, given: describe(given) });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}

function positiveInt(field: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) fail(field, `an integer >= ${min}`, value);
  return value;
}

function positiveFinite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(field, 'a finite number > 0', value);
  return value;
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(field, 'true or false', value);
  return value;
}

function oneOf<T extends string>(field: string, value: unknown, options: readonly T[], nullable: boolean): T | null {
  if (value === null && nullable) return null;
  if (typeof value === 'string' && (options as readonly string[]).includes(value)) return value as T;
  const list = options.map((o) => `'${o}'`).join(', ');
  throw new ConfigError(`invalid \`${field}\``, {
    op: OP,
    arg: field,
    expected: nullable ? `one of ${list} or null` : `one of ${list}`,
    given: describe(value),
    suggestions: typeof value === 'string' ? nearestNames(value, options) : [],
  });
}

/**
 * Validates a configuration and fills in TransformerLens's defaults: dHead = dModel / nHeads,
 * dMlp = 4 dModel (null when attnOnly), actFn 'gelu', normalizationType 'LN', positional embeddings
 * 'standard', rotaryDim = dHead when rotary, rotaryBase 10000, attnScale sqrt(dHead), eps 1e-5,
 * initRange 0.8 / sqrt(dModel), attention biases on, and seed 0. Every problem is a ConfigError
 * naming the field, what was expected and what was given; an unknown field suggests the nearest one.
 */
export function transformerConfig(input: TransformerConfigInput): TransformerConfig {
  if (input === null || typeof input !== 'object') fail('config', 'an object', input, 'the configuration must be an object');
  for (const key of Object.keys(input)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new ConfigError('unknown configuration field', {
        op: OP,
        arg: key,
        expected: 'a TransformerConfig field',
        given: JSON.stringify(key),
        suggestions: nearestNames(key, FIELDS),
      });
    }
  }
  const raw = input as Partial<Record<keyof TransformerConfig, unknown>>;
  const nLayers = positiveInt('nLayers', raw.nLayers, 0);
  const dModel = positiveInt('dModel', raw.dModel);
  const nHeads = positiveInt('nHeads', raw.nHeads);
  let dHead: number;
  if (raw.dHead === undefined) {
    if (dModel % nHeads !== 0) fail('dHead', `a value, since dModel = ${dModel} is not divisible by nHeads = ${nHeads}`, undefined, '`dHead` is required');
    dHead = dModel / nHeads;
  } else {
    dHead = positiveInt('dHead', raw.dHead);
  }
  const attnOnly = bool('attnOnly', raw.attnOnly, false);
  let dMlp: number | null = null;
  let actFn: ActFn | null = null;
  if (!attnOnly) {
    dMlp = raw.dMlp === undefined || raw.dMlp === null ? 4 * dModel : positiveInt('dMlp', raw.dMlp);
    actFn = raw.actFn === undefined ? 'gelu' : oneOf('actFn', raw.actFn, ACT_FNS, false);
  } else {
    if (raw.dMlp !== undefined && raw.dMlp !== null) positiveInt('dMlp', raw.dMlp);
    if (raw.actFn !== undefined && raw.actFn !== null) oneOf('actFn', raw.actFn, ACT_FNS, false);
  }
  const dVocab = positiveInt('dVocab', raw.dVocab);
  const dVocabOut = raw.dVocabOut === undefined ? dVocab : positiveInt('dVocabOut', raw.dVocabOut);
  const nCtx = positiveInt('nCtx', raw.nCtx);
  const normalizationType = raw.normalizationType === undefined ? 'LN' : oneOf('normalizationType', raw.normalizationType, NORMALIZATION_TYPES, true);
  const positionalEmbeddingType =
    raw.positionalEmbeddingType === undefined ? 'standard' : (oneOf('positionalEmbeddingType', raw.positionalEmbeddingType, POSITIONAL_EMBEDDING_TYPES, false) as PositionalEmbeddingType);
  let rotaryDim: number | null = null;
  if (positionalEmbeddingType === 'rotary') {
    rotaryDim = raw.rotaryDim === undefined || raw.rotaryDim === null ? dHead : positiveInt('rotaryDim', raw.rotaryDim, 2);
    if (rotaryDim % 2 !== 0 || rotaryDim > dHead) fail('rotaryDim', `an even integer in [2, dHead = ${dHead}]`, rotaryDim);
  } else if (raw.rotaryDim !== undefined && raw.rotaryDim !== null) {
    fail('rotaryDim', "null unless positionalEmbeddingType is 'rotary'", raw.rotaryDim);
  }
  const rotaryBase = raw.rotaryBase === undefined ? 10000 : positiveFinite('rotaryBase', raw.rotaryBase);
  const parallelAttnMlp = bool('parallelAttnMlp', raw.parallelAttnMlp, false);
  if (parallelAttnMlp && attnOnly) fail('parallelAttnMlp', 'false when attnOnly is true (there is no MLP to run in parallel)', true);
  const useAttnScale = bool('useAttnScale', raw.useAttnScale, true);
  const eps = raw.eps === undefined ? 1e-5 : positiveFinite('eps', raw.eps);
  const initRange = raw.initRange === undefined ? 0.8 / Math.sqrt(dModel) : positiveFinite('initRange', raw.initRange);
  const seed = raw.seed === undefined ? 0 : positiveInt('seed', raw.seed, 0);
  return Object.freeze({
    nLayers,
    dModel,
    nHeads,
    dHead,
    dMlp,
    dVocab,
    dVocabOut,
    nCtx,
    actFn,
    normalizationType,
    positionalEmbeddingType,
    rotaryDim,
    rotaryBase,
    attnOnly,
    parallelAttnMlp,
    attnBias: bool('attnBias', raw.attnBias, true),
    useAttnScale,
    attnScale: useAttnScale ? (raw.attnScale === undefined ? Math.sqrt(dHead) : positiveFinite('attnScale', raw.attnScale)) : 1,
    eps,
    initRange,
    seed,
  });
}

/** The configuration as a plain JSON object. */
export function configToJSON(config: TransformerConfig): TransformerConfigInput {
  return { ...config };
}

/** Reads a configuration written by configToJSON (or any TransformerConfigInput), validating it. */
export function configFromJSON(json: unknown): TransformerConfig {
  return transformerConfig(json as TransformerConfigInput);
}
