import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Tensor, exp, mul, noGrad, saveTensors, unsqueeze } from '@glassbox/tensor';
import { writeJsonAtomic } from '../io/atomic.ts';
import { type ActivationNormalization, type Architecture, NORMALIZATIONS, type SaeConfig, validateSaeConfig } from '../sae/config.ts';
import { createSae } from '../sae/create.ts';
import type { SparseAutoencoder } from '../sae/sparse-autoencoder.ts';
import { readJsonObject, readTensorFile, requireTensor } from './files.ts';
import { SaeFormatError, describeValue, fieldReader } from './format-error.ts';

export const SAELENS_CONFIG_FILE = 'cfg.json';
export const SAELENS_WEIGHTS_FILE = 'sae_weights.safetensors';

/** Architectures a SAELens folder may name, and those that belong to other plugins. */
const SAELENS_ARCHITECTURES = ['standard', 'gated', 'jumprelu', 'topk', 'batchtopk', 'matryoshka_batchtopk'] as const;
const TRANSCODER_ARCHITECTURES = ['transcoder', 'skip_transcoder', 'jumprelu_transcoder'];

/** SAELens metadata fields Glassbox writes, in SAELens's spelling, when known. */
export interface SaeLensMetadata {
  model_name?: string | null;
  hook_name?: string | null;
  hook_head_index?: number | null;
  context_size?: number | null;
  prepend_bos?: boolean | null;
  dataset_path?: string | null;
  [key: string]: unknown;
}

/** The SAELens v6 cfg.json of an SAE, in its inference form. */
export function toSaeLensConfig(sae: SparseAutoencoder): Record<string, unknown> {
  const { config } = sae;
  const architecture = sae.exportArchitecture();
  const metadata: SaeLensMetadata = { ...(config.metadata ?? {}), hook_name: config.hookName };
  const cfg: Record<string, unknown> = {
    architecture,
    d_in: config.dIn,
    d_sae: config.dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: config.applyBDecToInput,
    normalize_activations: config.normalizeActivations,
    reshape_activations: config.hookName.endsWith('hook_z') ? 'hook_z' : 'none',
    metadata,
  };
  if (architecture === 'topk') cfg.k = config.k;
  if (architecture !== config.architecture) {
    // SAELens reads the inference form and ignores unknown top-level keys; Glassbox reads these
    // back to restore the training architecture.
    cfg.glassbox_architecture = config.architecture;
    if (config.k !== undefined) cfg.glassbox_k = config.k;
    if (config.matryoshkaWidths) cfg.glassbox_matryoshka_widths = config.matryoshkaWidths;
  }
  if (config.outHookName && config.outHookName !== config.hookName) cfg.glassbox_out_hook_name = config.outHookName;
  return cfg;
}

/**
 * Writes a SAELens v6 folder: cfg.json and sae_weights.safetensors, each atomically. BatchTopK
 * and Matryoshka SAEs are written, as SAELens does, in their inference form (jumprelu with the
 * learned threshold for every latent).
 */
export async function saveSaeLens(sae: SparseAutoencoder, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveTensors(join(dir, SAELENS_WEIGHTS_FILE), sae.exportTensors());
  await writeJsonAtomic(join(dir, SAELENS_CONFIG_FILE), toSaeLensConfig(sae));
}

export interface LoadSaeLensOptions {
  /** Overrides the hook name from the config (required when it has none). */
  hookName?: string;
}

/** What the config says, parsed and checked, before the weights are read. */
export interface ParsedSaeLensConfig {
  config: SaeConfig;
  /** 'v6' when there is a metadata block, else the flat pre-v6 layout. */
  layout: 'v6' | 'pre-v6';
}

/** Parses a SAELens cfg.json object, v6 or pre-v6; `file` names it in errors. */
export function parseSaeLensConfig(cfg: Record<string, unknown>, file: string, options: LoadSaeLensOptions = {}): ParsedSaeLensConfig {
  const op = 'loadSaeLens';
  const read = fieldReader(file, op, cfg);
  const metaValue = cfg.metadata ?? cfg.meta;
  const layout = metaValue !== undefined && !read.has('hook_name') && !read.has('hook_point') ? 'v6' : 'pre-v6';
  if (metaValue !== undefined && (typeof metaValue !== 'object' || metaValue === null || Array.isArray(metaValue))) {
    throw read.fail(cfg.metadata !== undefined ? 'metadata' : 'meta', 'an object', metaValue);
  }
  const meta = (metaValue ?? {}) as Record<string, unknown>;
  const metaRead = fieldReader(file, op, meta, 'metadata.');

  const dIn = read.positiveInt('d_in');
  const dSae = read.has('d_sae') ? read.positiveInt('d_sae') : Math.round(dIn * read.positiveNumber('expansion_factor'));

  let architecture: string;
  let k: number | undefined;
  if (read.has('glassbox_architecture')) {
    architecture = read.oneOf('glassbox_architecture', SAELENS_ARCHITECTURES);
  } else if (read.has('architecture')) {
    const given = read.string('architecture');
    if (TRANSCODER_ARCHITECTURES.includes(given)) {
      throw new SaeFormatError(file, 'this is a transcoder, not an SAE', { op, field: 'architecture', expected: `an SAE architecture (${SAELENS_ARCHITECTURES.join(', ')}); load transcoders with the transcoder plugin`, given: JSON.stringify(given) });
    }
    architecture = read.oneOf('architecture', SAELENS_ARCHITECTURES);
  } else {
    // Pre-v6 configs without an architecture name it through the activation function.
    const fn = read.oneOf('activation_fn_str', ['relu', 'topk'] as const, 'relu');
    architecture = fn === 'topk' ? 'topk' : 'standard';
    if (fn === 'topk') {
      const kwargs = cfg.activation_fn_kwargs;
      if (typeof kwargs !== 'object' || kwargs === null) throw read.fail('activation_fn_kwargs', 'an object with k', kwargs);
      k = fieldReader(file, op, kwargs as Record<string, unknown>, 'activation_fn_kwargs.').positiveInt('k');
    }
  }
  if (read.has('glassbox_k')) k = read.positiveNumber('glassbox_k');
  else if (architecture === 'topk' && k === undefined) k = read.positiveInt('k');
  else if ((architecture === 'batchtopk' || architecture === 'matryoshka_batchtopk') && k === undefined) k = read.positiveNumber('k', 1);

  let normalizeActivations: ActivationNormalization;
  const norm = cfg.normalize_activations;
  if (typeof norm === 'boolean') normalizeActivations = norm ? 'expected_average_only_in' : 'none';
  else normalizeActivations = read.oneOf('normalize_activations', NORMALIZATIONS, 'none');

  const hookName =
    options.hookName ??
    (layout === 'v6' ? (metaRead.has('hook_name') ? metaRead.string('hook_name') : undefined) : read.has('hook_name') ? read.string('hook_name') : read.has('hook_point') ? read.string('hook_point') : undefined);
  if (hookName === undefined) {
    throw new SaeFormatError(file, 'the config names no hook', { op, field: layout === 'v6' ? 'metadata.hook_name' : 'hook_name', expected: 'a TransformerLens hook name (or pass options.hookName)', given: describeValue(undefined) });
  }
  const metadata: Record<string, unknown> = layout === 'v6' ? { ...meta } : {};
  if (layout === 'pre-v6') {
    for (const key of ['model_name', 'context_size', 'prepend_bos', 'dataset_path', 'hook_layer']) if (cfg[key] !== undefined) metadata[key] = cfg[key];
    const head = read.has('hook_head_index') ? read.optionalInt('hook_head_index') : read.optionalInt('hook_point_head_index');
    metadata.hook_head_index = head;
  }
  delete metadata.hook_name;

  const config: SaeConfig = {
    architecture: architecture as Architecture,
    dIn,
    dSae,
    hookName,
    applyBDecToInput: read.boolean('apply_b_dec_to_input', true),
    normalizeActivations,
    metadata,
  };
  if (k !== undefined) config.k = k;
  if (read.has('glassbox_matryoshka_widths')) config.matryoshkaWidths = cfg.glassbox_matryoshka_widths as number[];
  if (read.has('glassbox_out_hook_name')) config.outHookName = read.string('glassbox_out_hook_name');
  if (architecture === 'matryoshka_batchtopk' && !config.matryoshkaWidths) config.matryoshkaWidths = [dSae];
  try {
    validateSaeConfig(config);
  } catch (e) {
    const err = e as { arg?: string; expected?: string; given?: string };
    throw new SaeFormatError(file, 'the config is inconsistent', { op, field: err.arg, expected: err.expected, given: err.given });
  }
  return { config, layout };
}

/** The tensors each architecture must have, with their shapes, under SAELens's names. */
function expectedTensors(config: SaeConfig, hasLogThreshold: boolean): Record<string, number[]> {
  const { dIn, dSae, architecture } = config;
  const base: Record<string, number[]> = { W_enc: [dIn, dSae], W_dec: [dSae, dIn], b_dec: [dIn] };
  switch (architecture) {
    case 'gated':
      return { ...base, b_gate: [dSae], b_mag: [dSae], r_mag: [dSae] };
    case 'jumprelu':
    case 'batchtopk':
    case 'matryoshka_batchtopk':
      return { ...base, b_enc: [dSae], [hasLogThreshold ? 'log_threshold' : 'threshold']: [dSae] };
    default:
      return { ...base, b_enc: [dSae] };
  }
}

/**
 * Loads a SAELens SAE folder (cfg.json + sae_weights.safetensors), v6 or pre-v6. Every config
 * field and tensor is checked; a problem is a SaeFormatError naming the file, the field or
 * tensor, the expectation and what was found. A fine-tuning `scaling_factor` is folded into W_dec.
 */
export async function loadSaeLens(dir: string, options: LoadSaeLensOptions = {}): Promise<SparseAutoencoder> {
  const op = 'loadSaeLens';
  const cfgFile = join(dir, SAELENS_CONFIG_FILE);
  const weightsFile = join(dir, SAELENS_WEIGHTS_FILE);
  const { config } = parseSaeLensConfig(await readJsonObject(cfgFile, op), cfgFile, options);
  const tensors = await readTensorFile(weightsFile, op);
  // A jumprelu file saved from training may hold log_threshold instead of threshold.
  const hasLogThreshold = Object.hasOwn(tensors, 'log_threshold') && !Object.hasOwn(tensors, 'threshold');
  const expected = expectedTensors(config, hasLogThreshold);
  const checked: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(expected)) checked[name] = requireTensor(tensors, name, shape, weightsFile, op);
  const extras = Object.keys(tensors).filter((n) => !Object.hasOwn(expected, n) && n !== 'scaling_factor');
  if (extras.length > 0) {
    throw new SaeFormatError(weightsFile, 'unexpected tensors', { op, field: extras[0], expected: `only ${Object.keys(expected).join(', ')} (and scaling_factor) for architecture ${config.architecture}`, given: extras.join(', ') });
  }
  if (Object.hasOwn(tensors, 'scaling_factor')) {
    const s = requireTensor(tensors, 'scaling_factor', [config.dSae], weightsFile, op);
    checked.W_dec = noGrad(() => mul(checked.W_dec!, unsqueeze(s, 1)));
  }
  if (hasLogThreshold) {
    checked.threshold = noGrad(() => exp(checked.log_threshold!));
    delete checked.log_threshold;
  }
  const sae = createSae(config);
  sae.importTensors(checked);
  return sae;
}
