import type { HookedTransformer } from '@glassbox/model';
import { type Tensor, abs, add, mul, noGrad, stack, tensor, zerosLike } from '@glassbox/tensor';
import type { PatchingOptions, PatchingResult } from './activation-patching.ts';
import { assemble } from './activation-patching.ts';
import { type AttributionRuns, attributionResult, attributionRuns, linearEstimate } from './attribution-patching.ts';
import type { LabelledTensor } from './labelled-tensor.ts';
import type { AttributionMetric } from './metrics.ts';
import type { NodeSpec } from './patching-presets.ts';
import type { PromptPairs } from './prompt-pairs.ts';

export interface AtpStarOptions extends PatchingOptions {
  /** Also compute GradDrop scores (one more backward pass per layer). */
  gradDrop?: boolean;
}

export interface AtpStarResult extends PatchingResult {
  /**
   * GradDrop magnitudes, (1 / (L − 1)) Σ_l |ĉ_l(n)|, where ĉ_l is the estimate with the gradient
   * through layer l's residual contributions (attn_out, mlp_out) set to zero. Non-negative; large
   * where cancelling paths hide an effect from plain AtP.
   */
  readonly gradDrop?: LabelledTensor;
}

/** The query and key each attention score uses: rotated ones with rotary embeddings. */
function qkHooks(model: HookedTransformer, layer: number): { q: string; k: string } {
  const rotary = model.cfg.positionalEmbeddingType === 'rotary';
  return { q: `blocks.${layer}.attn.hook_${rotary ? 'rot_q' : 'q'}`, k: `blocks.${layer}.attn.hook_${rotary ? 'rot_k' : 'k'}` };
}

/**
 * The QK fix of AtP* (Kramár et al. 2024) for one layer: patch the queries (or keys) of a head,
 * recompute its attention probabilities exactly with the other side left as in the base run, and
 * linearise from the probabilities on:
 *
 *     ĉ_Q = Σ_t (∂M/∂A_t)ᵀ (softmax(q̃_t Kᵀ / s) − A_t).
 *
 * A patched key at position s changes one score column for every query t ≥ s; its new softmax comes
 * from the base log-sum-exp in closed form. Returns the layer's nodes for the spec: [pos, head] or
 * [head]. Scores are recomputed in float64 from the cached (rotated) queries and keys.
 */
function qkFix(model: HookedTransformer, runs: AttributionRuns, s: NodeSpec, layer: number): Tensor {
  const { q: qHook, k: kHook } = qkHooks(model, layer);
  const patternHook = `blocks.${layer}.attn.hook_pattern`;
  const side = s.kind as 'q' | 'k';
  const qBase = runs.base.get(qHook)!.data();
  const kBase = runs.base.get(kHook)!.data();
  const patched = runs.source.get(side === 'q' ? qHook : kHook)!.data();
  const grad = runs.grads.get(patternHook)!.data(); // [batch, head, dest, src]
  const [batch, pos, heads, dHead] = runs.base.get(qHook)!.shape as [number, number, number, number];
  const scale = model.cfg.attnScale;
  const byPos = s.granularity === 'pos';
  const out = new Float64Array(byPos ? pos * heads : heads);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>, i: number, j: number) => {
    let acc = 0;
    for (let d = 0; d < dHead; d++) acc += a[i + d]! * b[j + d]!;
    return acc / scale;
  };
  const at = (b: number, p: number, h: number) => ((b * pos + p) * heads + h) * dHead;
  const row = new Float64Array(pos);
  const newRow = new Float64Array(pos);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < pos; t++) {
        const g = (src: number) => grad[((b * heads + h) * pos + t) * pos + src]!;
        // Base scores and probabilities of row t (keys 0 … t).
        let peak = Number.NEGATIVE_INFINITY;
        for (let j = 0; j <= t; j++) peak = Math.max(peak, (row[j] = dot(qBase, kBase, at(b, t, h), at(b, j, h))));
        let z = 0;
        for (let j = 0; j <= t; j++) z += Math.exp(row[j]! - peak);
        const lse = peak + Math.log(z);
        let gA = 0; // Σ_j g_tj A_tj
        for (let j = 0; j <= t; j++) gA += g(j) * Math.exp(row[j]! - lse);
        if (side === 'q' || !byPos) {
          // Every score of the row changes: the patched query against base keys, or base query against patched keys.
          let newPeak = Number.NEGATIVE_INFINITY;
          for (let j = 0; j <= t; j++) {
            newRow[j] = side === 'q' ? dot(patched, kBase, at(b, t, h), at(b, j, h)) : dot(qBase, patched, at(b, t, h), at(b, j, h));
            newPeak = Math.max(newPeak, newRow[j]!);
          }
          let newZ = 0;
          for (let j = 0; j <= t; j++) newZ += Math.exp(newRow[j]! - newPeak);
          const newLse = newPeak + Math.log(newZ);
          let gNew = 0;
          for (let j = 0; j <= t; j++) gNew += g(j) * Math.exp(newRow[j]! - newLse);
          out[byPos ? t * heads + h : h]! += gNew - gA;
        } else {
          // One key s ≤ t patched: only score (t, s) changes.
          for (let src = 0; src <= t; src++) {
            const old = row[src]!;
            const fresh = dot(qBase, patched, at(b, t, h), at(b, src, h));
            const aOld = Math.exp(old - lse);
            const rest = lse + Math.log1p(-Math.min(aOld, 1)); // log Σ_{j≠s} e^{score_j}
            const hi = Math.max(rest, fresh);
            const newLse = hi + Math.log(Math.exp(rest - hi) + Math.exp(fresh - hi));
            const gNew = Math.exp(lse - newLse) * (gA - g(src) * aOld) + g(src) * Math.exp(fresh - newLse);
            out[src * heads + h]! += gNew - gA;
          }
        }
      }
    }
  }
  return tensor(Float32Array.from(out), { shape: byPos ? [pos, heads] : [heads] });
}

function estimate(model: HookedTransformer, runs: AttributionRuns, s: NodeSpec, layer: number): Tensor {
  return s.kind === 'q' || s.kind === 'k' ? qkFix(model, runs, s, layer) : linearEstimate(runs, s, layer);
}

/**
 * AtP* (Kramár et al. 2024): AtP with the QK fix for query and key nodes (exact softmax, linear from
 * the attention probabilities on), and optionally GradDrop. Other nodes get the plain AtP estimate.
 * Cost: 2 forward passes and 1 backward pass, plus nLayers backward passes for GradDrop.
 */
export function atpStar(model: HookedTransformer, pairs: PromptPairs, metric: AttributionMetric, options: AtpStarOptions): AtpStarResult {
  const L = model.cfg.nLayers;
  const extraHooks = Array.from({ length: L }, (_, l) => [`blocks.${l}.attn.hook_pattern`, qkHooks(model, l).q, qkHooks(model, l).k]).flat();
  let dropped = -1;
  const drop = (layer: number) => (act: Tensor) => {
    if (act.requiresGrad) act.registerHook((g) => (dropped === layer ? zerosLike(g) : undefined));
  };
  const fwdHooks = options.gradDrop
    ? Array.from({ length: L }, (_, l) => [
        [`blocks.${l}.hook_attn_out`, drop(l)] as const,
        ...(model.cfg.attnOnly ? [] : [[`blocks.${l}.hook_mlp_out`, drop(l)] as const]),
      ]).flat()
    : [];
  const runs = attributionRuns(model, pairs, metric, { ...options, extraHooks, fwdHooks }, 'atpStar');
  const grid = (s: NodeSpec) => stack(Array.from({ length: L }, (_, l) => estimate(model, runs, s, l)), 0);
  const grids = runs.specs.map(grid);
  let gradDrop: LabelledTensor | undefined;
  if (options.gradDrop) {
    let sums: Tensor[] = runs.specs.map((s) => zerosLike(grids[runs.specs.indexOf(s)]!));
    for (let l = 0; l < L; l++) {
      dropped = l;
      runs.backwardAgain();
      sums = noGrad(() => runs.specs.map((s, i) => add(sums[i]!, abs(grid(s)))));
    }
    dropped = -1;
    const norm = 1 / Math.max(L - 1, 1);
    gradDrop = assemble(
      model,
      runs.specs,
      runs.every,
      runs.pos,
      noGrad(() => sums.map((t) => mul(t, norm))),
    );
  }
  return { ...attributionResult(model, runs, grids, options.preset), ...(gradDrop ? { gradDrop } : {}) };
}
