import type { Tensor } from '@glassbox/tensor';

/**
 * The encode/decode contract every sparse dictionary shares: sparse autoencoders, transcoders,
 * and anything else that maps one hook's activations to sparse latents and back. It lives below
 * the plugins so that any of them can splice a dictionary in and treat its latents as nodes
 * without importing the plugin that trained it.
 *
 * An activation with more than one trailing axis (hook_z's [batch, pos, head_index, d_head]) is
 * read flattened to [batch, pos, d_in].
 */
export interface Dictionary {
  /** Width of the activations the encoder reads. */
  readonly dIn: number;
  /** Number of latents. */
  readonly dSae: number;
  /** Width of what the decoder writes; equals dIn for an SAE. */
  readonly dOut: number;
  /** The TransformerLens hook the encoder reads, e.g. `blocks.3.hook_resid_pre`. */
  readonly hookName: string;
  /** The hook the decoder writes: hookName for an SAE, a later hook for a transcoder. */
  readonly outHookName: string;
  /** Latent activations. Differentiable. // [..., d_in] -> [..., d_sae] */
  encode(x: Tensor): Tensor;
  /** Reconstruction from latents. Differentiable. // [..., d_sae] -> [..., d_out] */
  decode(latents: Tensor): Tensor;
  /**
   * Optional, with `activate`: the encoder's pre-activations, so that encode(x) =
   * activate(encodePre(x)) and a splice can expose `hook_sae_acts_pre`. // [..., d_in] -> [..., d_sae]
   */
  encodePre?(x: Tensor): Tensor;
  /** Optional, with `encodePre`: the activation function. // [..., d_sae] -> [..., d_sae] */
  activate?(pre: Tensor): Tensor;
}

/** decode(encode(x)): the dictionary's reconstruction. // [..., d_in] -> [..., d_out] */
export function reconstruct(dictionary: Dictionary, x: Tensor): Tensor {
  return dictionary.decode(dictionary.encode(x));
}

/**
 * The hook points a spliced dictionary adds, SAELens's names, with their shapes. Each full name is
 * `<outHookName>.<point>`, e.g. `blocks.0.hook_resid_pre.hook_sae_acts_post`. For a transcoder the
 * first three fire at the hook it reads, the rest at the hook it writes. `hook_sae_acts_pre` exists
 * only for a dictionary with `encodePre` and `activate`, and `hook_sae_error` only with the error
 * term; `hook_sae_output` is what replaces the written activation (reshaped back to its shape).
 */
export const SAE_HOOK_SHAPES = {
  hook_sae_input: '[batch, pos, d_in]',
  hook_sae_acts_pre: '[batch, pos, d_sae]',
  hook_sae_acts_post: '[batch, pos, d_sae]',
  hook_sae_recons: '[batch, pos, d_out]',
  hook_sae_error: '[batch, pos, d_out]',
  hook_sae_output: '[batch, pos, d_out]',
} as const;

export type SaeHookPoint = keyof typeof SAE_HOOK_SHAPES;

/** The full name of one of a spliced dictionary's hook points: `saeHookName(sae, 'hook_sae_acts_post')`. */
export function saeHookName(dictionary: Pick<Dictionary, 'outHookName'>, point: SaeHookPoint): string {
  return `${dictionary.outHookName}.${point}`;
}
