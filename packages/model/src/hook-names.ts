import { ValueError, nearestNames } from '@glassbox/tensor';
import type { TransformerConfig } from './config.ts';

/**
 * Every hook point, by its TransformerLens name, with the shape of the activation it sees.
 * `{l}` is a layer index. Hooks exist only where the configuration uses them: no `ln*` hooks
 * without normalisation, no `hook_pos_embed` with rotary embeddings, `hook_rot_q` / `hook_rot_k`
 * only with rotary embeddings, and no `hook_resid_mid`, `ln2` or `mlp` hooks in attention-only
 * models (nor `hook_resid_mid` with parallel attention and MLP).
 *
 * `hook_result` (each head's output, before summing over heads and adding b_O) is computed only when
 * a hook watches it, since it holds n_heads times as many values as `hook_attn_out`.
 * LayerNorm hooks `hook_normalized` after its weight and bias; RMSNorm hooks it before its weight.
 */
export const HOOK_SHAPES = {
  hook_embed: '[batch, pos, d_model]',
  hook_pos_embed: '[batch, pos, d_model]',
  'blocks.{l}.hook_resid_pre': '[batch, pos, d_model]',
  'blocks.{l}.ln1.hook_scale': '[batch, pos, 1]',
  'blocks.{l}.ln1.hook_normalized': '[batch, pos, d_model]',
  'blocks.{l}.attn.hook_q': '[batch, pos, head_index, d_head]',
  'blocks.{l}.attn.hook_k': '[batch, pos, head_index, d_head]',
  'blocks.{l}.attn.hook_v': '[batch, pos, head_index, d_head]',
  'blocks.{l}.attn.hook_rot_q': '[batch, pos, head_index, d_head]',
  'blocks.{l}.attn.hook_rot_k': '[batch, pos, head_index, d_head]',
  'blocks.{l}.attn.hook_attn_scores': '[batch, head_index, query_pos, key_pos]',
  'blocks.{l}.attn.hook_pattern': '[batch, head_index, query_pos, key_pos]',
  'blocks.{l}.attn.hook_z': '[batch, pos, head_index, d_head]',
  'blocks.{l}.attn.hook_result': '[batch, pos, head_index, d_model]',
  'blocks.{l}.hook_attn_out': '[batch, pos, d_model]',
  'blocks.{l}.hook_resid_mid': '[batch, pos, d_model]',
  'blocks.{l}.ln2.hook_scale': '[batch, pos, 1]',
  'blocks.{l}.ln2.hook_normalized': '[batch, pos, d_model]',
  'blocks.{l}.mlp.hook_pre': '[batch, pos, d_mlp]',
  'blocks.{l}.mlp.hook_post': '[batch, pos, d_mlp]',
  'blocks.{l}.hook_mlp_out': '[batch, pos, d_model]',
  'blocks.{l}.hook_resid_post': '[batch, pos, d_model]',
  'ln_final.hook_scale': '[batch, pos, 1]',
  'ln_final.hook_normalized': '[batch, pos, d_model]',
} as const;

export type HookTemplate = keyof typeof HOOK_SHAPES;

/** An unknown hook name; the message suggests the nearest valid names. */
export class HookNameError extends ValueError {}

/** The template a concrete name instantiates (`blocks.3.attn.hook_z` → `blocks.{l}.attn.hook_z`), or undefined. */
export function hookTemplate(name: string): HookTemplate | undefined {
  const template = name.replace(/^blocks\.\d+\./, 'blocks.{l}.');
  return Object.hasOwn(HOOK_SHAPES, template) ? (template as HookTemplate) : undefined;
}

/** The concrete shape of a hook's activation for a configuration and an input of `batch` × `pos` tokens. */
export function hookShape(name: string, config: TransformerConfig, batch: number, pos: number): number[] {
  const template = hookTemplate(name);
  if (template === undefined) {
    throw new HookNameError('unknown hook name', { op: 'hookShape', arg: 'name', expected: 'a hook name', given: JSON.stringify(name), suggestions: nearestNames(name, Object.keys(HOOK_SHAPES)) });
  }
  const sizes: Record<string, number> = {
    batch,
    pos,
    query_pos: pos,
    key_pos: pos,
    d_model: config.dModel,
    head_index: config.nHeads,
    d_head: config.dHead,
    d_mlp: config.dMlp ?? 0,
    1: 1,
  };
  return HOOK_SHAPES[template]
    .slice(1, -1)
    .split(', ')
    .map((dim) => sizes[dim]!);
}

const ATTN = new Set(['q', 'k', 'v', 'z', 'rot_q', 'rot_k', 'result', 'pattern', 'attn_scores']);
const MLP = new Set(['pre', 'post']);
const BLOCK = new Set(['resid_pre', 'resid_mid', 'resid_post', 'attn_out', 'mlp_out']);
const NORM = new Set(['scale', 'normalized']);
const ALIASES: Readonly<Record<string, string>> = {
  attn: 'pattern',
  attn_logits: 'attn_scores',
  key: 'k',
  query: 'q',
  value: 'v',
  mlp_pre: 'pre',
  mlp_post: 'post',
};
const LAYER_TYPES: Readonly<Record<string, string>> = { a: 'attn', attn: 'attn', m: 'mlp', mlp: 'mlp', b: '', block: '', blocks: '', ln1: 'ln1', ln2: 'ln2' };
const SHORT_NAMES = [...ATTN, ...MLP, ...BLOCK, ...NORM, 'embed', 'pos_embed', ...Object.keys(ALIASES)];

/**
 * TransformerLens's `get_act_name`: the full hook name from a short one.
 *
 *     actName('z', 3)               // 'blocks.3.attn.hook_z'
 *     actName('resid_pre', 0)       // 'blocks.0.hook_resid_pre'
 *     actName('pre', 1)             // 'blocks.1.mlp.hook_pre'
 *     actName('scale', 2, 'ln2')    // 'blocks.2.ln2.hook_scale'
 *     actName('scale')              // 'ln_final.hook_scale'
 *     actName('embed')              // 'hook_embed'
 *     actName('k6')                 // 'blocks.6.attn.hook_k'
 *
 * Aliases: attn → pattern, attn_logits → attn_scores, key/query/value → k/q/v, mlp_pre/mlp_post →
 * pre/post. A full hook name is returned unchanged.
 */
export function actName(name: string, layer?: number, layerType?: string): string {
  const op = 'actName';
  if (name.includes('.') || name.startsWith('hook_')) return name;
  const packed = /^([a-z_]+?)(\d+)([a-z0-9]*)$/.exec(name);
  if (packed && layer === undefined && !SHORT_NAMES.includes(name)) {
    return actName(packed[1]!, Number(packed[2]), packed[3] || undefined);
  }
  const short = ALIASES[name] ?? name;
  if (!SHORT_NAMES.includes(short)) {
    throw new HookNameError('unknown activation name', { op, arg: 'name', expected: 'a short hook name such as z, resid_pre or pre', given: JSON.stringify(name), suggestions: nearestNames(name, SHORT_NAMES) });
  }
  if (short === 'embed' || short === 'pos_embed') return `hook_${short}`;
  if (layer === undefined) {
    if (NORM.has(short)) return `ln_final.hook_${short}`;
    throw new ValueError('this activation needs a layer', { op, arg: 'layer', expected: `a layer index for '${name}'`, given: 'nothing' });
  }
  if (!Number.isInteger(layer) || layer < 0) {
    throw new ValueError('invalid layer', { op, arg: 'layer', expected: 'a non-negative integer', given: String(layer) });
  }
  let type: string;
  if (layerType !== undefined) {
    const resolved = LAYER_TYPES[layerType];
    if (resolved === undefined) {
      throw new ValueError('unknown layer type', { op, arg: 'layerType', expected: Object.keys(LAYER_TYPES).join(', '), given: JSON.stringify(layerType) });
    }
    type = resolved;
  } else if (ATTN.has(short)) type = 'attn';
  else if (MLP.has(short)) type = 'mlp';
  else if (BLOCK.has(short)) type = '';
  else {
    throw new ValueError('`scale` and `normalized` need a layer type with a layer', { op, arg: 'layerType', expected: "'ln1' or 'ln2'", given: 'nothing' });
  }
  return type === '' ? `blocks.${layer}.hook_${short}` : `blocks.${layer}.${type}.hook_${short}`;
}
