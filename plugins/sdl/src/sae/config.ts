import { ValueError, nearestNames } from '@glassbox/tensor';

export const ARCHITECTURES = ['standard', 'topk', 'batchtopk', 'jumprelu', 'gated', 'matryoshka_batchtopk'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** SAELens's activation normalisations; only 'none' and the runtime ones change encode/decode. */
export const NORMALIZATIONS = ['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm'] as const;
export type ActivationNormalization = (typeof NORMALIZATIONS)[number];

/** How the decoder's row norms are kept in check. */
export type DecoderNorm = 'unit' | 'penalty' | 'free';

/** What defines an SAE, independent of how it is trained. */
export interface SaeConfig {
  architecture: Architecture;
  dIn: number;
  dSae: number;
  /** TransformerLens hook the encoder reads. */
  hookName: string;
  /** Hook the decoder writes; defaults to hookName. */
  outHookName?: string;
  /** Subtract b_dec from the input before encoding. */
  applyBDecToInput: boolean;
  normalizeActivations: ActivationNormalization;
  /** Active latents per token: topk; the mean per token: batchtopk and matryoshka_batchtopk. */
  k?: number;
  /** Matryoshka group boundaries: increasing prefix sizes, the last equal to dSae. */
  matryoshkaWidths?: number[];
  /** Free-form provenance (model_name, context_size, prepend_bos, …), kept through save and load. */
  metadata?: Record<string, unknown>;
}

/** The config with defaults filled in for what was left out. */
export function saeConfig(partial: Pick<SaeConfig, 'architecture' | 'dIn' | 'dSae'> & Partial<SaeConfig>): SaeConfig {
  const config: SaeConfig = {
    hookName: '',
    applyBDecToInput: partial.architecture !== 'standard',
    normalizeActivations: 'none',
    ...partial,
  };
  if (!needsK(config.architecture)) delete config.k;
  else if (config.k === undefined) config.k = Math.min(32, config.dSae);
  if (config.architecture !== 'matryoshka_batchtopk') delete config.matryoshkaWidths;
  if (config.architecture === 'matryoshka_batchtopk' && config.matryoshkaWidths === undefined) {
    config.matryoshkaWidths = defaultMatryoshkaWidths(config.dSae);
  }
  validateSaeConfig(config);
  return config;
}

export function needsK(architecture: Architecture): boolean {
  return architecture === 'topk' || architecture === 'batchtopk' || architecture === 'matryoshka_batchtopk';
}

/** Doubling groups: dSae/16, dSae/8, dSae/4, dSae/2, dSae (as many as fit above 1). */
export function defaultMatryoshkaWidths(dSae: number): number[] {
  const widths: number[] = [dSae];
  for (let w = Math.floor(dSae / 2); widths.length < 5 && w >= 1; w = Math.floor(w / 2)) widths.unshift(w);
  return widths;
}

function fail(arg: string, expected: string, given: unknown, suggestions: readonly string[] = []): ValueError {
  return new ValueError('invalid SAE config', { op: 'saeConfig', arg, expected, given: JSON.stringify(given), suggestions });
}

/** Throws a ValueError naming the first bad field. */
export function validateSaeConfig(config: SaeConfig): void {
  if (!(ARCHITECTURES as readonly string[]).includes(config.architecture)) {
    throw fail('architecture', `one of ${ARCHITECTURES.join(', ')}`, config.architecture, nearestNames(String(config.architecture), ARCHITECTURES));
  }
  for (const key of ['dIn', 'dSae'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) throw fail(key, 'a positive integer', config[key]);
  }
  if (typeof config.hookName !== 'string') throw fail('hookName', 'a string', config.hookName);
  if (!(NORMALIZATIONS as readonly string[]).includes(config.normalizeActivations)) {
    throw fail('normalizeActivations', `one of ${NORMALIZATIONS.join(', ')}`, config.normalizeActivations);
  }
  if (needsK(config.architecture)) {
    const k = config.k;
    if (k === undefined || !Number.isFinite(k) || k <= 0 || k > config.dSae || (config.architecture === 'topk' && !Number.isInteger(k))) {
      throw fail('k', `a ${config.architecture === 'topk' ? 'positive integer' : 'positive number'} <= dSae (${config.dSae})`, k);
    }
  }
  if (config.architecture === 'matryoshka_batchtopk') {
    const widths = config.matryoshkaWidths ?? [];
    const ok = widths.length > 0 && widths.every((w, i) => Number.isInteger(w) && w > (i === 0 ? 0 : widths[i - 1]!)) && widths[widths.length - 1] === config.dSae;
    if (!ok) throw fail('matryoshkaWidths', `increasing positive integers ending at dSae (${config.dSae})`, widths);
  }
}
