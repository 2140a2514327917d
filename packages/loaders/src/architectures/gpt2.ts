import { type TransformerConfig, transformerConfig } from '@glassbox/model';
import { type Architecture, type HfConfig, type WeightRecipe, activation, configReader, identity, transposed, zerosRecipe } from './architecture.ts';

/**
 * The c_attn Conv1D weight [d_model, 3·d_model] (or its bias [3·d_model]) holds q | k | v along the
 * output axis, each split into heads as [n_heads, d_head]. Returns part `which` (0 q, 1 k, 2 v) as
 * W [n_heads, d_model, d_head], or b [n_heads, d_head] when `rows` is 1.
 */
function splitFusedQkv(src: Float32Array, rows: number, dModel: number, nHeads: number, dHead: number, which: number): Float32Array {
  const out = new Float32Array(nHeads * rows * dHead);
  const width = 3 * dModel;
  for (let h = 0; h < nHeads; h++) {
    for (let m = 0; m < rows; m++) {
      const from = m * width + which * dModel + h * dHead;
      out.set(src.subarray(from, from + dHead), (h * rows + m) * dHead);
    }
  }
  return out;
}

/** Hugging Face GPT-2 (GPT2Model / GPT2LMHeadModel): tied embeddings, gelu_new, learned positions. */
export const gpt2: Architecture = {
  modelType: 'gpt2',

  config(hf: HfConfig, file: string): TransformerConfig {
    const r = configReader(hf, file);
    if (r.bool('scale_attn_by_inverse_layer_idx', false)) r.unsupported('scale_attn_by_inverse_layer_idx', 'false', true);
    if (r.has('add_cross_attention') && r.bool('add_cross_attention', false)) r.unsupported('add_cross_attention', 'false', true);
    const dModel = r.int('n_embd');
    const nHeads = r.int('n_head');
    if (dModel % nHeads !== 0) r.fail('n_head', `a divisor of n_embd = ${dModel}`, nHeads);
    const useAttnScale = r.bool('scale_attn_weights', true);
    return transformerConfig({
      nLayers: r.int('n_layer'),
      dModel,
      nHeads,
      dHead: dModel / nHeads,
      dMlp: r.has('n_inner') ? r.int('n_inner') : 4 * dModel,
      dVocab: r.int('vocab_size'),
      nCtx: r.int(r.pick('n_positions', 'n_ctx')),
      actFn: activation(r.str('activation_function', 'gelu_new'), 'activation_function', r),
      normalizationType: 'LN',
      positionalEmbeddingType: 'standard',
      eps: r.num('layer_norm_epsilon', 1e-5),
      useAttnScale,
    });
  },

  recipes(cfg: TransformerConfig, keys: ReadonlySet<string>): WeightRecipe[] {
    const prefix = keys.has('transformer.wte.weight') ? 'transformer.' : '';
    const { dModel: d, nHeads: h, dHead: dh, dVocab: v, nCtx } = cfg;
    const dMlp = cfg.dMlp ?? 4 * d;
    // Tied: the unembedding is the embedding transposed, unless the file carries its own lm_head. Built
    // right after W_E, so the (large) embedding is read once and released at once.
    const unembedSource = keys.has('lm_head.weight') ? 'lm_head.weight' : `${prefix}wte.weight`;
    const out: WeightRecipe[] = [
      identity([v, d], `${prefix}wte.weight`, 'embed.W_E'),
      transposed(unembedSource, v, d, 'unembed.W_U'),
      zerosRecipe([v], 'unembed.b_U'),
      identity([nCtx, d], `${prefix}wpe.weight`, 'pos_embed.W_pos'),
    ];
    for (let l = 0; l < cfg.nLayers; l++) {
      const p = `${prefix}h.${l}.`;
      const b = `blocks.${l}.`;
      out.push(identity([d], `${p}ln_1.weight`, `${b}ln1.w`), identity([d], `${p}ln_1.bias`, `${b}ln1.b`));
      ['Q', 'K', 'V'].forEach((name, which) => {
        out.push({
          target: `${b}attn.W_${name}`,
          shape: [h, d, dh],
          sources: [{ key: `${p}attn.c_attn.weight`, shape: [d, 3 * d] }],
          build: ([w]) => splitFusedQkv(w!, d, d, h, dh, which),
        });
        out.push({
          target: `${b}attn.b_${name}`,
          shape: [h, dh],
          sources: [{ key: `${p}attn.c_attn.bias`, shape: [3 * d] }],
          build: ([bias]) => bias!.slice(which * d, (which + 1) * d),
        });
      });
      out.push(identity([h, dh, d], `${p}attn.c_proj.weight`, `${b}attn.W_O`, [d, d]), identity([d], `${p}attn.c_proj.bias`, `${b}attn.b_O`));
      out.push(identity([d], `${p}ln_2.weight`, `${b}ln2.w`), identity([d], `${p}ln_2.bias`, `${b}ln2.b`));
      out.push(identity([d, dMlp], `${p}mlp.c_fc.weight`, `${b}mlp.W_in`), identity([dMlp], `${p}mlp.c_fc.bias`, `${b}mlp.b_in`));
      out.push(identity([dMlp, d], `${p}mlp.c_proj.weight`, `${b}mlp.W_out`), identity([d], `${p}mlp.c_proj.bias`, `${b}mlp.b_out`));
    }
    out.push(identity([d], `${prefix}ln_f.weight`, 'ln_final.w'), identity([d], `${prefix}ln_f.bias`, 'ln_final.b'));
    return out;
  },

  isIgnored(key: string): boolean {
    return /(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/.test(key);
  },
};
