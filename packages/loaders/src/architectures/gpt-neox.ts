import { type TransformerConfig, transformerConfig } from '@glassbox/model';
import { type Architecture, type HfConfig, type WeightRecipe, activation, configReader, identity, transpose, transposed, zerosRecipe } from './architecture.ts';

/**
 * query_key_value is a Linear weight [3·d_model, d_model] (out, in) whose output is viewed per head
 * as [n_heads, 3·d_head] = (q | k | v). Returns part `which` (0 q, 1 k, 2 v) as W [n_heads, d_model, d_head].
 */
function splitInterleavedWeight(src: Float32Array, dModel: number, nHeads: number, dHead: number, which: number): Float32Array {
  const out = new Float32Array(nHeads * dModel * dHead);
  for (let h = 0; h < nHeads; h++) {
    for (let e = 0; e < dHead; e++) {
      const row = (h * 3 * dHead + which * dHead + e) * dModel;
      for (let m = 0; m < dModel; m++) out[(h * dModel + m) * dHead + e] = src[row + m]!;
    }
  }
  return out;
}

/** The matching bias [3·d_model] -> [n_heads, d_head]. */
function splitInterleavedBias(src: Float32Array, nHeads: number, dHead: number, which: number): Float32Array {
  const out = new Float32Array(nHeads * dHead);
  for (let h = 0; h < nHeads; h++) {
    const from = h * 3 * dHead + which * dHead;
    out.set(src.subarray(from, from + dHead), h * dHead);
  }
  return out;
}

/**
 * Hugging Face GPT-NeoX (Pythia): rotary on the first rotary_pct of each head, parallel residual
 * by default, exact gelu, untied embed_out.
 */
export const gptNeox: Architecture = {
  modelType: 'gpt_neox',

  config(hf: HfConfig, file: string): TransformerConfig {
    const r = configReader(hf, file);
    if (r.has('rope_scaling')) r.unsupported('rope_scaling', 'null', hf.rope_scaling);
    const dModel = r.int('hidden_size');
    const nHeads = r.int('num_attention_heads');
    if (dModel % nHeads !== 0) r.fail('num_attention_heads', `a divisor of hidden_size = ${dModel}`, nHeads);
    const dHead = dModel / nHeads;
    const pctField = r.pick('rotary_pct', 'partial_rotary_factor');
    const rotaryDim = Math.floor(dHead * r.num(pctField, 0.25));
    if (rotaryDim < 2 || rotaryDim % 2 !== 0) r.unsupported(pctField, `a fraction giving an even rotary dimension >= 2 of d_head = ${dHead}`, hf[pctField]);
    return transformerConfig({
      nLayers: r.int('num_hidden_layers'),
      dModel,
      nHeads,
      dHead,
      dMlp: r.int('intermediate_size'),
      dVocab: r.int('vocab_size'),
      nCtx: r.int('max_position_embeddings'),
      actFn: activation(r.str('hidden_act', 'gelu'), 'hidden_act', r),
      normalizationType: 'LN',
      positionalEmbeddingType: 'rotary',
      rotaryDim,
      rotaryBase: r.num(r.pick('rotary_emb_base', 'rope_theta'), 10000),
      parallelAttnMlp: r.bool('use_parallel_residual', true),
      attnBias: r.bool('attention_bias', true),
      eps: r.num('layer_norm_eps', 1e-5),
    });
  },

  recipes(cfg: TransformerConfig, _keys: ReadonlySet<string>): WeightRecipe[] {
    const { dModel: d, nHeads: h, dHead: dh, dVocab: v } = cfg;
    const dMlp = cfg.dMlp ?? 4 * d;
    const out: WeightRecipe[] = [identity([v, d], 'gpt_neox.embed_in.weight', 'embed.W_E')];
    for (let l = 0; l < cfg.nLayers; l++) {
      const p = `gpt_neox.layers.${l}.`;
      const b = `blocks.${l}.`;
      out.push(identity([d], `${p}input_layernorm.weight`, `${b}ln1.w`), identity([d], `${p}input_layernorm.bias`, `${b}ln1.b`));
      ['Q', 'K', 'V'].forEach((name, which) => {
        out.push({
          target: `${b}attn.W_${name}`,
          shape: [h, d, dh],
          sources: [{ key: `${p}attention.query_key_value.weight`, shape: [3 * d, d] }],
          build: ([w]) => splitInterleavedWeight(w!, d, h, dh, which),
        });
        if (cfg.attnBias) {
          out.push({
            target: `${b}attn.b_${name}`,
            shape: [h, dh],
            sources: [{ key: `${p}attention.query_key_value.bias`, shape: [3 * d] }],
            build: ([bias]) => splitInterleavedBias(bias!, h, dh, which),
          });
        }
      });
      // dense [d_model, n_heads·d_head] (out, in), transposed, is W_O [n_heads, d_head, d_model].
      out.push({
        target: `${b}attn.W_O`,
        shape: [h, dh, d],
        sources: [{ key: `${p}attention.dense.weight`, shape: [d, h * dh] }],
        build: ([w]) => transpose(w!, d, h * dh),
      });
      if (cfg.attnBias) out.push(identity([d], `${p}attention.dense.bias`, `${b}attn.b_O`));
      out.push(identity([d], `${p}post_attention_layernorm.weight`, `${b}ln2.w`), identity([d], `${p}post_attention_layernorm.bias`, `${b}ln2.b`));
      out.push(transposed(`${p}mlp.dense_h_to_4h.weight`, dMlp, d, `${b}mlp.W_in`), identity([dMlp], `${p}mlp.dense_h_to_4h.bias`, `${b}mlp.b_in`));
      out.push(transposed(`${p}mlp.dense_4h_to_h.weight`, d, dMlp, `${b}mlp.W_out`), identity([d], `${p}mlp.dense_4h_to_h.bias`, `${b}mlp.b_out`));
    }
    out.push(identity([d], 'gpt_neox.final_layer_norm.weight', 'ln_final.w'), identity([d], 'gpt_neox.final_layer_norm.bias', 'ln_final.b'));
    out.push(transposed('embed_out.weight', v, d, 'unembed.W_U'), zerosRecipe([v], 'unembed.b_U'));
    return out;
  },

  isIgnored(key: string): boolean {
    return /^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/.test(key);
  },
};
