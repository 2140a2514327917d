import { type HookedTransformer, actName } from '@glassbox/model';
import { type Tensor, ValueError, nearestNames, permute, sum, tensor } from '@glassbox/tensor';
import { type Axis, indexLabels } from './labelled-tensor.ts';

/**
 * What a patching node is: a residual-stream site (by layer and position), a head's output (hook_z),
 * query, key or value, or a head's attention pattern.
 */
export type NodeKind = 'resid_pre' | 'resid_mid' | 'resid_post' | 'attn_out' | 'mlp_out' | 'z' | 'q' | 'k' | 'v' | 'pattern';

/**
 * How finely a kind is cut into nodes: by position (`pos`; for patterns the destination position),
 * over all positions at once (`all_pos`), or by destination and source position (`dest_src`,
 * patterns only). Residual kinds are always cut by position.
 */
export type Granularity = 'pos' | 'all_pos' | 'dest_src';

export interface NodeSpec {
  readonly kind: NodeKind;
  readonly granularity: Granularity;
  /** The label of this spec on the leading `component` axis of an "every" grid. */
  readonly label: string;
}

const RESIDUAL: ReadonlySet<NodeKind> = new Set(['resid_pre', 'resid_mid', 'resid_post', 'attn_out', 'mlp_out']);
const HEAD_PARTS = [
  ['z', 'output'],
  ['q', 'query'],
  ['k', 'key'],
  ['v', 'value'],
  ['pattern', 'pattern'],
] as const;

const spec = (kind: NodeKind, granularity: Granularity, label: string = kind): NodeSpec => ({ kind, granularity, label });

/**
 * The node sets of TransformerLens's patching module. Single presets give [layer, pos],
 * [layer, pos, head], [layer, head] or [layer, head, dest, src] grids; the "every" presets stack
 * several under a leading `component` axis.
 */
export const PATCHING_PRESETS = {
  resid_pre: [spec('resid_pre', 'pos')],
  resid_mid: [spec('resid_mid', 'pos')],
  resid_post: [spec('resid_post', 'pos')],
  attn_out: [spec('attn_out', 'pos')],
  mlp_out: [spec('mlp_out', 'pos')],
  head_out_by_pos: [spec('z', 'pos', 'output')],
  head_out_all_pos: [spec('z', 'all_pos', 'output')],
  head_q_by_pos: [spec('q', 'pos', 'query')],
  head_k_by_pos: [spec('k', 'pos', 'key')],
  head_v_by_pos: [spec('v', 'pos', 'value')],
  head_pattern_by_pos: [spec('pattern', 'pos')],
  head_q_all_pos: [spec('q', 'all_pos', 'query')],
  head_k_all_pos: [spec('k', 'all_pos', 'key')],
  head_v_all_pos: [spec('v', 'all_pos', 'value')],
  head_pattern_all_pos: [spec('pattern', 'all_pos')],
  head_pattern_dest_src_pos: [spec('pattern', 'dest_src')],
  block_every: [spec('resid_pre', 'pos'), spec('attn_out', 'pos'), spec('mlp_out', 'pos')],
  head_all_pos_every: HEAD_PARTS.map(([kind, label]) => spec(kind, 'all_pos', label)),
  head_by_pos_every: HEAD_PARTS.map(([kind, label]) => spec(kind, 'pos', label)),
} as const satisfies Record<string, readonly NodeSpec[]>;

export type PresetName = keyof typeof PATCHING_PRESETS;
export const PRESET_NAMES = Object.keys(PATCHING_PRESETS) as PresetName[];
const EVERY = new Set<PresetName>(['block_every', 'head_all_pos_every', 'head_by_pos_every']);

export function isResidualKind(kind: NodeKind): boolean {
  return RESIDUAL.has(kind);
}

/** Whether the model has hook points for a kind (no MLP sites in attention-only models, no resid_mid in parallel blocks). */
function available(model: HookedTransformer, kind: NodeKind): boolean {
  if (kind === 'mlp_out') return !model.cfg.attnOnly;
  if (kind === 'resid_mid') return !model.cfg.attnOnly && !model.cfg.parallelAttnMlp;
  return true;
}

/**
 * The node specs of a preset for this model. An "every" grid leaves out what the model lacks
 * (mlp_out in an attention-only model); a single preset the model lacks is an error.
 */
export function presetSpecs(model: HookedTransformer, preset: PresetName, op: string): { specs: NodeSpec[]; every: boolean } {
  const specs = PATCHING_PRESETS[preset] as readonly NodeSpec[] | undefined;
  if (!specs) {
    throw new ValueError('unknown patching preset', { op, arg: 'preset', expected: `one of ${PRESET_NAMES.join(', ')}`, given: JSON.stringify(preset), suggestions: nearestNames(String(preset), PRESET_NAMES) });
  }
  const kept = specs.filter((s) => available(model, s.kind));
  if (kept.length === 0) {
    throw new ValueError('the model has no hook point for this preset', { op, arg: 'preset', expected: 'a preset the model supports', given: `${preset} on a model with attnOnly=${model.cfg.attnOnly}, parallelAttnMlp=${model.cfg.parallelAttnMlp}` });
  }
  return { specs: kept, every: EVERY.has(preset) };
}

/** The hook a spec reads in layer `layer`. */
export function hookFor(kind: NodeKind, layer: number): string {
  return actName(kind, layer);
}

/** Axes of one spec's grid: layer first, then position / head / destination and source. */
export function specAxes(model: HookedTransformer, s: NodeSpec, pos: number): Axis[] {
  const layer = { name: 'layer', labels: indexLabels(model.cfg.nLayers) };
  const position = { name: 'pos', labels: indexLabels(pos) };
  const head = { name: 'head', labels: indexLabels(model.cfg.nHeads) };
  if (isResidualKind(s.kind)) return [layer, position];
  if (s.granularity === 'all_pos') return [layer, head];
  if (s.granularity === 'pos') return [layer, { ...position, name: s.kind === 'pattern' ? 'dest_pos' : 'pos' }, head];
  if (s.kind !== 'pattern') throw new ValueError('dest_src granularity is for patterns only', { op: 'specAxes', arg: 'spec', given: JSON.stringify(s) });
  return [layer, head, { name: 'dest_pos', labels: indexLabels(pos) }, { name: 'src_pos', labels: indexLabels(pos) }];
}

/** Number of nodes of a spec in one layer (the product of the grid's axes after `layer`). */
export function nodesPerLayer(model: HookedTransformer, s: NodeSpec, pos: number): number {
  return specAxes(model, s, pos)
    .slice(1)
    .reduce((n, a) => n * a.labels.length, 1);
}

/**
 * An int32 mask, broadcastable over the activation, that selects node `index` of a spec within a
 * layer (in the row-major order of the grid's axes after `layer`). Activations: residual
 * [batch, pos, d_model]; q, k, v, z [batch, pos, head, d_head]; pattern [batch, head, dest, src].
 */
export function nodeMask(model: HookedTransformer, s: NodeSpec, pos: number, index: number): Tensor {
  const heads = model.cfg.nHeads;
  if (isResidualKind(s.kind)) {
    const m = new Int32Array(pos);
    m[index] = 1;
    return tensor(m, { shape: [1, pos, 1] });
  }
  if (s.kind !== 'pattern') {
    if (s.granularity === 'all_pos') {
      const m = new Int32Array(heads);
      m[index] = 1;
      return tensor(m, { shape: [1, 1, heads, 1] });
    }
    const m = new Int32Array(pos * heads);
    m[index] = 1; // [pos, head] order matches the activation's
    return tensor(m, { shape: [1, pos, heads, 1] });
  }
  if (s.granularity === 'all_pos') {
    const m = new Int32Array(heads);
    m[index] = 1;
    return tensor(m, { shape: [1, heads, 1, 1] });
  }
  if (s.granularity === 'pos') {
    const dest = Math.floor(index / heads);
    const h = index % heads;
    const m = new Int32Array(heads * pos);
    m[h * pos + dest] = 1;
    return tensor(m, { shape: [1, heads, pos, 1] });
  }
  const m = new Int32Array(heads * pos * pos);
  m[index] = 1; // [head, dest, src] order matches the activation's
  return tensor(m, { shape: [1, heads, pos, pos] });
}

/** Whether patching node `index` can change anything: a causal pattern's entries above the diagonal are 0 in every run. */
export function nodeIsLive(s: NodeSpec, pos: number, index: number): boolean {
  if (s.kind !== 'pattern' || s.granularity !== 'dest_src') return true;
  const src = index % pos;
  const dest = Math.floor(index / pos) % pos;
  return src <= dest;
}

/**
 * Sums an elementwise product over an activation (Δ ⊙ ∂M/∂activation) into one layer's nodes, in
 * the order of the grid's axes after `layer`: [pos], [pos, head], [head] or [head, dest, src].
 */
export function reduceToNodes(s: NodeSpec, product: Tensor): Tensor {
  if (isResidualKind(s.kind)) return sum(product, [0, 2]); // [pos]
  if (s.kind !== 'pattern') return s.granularity === 'all_pos' ? sum(product, [0, 1, 3]) : sum(product, [0, 3]); // [head] | [pos, head]
  if (s.granularity === 'all_pos') return sum(product, [0, 2, 3]); // [head]
  if (s.granularity === 'pos') return permute(sum(product, [0, 3]), [1, 0]); // [dest, head]
  return sum(product, 0); // [head, dest, src]
}
