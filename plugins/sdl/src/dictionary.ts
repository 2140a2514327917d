import type { Tensor } from '@glassbox/tensor';

/**
 * The encode/decode contract every sparse dictionary shares: sparse autoencoders, transcoders,
 * and anything else that maps one hook's activations to sparse latents and back.
 *
 * It uses only `@glassbox/tensor` types on purpose: it is meant to move down into a package, so
 * that the attribution, transcoder and causal-scrubbing plugins can treat latents as graph nodes
 * without importing this plugin.
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
  /** The hook the decoder writes: hookName for an SAE, another hook for a transcoder. */
  readonly outHookName: string;
  /** Latent activations. Differentiable. // [..., d_in] -> [..., d_sae] */
  encode(x: Tensor): Tensor;
  /** Reconstruction from latents. Differentiable. // [..., d_sae] -> [..., d_out] */
  decode(latents: Tensor): Tensor;
}

/** decode(encode(x)): the dictionary's reconstruction. // [..., d_in] -> [..., d_out] */
export function reconstruct(dictionary: Dictionary, x: Tensor): Tensor {
  return dictionary.decode(dictionary.encode(x));
}
