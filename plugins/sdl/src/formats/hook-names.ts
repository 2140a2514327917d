/**
 * sparsify names hook points by the Hugging Face module they hook (`layers.6`, `layers.6.mlp`);
 * Glassbox uses TransformerLens names. The common residual, MLP and attention outputs map
 * directly; anything else is kept as given.
 */
export function hookNameFromModulePath(path: string): string {
  const m = /^(?:(?:model|gpt_neox|transformer)\.)?(?:layers|h)\.(\d+)(?:\.(mlp|self_attn|attention|attn))?$/.exec(path);
  if (!m) return path;
  const layer = m[1]!;
  if (!m[2]) return `blocks.${layer}.hook_resid_post`;
  return m[2] === 'mlp' ? `blocks.${layer}.hook_mlp_out` : `blocks.${layer}.hook_attn_out`;
}
