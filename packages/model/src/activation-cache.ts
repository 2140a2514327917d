import { type Tensor, ValueError, concat, div, einsum, indexSelect, mean, mul, nearestNames, noGrad, permute, reshape, stack, sub, sum, transpose } from '@glassbox/tensor';
import { HookNameError, actName } from './hook-names.ts';
import type { HookedTransformer } from './hooked-transformer.ts';

/** A stack of residual-stream components with a label for each: stack [component, batch, pos, d_model]. */
export interface LabelledStack {
  stack: Tensor;
  labels: string[];
}

/**
 * The activations of one run, by hook name, with TransformerLens's helpers for reading the residual
 * stream as a sum of parts. Gradients from `runWithCache(…, { inclBwd: true })` sit under
 * `<name>_grad`.
 */
export class ActivationCache {
  readonly model: HookedTransformer;
  readonly #store: ReadonlyMap<string, Tensor>;

  constructor(model: HookedTransformer, store: ReadonlyMap<string, Tensor>) {
    this.model = model;
    this.#store = store;
  }

  get size(): number {
    return this.#store.size;
  }

  keys(): string[] {
    return [...this.#store.keys()];
  }

  entries(): Array<[string, Tensor]> {
    return [...this.#store.entries()];
  }

  has(name: string): boolean {
    return this.#store.has(name);
  }

  /** The activation under a full hook name; a missing one raises a HookNameError suggesting the nearest cached names. */
  get(name: string): Tensor {
    const value = this.#store.get(name);
    if (value) return value;
    const known = this.model.hookNames().includes(name.replace(/_grad$/, ''));
    throw new HookNameError(known ? 'activation not in the cache (filtered out, or not computed)' : 'unknown hook name', {
      op: 'ActivationCache.get',
      arg: 'name',
      expected: 'a cached hook name',
      given: JSON.stringify(name),
      suggestions: nearestNames(name, this.#store.keys()),
    });
  }

  /** `get(actName(name, layer, layerType))`: `cache.act('z', 0)` is `blocks.0.attn.hook_z`. */
  act(name: string, layer?: number, layerType?: string): Tensor {
    return this.get(actName(name, layer, layerType));
  }

  #layerArg(op: string, layer: number | undefined): number {
    const n = this.model.cfg.nLayers;
    const l = layer ?? n;
    const resolved = l < 0 ? l + n + 1 : l;
    if (!Number.isInteger(resolved) || resolved < 0 || resolved > n) {
      throw new ValueError('layer out of range', { op, arg: 'layer', expected: `an integer in [0, ${n}] (or negative, counting back from ${n})`, given: String(layer) });
    }
    return resolved;
  }

  /**
   * The residual stream as it stood before each layer: resid_pre of layers 0 .. layer (with resid_mid
   * after each earlier layer if `inclMid`), and for layer = nLayers (the default) the final
   * resid_post, labelled 'final_post'. With `applyLn`, each is normalised with the scale cached where
   * layer `layer` reads the stream (see applyLnToStack). stack [component, batch, pos, d_model].
   */
  accumulatedResid(options: { layer?: number; inclMid?: boolean; applyLn?: boolean } = {}): LabelledStack {
    const layer = this.#layerArg('ActivationCache.accumulatedResid', options.layer);
    const n = this.model.cfg.nLayers;
    const parts: Tensor[] = [];
    const labels: string[] = [];
    for (let l = 0; l <= layer; l++) {
      if (l === n) {
        parts.push(n === 0 ? this.#embeddingSum() : this.act('resid_post', n - 1));
        labels.push('final_post');
        continue;
      }
      parts.push(this.act('resid_pre', l));
      labels.push(`${l}_pre`);
      if (options.inclMid && l < layer && this.has(actName('resid_mid', l))) {
        parts.push(this.act('resid_mid', l));
        labels.push(`${l}_mid`);
      }
    }
    const stacked = stack(parts, 0);
    return { stack: options.applyLn ? this.applyLnToStack(stacked, layer) : stacked, labels };
  }

  #embeddingSum(): Tensor {
    const embed = this.get('hook_embed');
    return this.model.cfg.positionalEmbeddingType === 'standard' ? this.get('hook_pos_embed').add(embed) : embed;
  }

  /**
   * The residual stream read by layer `layer` (default: the final one, before ln_final) split into the
   * outputs that were added to it: 'embed', 'pos_embed' (standard positions only), then
   * '{l}_attn_out' and '{l}_mlp_out' for each earlier layer. The parts sum to that residual stream.
   * `mode` keeps only attention or only MLP outputs. stack [component, batch, pos, d_model].
   */
  decomposeResid(options: { layer?: number; mode?: 'all' | 'attn' | 'mlp'; inclEmbeds?: boolean; applyLn?: boolean } = {}): LabelledStack {
    const { mode = 'all', inclEmbeds = true } = options;
    const layer = this.#layerArg('ActivationCache.decomposeResid', options.layer);
    const parts: Tensor[] = [];
    const labels: string[] = [];
    if (inclEmbeds) {
      parts.push(this.get('hook_embed'));
      labels.push('embed');
      if (this.model.cfg.positionalEmbeddingType === 'standard') {
        parts.push(this.get('hook_pos_embed'));
        labels.push('pos_embed');
      }
    }
    for (let l = 0; l < layer; l++) {
      if (mode !== 'mlp') {
        parts.push(this.act('attn_out', l));
        labels.push(`${l}_attn_out`);
      }
      if (mode !== 'attn' && !this.model.cfg.attnOnly) {
        parts.push(this.act('mlp_out', l));
        labels.push(`${l}_mlp_out`);
      }
    }
    if (parts.length === 0) {
      throw new ValueError('nothing to decompose', { op: 'ActivationCache.decomposeResid', arg: 'options', expected: 'at least one component', given: JSON.stringify(options) });
    }
    const stacked = stack(parts, 0);
    return { stack: options.applyLn ? this.applyLnToStack(stacked, layer) : stacked, labels };
  }

  /**
   * Each head's output (z W_O, without b_O) for layers 0 .. layer − 1 (default all), labelled 'L{l}H{h}'.
   * Taken from `hook_result` when cached, else computed from `hook_z`.
   * stack [layer · head_index, batch, pos, d_model].
   */
  stackHeadResults(options: { layer?: number; applyLn?: boolean } = {}): LabelledStack {
    const layer = this.#layerArg('ActivationCache.stackHeadResults', options.layer);
    const parts: Tensor[] = [];
    const labels: string[] = [];
    for (let l = 0; l < layer; l++) {
      const resultName = actName('result', l);
      const result = this.has(resultName)
        ? this.get(resultName)
        : noGrad(() => einsum('bqhd,hdm->bqhm', this.act('z', l), this.model.blocks.at(l).attn.W_O.detach()));
      parts.push(permute(result, [2, 0, 1, 3])); // [head_index, batch, pos, d_model]
      for (let h = 0; h < this.model.cfg.nHeads; h++) labels.push(`L${l}H${h}`);
    }
    if (parts.length === 0) {
      throw new ValueError('no layers to stack', { op: 'ActivationCache.stackHeadResults', arg: 'layer', expected: 'at least 1', given: String(layer) });
    }
    const stacked = concat(parts, 0);
    return { stack: options.applyLn ? this.applyLnToStack(stacked, layer) : stacked, labels };
  }

  /**
   * Normalises each component of a residual stack as the layer reading the stream at `layer` would
   * (layer nLayers, the default, means ln_final): centres it for LayerNorm, then divides by that
   * run's cached `hook_scale`. The norm's own weight and bias are not applied (fold them first with
   * foldLayerNorm). Without normalisation the stack is returned unchanged.
   * stack [..., batch, pos, d_model] -> the same shape.
   */
  applyLnToStack(residStack: Tensor, layer?: number): Tensor {
    const l = this.#layerArg('ActivationCache.applyLnToStack', layer);
    const type = this.model.cfg.normalizationType;
    if (type === null) return residStack;
    const scaleName = l === this.model.cfg.nLayers ? 'ln_final.hook_scale' : `blocks.${l}.ln1.hook_scale`;
    const centered = type === 'LN' || type === 'LNPre' ? sub(residStack, mean(residStack, -1, true)) : residStack;
    return div(centered, this.get(scaleName));
  }

  /**
   * Direct logit attribution: each component's contribution to the logit of `tokens` (minus that of
   * `incorrectTokens`, if given), after the final normalisation scale (applyLnToStack), through W_U.
   * stack [component, batch, pos, d_model]; tokens int32 [batch, pos] or [batch] (the same token at
   * every position) -> [component, batch, pos].
   */
  logitAttrs(residStack: Tensor, tokens: Tensor, incorrectTokens?: Tensor): Tensor {
    const [, batch, pos, dModel] = residStack.shape as [number, number, number, number];
    const directionsFor = (ids: Tensor, arg: string): Tensor => {
      const ok = (ids.rank === 2 && ids.shape[0] === batch && ids.shape[1] === pos) || (ids.rank === 1 && ids.shape[0] === batch);
      if (!ok || ids.dtype !== 'int32') {
        throw new ValueError('tokens do not match the stack', { op: 'ActivationCache.logitAttrs', arg, expected: `int32 [${batch}, ${pos}] or [${batch}]`, given: `${ids.dtype} [${ids.shape.join(', ')}]` });
      }
      const full = ids.rank === 1 ? ids.reshape([batch, 1]).expand([batch, pos]) : ids;
      const columns = indexSelect(transpose(this.model.unembed.W_U.detach()), 0, full.contiguous().reshape([batch * pos]));
      return reshape(columns, [batch, pos, dModel]);
    };
    let directions = directionsFor(tokens, 'tokens');
    if (incorrectTokens) directions = sub(directions, directionsFor(incorrectTokens, 'incorrectTokens'));
    return sum(mul(this.applyLnToStack(residStack), directions), -1);
  }
}
