import { type Tensor, ValueError, add, einsum, matmul, mean, mul, noGrad, reshape, sub, zeros } from '@glassbox/tensor';
import { type TransformerConfig, transformerConfig } from './config.ts';
import { HookedTransformer } from './hooked-transformer.ts';

/**
 * TransformerLens's weight processing, as pure functions from (config, state dict) to a new
 * (config, state dict) that computes the same function. The state dict keys are the model's.
 */
export interface ModelWeights {
  config: TransformerConfig;
  stateDict: Record<string, Tensor>;
}

function need(weights: ModelWeights, key: string, op: string): Tensor {
  const t = weights.stateDict[key];
  if (!t) throw new ValueError('state dict is missing a weight', { op, arg: 'stateDict', expected: `a tensor under \`${key}\``, given: 'none' });
  return t.detach();
}

function withConfig(weights: ModelWeights, changes: Partial<TransformerConfig>, stateDict: Record<string, Tensor>): ModelWeights {
  return { config: transformerConfig({ ...weights.config, ...changes }), stateDict };
}

/** Adds zero attention biases to a model built without them, so that folding has somewhere to write. */
function ensureAttnBiases(weights: ModelWeights): ModelWeights {
  if (weights.config.attnBias) return weights;
  const { nHeads, dHead, dModel, nLayers } = weights.config;
  const sd = { ...weights.stateDict };
  for (let l = 0; l < nLayers; l++) {
    for (const m of ['Q', 'K', 'V']) sd[`blocks.${l}.attn.b_${m}`] = zeros([nHeads, dHead]);
    sd[`blocks.${l}.attn.b_O`] = zeros([dModel]);
  }
  return withConfig(weights, { attnBias: true }, sd);
}

/**
 * Folds each LayerNorm's (or RMSNorm's) weight and bias into the matrices that read its output —
 * W_Q, W_K, W_V after ln1, W_in after ln2, W_U after ln_final — so that the norms become `LNPre`
 * (`RMSPre`). The bias b becomes b W added to the reader's bias, the weight w scales W's input
 * rows. With `centerWeights` (default, LayerNorm only), the readers' weights are then centred over
 * d_model, which changes nothing since LNPre's output has mean zero. Shortformer models are refused:
 * their position embeddings are added after ln1, so its weight cannot move into W_Q and W_K.
 */
export function foldLayerNorm(weights: ModelWeights, options: { centerWeights?: boolean } = {}): ModelWeights {
  const op = 'foldLayerNorm';
  const { config } = weights;
  const type = config.normalizationType;
  if (type !== 'LN' && type !== 'RMS') return weights;
  if (config.positionalEmbeddingType === 'shortformer') {
    throw new ValueError('cannot fold norms of a shortformer model', { op, arg: 'config.positionalEmbeddingType', expected: "'standard' or 'rotary'", given: "'shortformer'" });
  }
  const center = type === 'LN' && (options.centerWeights ?? true);
  return noGrad(() => {
    const w0 = type === 'LN' ? ensureAttnBiases(weights) : weights;
    const sd = { ...w0.stateDict };
    const take = (key: string) => {
      const t = need(w0, key, op);
      delete sd[key];
      return t;
    };
    /** Folds a norm [d_model] into a reader whose d_model axis is `axis` of `wKey`. */
    const fold = (norm: string, readers: ReadonlyArray<{ w: string; b: string | null; axis: number }>) => {
      const gain = take(`${norm}.w`);
      const shift = type === 'LN' ? take(`${norm}.b`) : null;
      for (const { w, b, axis } of readers) {
        const W = need(w0, w, op);
        const shape = W.shape.map((d, i) => (i === axis ? d : 1));
        if (shift && b) {
          const moved = W.rank === 3 ? einsum('m,hmd->hd', shift, W) : matmul(shift, W);
          sd[b] = add(need(w0, b, op), moved);
        }
        let folded = mul(W, reshape(gain, shape));
        if (center) folded = sub(folded, mean(folded, axis, true));
        sd[w] = folded;
      }
    };
    for (let l = 0; l < config.nLayers; l++) {
      const attn = `blocks.${l}.attn`;
      const qkvBias = (m: string) => (w0.config.attnBias ? `${attn}.b_${m}` : null);
      fold(`blocks.${l}.ln1`, ['Q', 'K', 'V'].map((m) => ({ w: `${attn}.W_${m}`, b: qkvBias(m), axis: 1 })));
      if (!config.attnOnly) fold(`blocks.${l}.ln2`, [{ w: `blocks.${l}.mlp.W_in`, b: `blocks.${l}.mlp.b_in`, axis: 0 }]);
    }
    fold('ln_final', [{ w: 'unembed.W_U', b: 'unembed.b_U', axis: 0 }]);
    return withConfig(w0, { normalizationType: type === 'LN' ? 'LNPre' : 'RMSPre' }, sd);
  });
}

/**
 * Centres every weight that writes to the residual stream (W_E, W_pos, W_O, b_O, W_out, b_out) over
 * d_model. Every reader of the stream is a LayerNorm, which removes the mean, so the outputs do not
 * change (the residual stream itself does). Needs `LN` or `LNPre`.
 */
export function centerWritingWeights(weights: ModelWeights): ModelWeights {
  const op = 'centerWritingWeights';
  const { config } = weights;
  if (config.normalizationType !== 'LN' && config.normalizationType !== 'LNPre') {
    throw new ValueError('centring the writing weights needs LayerNorm', { op, arg: 'config.normalizationType', expected: "'LN' or 'LNPre'", given: String(config.normalizationType) });
  }
  return noGrad(() => {
    const sd = { ...weights.stateDict };
    const centre = (key: string) => {
      const t = need(weights, key, op);
      sd[key] = sub(t, mean(t, -1, true));
    };
    centre('embed.W_E');
    if (config.positionalEmbeddingType === 'standard') centre('pos_embed.W_pos');
    for (let l = 0; l < config.nLayers; l++) {
      centre(`blocks.${l}.attn.W_O`);
      if (config.attnBias) centre(`blocks.${l}.attn.b_O`);
      if (!config.attnOnly) {
        centre(`blocks.${l}.mlp.W_out`);
        centre(`blocks.${l}.mlp.b_out`);
      }
    }
    return { config: weights.config, stateDict: sd };
  });
}

/**
 * Centres W_U and b_U over the vocabulary. Each position's logits shift by a constant, so the
 * softmax (and the loss) do not change.
 */
export function centerUnembed(weights: ModelWeights): ModelWeights {
  return noGrad(() => {
    const W = need(weights, 'unembed.W_U', 'centerUnembed');
    const b = need(weights, 'unembed.b_U', 'centerUnembed');
    return { config: weights.config, stateDict: { ...weights.stateDict, 'unembed.W_U': sub(W, mean(W, -1, true)), 'unembed.b_U': sub(b, mean(b)) } };
  });
}

/**
 * Moves each value bias into the output bias: b_O += Σ_h b_V[h] W_O[h], b_V = 0. Each query's
 * attention weights sum to 1, so the value bias always contributes exactly b_V W_O.
 */
export function foldValueBiases(weights: ModelWeights): ModelWeights {
  const op = 'foldValueBiases';
  if (!weights.config.attnBias) return weights;
  return noGrad(() => {
    const sd = { ...weights.stateDict };
    for (let l = 0; l < weights.config.nLayers; l++) {
      const attn = `blocks.${l}.attn`;
      const bV = need(weights, `${attn}.b_V`, op);
      sd[`${attn}.b_O`] = add(need(weights, `${attn}.b_O`, op), einsum('hd,hdm->m', bV, need(weights, `${attn}.W_O`, op)));
      sd[`${attn}.b_V`] = zeros(bV.shape);
    }
    return { config: weights.config, stateDict: sd };
  });
}

export interface ProcessWeightsOptions {
  /** Default true. */
  foldLn?: boolean;
  /** Default true; skipped for models without LayerNorm. */
  centerWritingWeights?: boolean;
  /** Default true. */
  centerUnembed?: boolean;
  /** Default true. */
  foldValueBiases?: boolean;
}

/**
 * A new model with TransformerLens's default processing applied (fold norms, centre writing
 * weights, centre the unembedding, fold value biases). Its logits equal the original's up to a
 * per-position constant (exactly equal without centerUnembed), within float32 rounding.
 */
export function processWeights(model: HookedTransformer, options: ProcessWeightsOptions = {}): HookedTransformer {
  let weights: ModelWeights = { config: model.cfg, stateDict: model.stateDict() };
  const shortformer = model.cfg.positionalEmbeddingType === 'shortformer';
  if ((options.foldLn ?? true) && !shortformer) weights = foldLayerNorm(weights);
  const layerNorm = weights.config.normalizationType === 'LN' || weights.config.normalizationType === 'LNPre';
  if ((options.centerWritingWeights ?? true) && layerNorm) weights = centerWritingWeights(weights);
  if (options.centerUnembed ?? true) weights = centerUnembed(weights);
  if (options.foldValueBiases ?? true) weights = foldValueBiases(weights);
  const processed = new HookedTransformer(weights.config, { init: 'none' });
  processed.loadStateDict(weights.stateDict);
  return processed;
}
