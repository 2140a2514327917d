import type { ForwardHook, HookFilter, HookedTransformer } from '@glassbox/model';
import {
  type Tensor,
  ValueError,
  add,
  concat,
  einsum,
  expand,
  indexSelect,
  matmul,
  narrow,
  noGrad,
  permute,
  reshape,
  stack,
  sub,
  tensor,
  unsqueeze,
  zeros,
} from '@glassbox/tensor';
import { type EdgeGraph, QKV } from './edge-graph.ts';
import { PassCounter, withFrozenParams } from './model-runs.ts';

/** Replacements for upstream outputs as a forward pass computes them (integrated gradients uses them). */
export interface UpstreamOverride {
  /** The token embedding, hook_embed [batch, pos, d_model]. */
  input?: (embed: Tensor) => Tensor;
  /** A layer's head outputs, given as hook_z [batch, pos, head, d_head]; undefined keeps them. */
  z?: (layer: number, z: Tensor) => Tensor | undefined;
  /** A layer's MLP output, hook_mlp_out [batch, pos, d_model]; undefined keeps it. */
  mlpOut?: (layer: number, out: Tensor) => Tensor | undefined;
}

export interface EdgeForwardOptions {
  /**
   * Per-edge patching. Each downstream node v reads its own copy of the residual stream,
   *
   *     in_v = r_v + Σ_u c[u, v] · (source_u − z_u),
   *
   * where r_v is what v reads in this run, z_u the upstream outputs of this run (recomputed, so a
   * change propagates) and source_u the outputs to patch in. c = 0 leaves an edge alone and c = 1
   * replaces its contribution by the source's; entries of non-edges are ignored. `coefficients`
   * [nUpstream, nDownstream] may require gradients (∂M/∂c at c = 0 is the EAP score).
   */
  ablation?: { source: Tensor /* [nUpstream, batch, pos, d_model] */; coefficients: Tensor | Float32Array };
  /** Keep the forward pass on the tape and record ∂M/∂in_v for every downstream node on `backward`. */
  inputGrads?: boolean;
  override?: UpstreamOverride;
  counter?: PassCounter;
}

/** One forward pass with a private residual-stream input per downstream node. */
export interface EdgeRun {
  readonly logits: Tensor;
  /** Upstream outputs z_u of this run: [nUpstream, batch, pos, d_model]. */
  upstream(): Tensor;
  /** Each layer's hook_z as this run used it (after any override): [batch, pos, head, d_head]. */
  readonly z: readonly Tensor[];
  /** Differentiates `value` (a 0-d function of the logits); counts one backward pass. */
  backward(value: Tensor): void;
  /** ∂M/∂in_v after `backward`: [nDownstream, batch, pos, d_model]. */
  inputGrads(): Tensor;
}

function checkGraph(model: HookedTransformer, graph: EdgeGraph): void {
  const cfg = model.cfg;
  if (graph.nLayers !== cfg.nLayers || graph.nHeads !== cfg.nHeads) {
    throw new ValueError('the edge graph was built for another model', {
      op: 'edgeForward',
      arg: 'graph',
      expected: `${cfg.nLayers} layers of ${cfg.nHeads} heads`,
      given: `${graph.nLayers} layers of ${graph.nHeads} heads`,
    });
  }
}

/**
 * Runs the model with every downstream node reading its own copy of the residual stream, built by
 * hooks: at `blocks.{l}.attn.hook_q|k|v` each head's projection is recomputed from its own copy of
 * `hook_resid_pre` (normalised by the layer's own ln1, with the shortformer position shift for q and
 * k), at `blocks.{l}.mlp.hook_pre` the MLP's from its own copy of the stream it reads (normalised by
 * ln2), and at the last `hook_resid_post` the unembedding's. With no ablation the copies equal the
 * shared stream, so the logits are the model's; a copy's gradient is ∂M/∂in_v for that node alone,
 * with all other paths (including the nonlinear ones through later attention) intact.
 */
export function edgeForward(model: HookedTransformer, graph: EdgeGraph, tokens: Tensor, options: EdgeForwardOptions = {}): EdgeRun {
  checkGraph(model, graph);
  const cfg = model.cfg;
  const heads = cfg.nHeads;
  const counter = options.counter ?? new PassCounter();
  const { ablation, override } = options;
  const coeffTensor =
    ablation === undefined ? null : ablation.coefficients instanceof Float32Array ? tensor(ablation.coefficients, { shape: [graph.nUpstream, graph.nDownstream] }) : ablation.coefficients;
  const coeffData = ablation?.coefficients instanceof Float32Array ? ablation.coefficients : null;
  const taped = !!options.inputGrads || !!coeffTensor?.requiresGrad;
  if (ablation && (ablation.source.shape[0] !== graph.nUpstream || coeffTensor!.shape[0] !== graph.nUpstream || coeffTensor!.shape[1] !== graph.nDownstream)) {
    throw new ValueError('ablation does not match the graph', {
      op: 'edgeForward',
      arg: 'ablation',
      expected: `source [${graph.nUpstream}, batch, pos, d_model] and coefficients [${graph.nUpstream}, ${graph.nDownstream}]`,
      given: `source [${ablation.source.shape.join(', ')}], coefficients [${coeffTensor!.shape.join(', ')}]`,
    });
  }

  const chunks: Tensor[] = [];
  let current: { count: number; stack: Tensor } | null = null;
  const currentUpstream = (): Tensor => {
    const count = chunks.reduce((n, c) => n + c.shape[0]!, 0);
    if (!current || current.count !== count) current = { count, stack: chunks.length === 1 ? chunks[0]! : concat(chunks, 0) };
    return current.stack;
  };
  const residPre: Tensor[] = [];
  const residMid: Tensor[] = [];
  let positions: Tensor | null = null;
  const grads = new Map<string, Tensor>();
  const zs: Tensor[] = [];

  /** Whether any coefficient of these downstream columns is live, over the first n upstream rows. */
  const live = (columns: readonly number[], n: number): boolean => {
    if (!coeffTensor) return false;
    if (!coeffData) return true;
    for (const v of columns) for (let u = 0; u < n; u++) if (coeffData[u * graph.nDownstream + v] !== 0) return true;
    return false;
  };
  // source_u − z_u over the first n upstream nodes, [n, batch, pos, d_model]: shared by a layer's q, k and v.
  let delta: { n: number; value: Tensor } | null = null;
  /** Σ_u c[u, v] (source_u − z_u) for the given columns: [batch, pos, columns, d_model]. */
  const correction = (columns: readonly number[], n: number): Tensor => {
    const c = narrow(indexSelect(coeffTensor!, 1, tensor(Int32Array.from(columns))), 0, 0, n); // [n, columns]
    if (!delta || delta.n !== n) delta = { n, value: sub(narrow(ablation!.source, 0, 0, n), narrow(currentUpstream(), 0, 0, n)) };
    return einsum('ubpd,uc->bpcd', delta.value, c);
  };
  const record = (key: string, t: Tensor): Tensor => {
    if (options.inputGrads) {
      t.registerHook((g) => {
        grads.set(key, g);
        return undefined;
      });
    }
    return t;
  };
  const headColumns = (layer: number, x: number) => Array.from({ length: heads }, (_, h) => graph.downstreamIndex(`a${layer}.h${h}<${QKV[x]}>`));

  const fwdHooks: Array<readonly [HookFilter, ForwardHook]> = [];
  fwdHooks.push([
    'hook_embed',
    (embed) => {
      let e = override?.input ? override.input(embed) : embed;
      if (taped && !e.requiresGrad) e = e.detach().setRequiresGrad(true);
      chunks.push(unsqueeze(e, 0));
      return e === embed ? undefined : e;
    },
  ]);
  if (cfg.positionalEmbeddingType === 'shortformer') {
    fwdHooks.push([
      'hook_pos_embed',
      (p) => {
        positions = p;
      },
    ]);
  }
  for (let l = 0; l < cfg.nLayers; l++) {
    const block = model.blocks.at(l);
    const attn = block.attn;
    const layer = l;
    fwdHooks.push([
      `blocks.${l}.hook_resid_pre`,
      (r) => {
        residPre[layer] = r;
      },
    ]);
    QKV.forEach((name, x) => {
      const columns = headColumns(layer, x);
      const n = graph.upstreamCount[columns[0]!]!;
      const patched = live(columns, n);
      if (!patched && !options.inputGrads) return;
      const [w, b] = x === 0 ? [attn.W_Q, attn.b_Q] : x === 1 ? [attn.W_K, attn.b_K] : [attn.W_V, attn.b_V];
      fwdHooks.push([
        `blocks.${l}.attn.hook_${name}`,
        () => {
          const r = residPre[layer]!;
          const [batch, pos, d] = r.shape as [number, number, number];
          let input = expand(unsqueeze(r, 2), [batch, pos, heads, d]);
          if (patched) input = add(input, correction(columns, n));
          record(`${layer}.${name}`, input);
          let normed = block.ln1 ? block.ln1.forward(input) : input;
          if (positions && x < 2) normed = add(normed, unsqueeze(positions, 2));
          const out = einsum('bphm,hmd->bphd', normed, w);
          return b ? add(out, b) : out;
        },
      ]);
    });
    fwdHooks.push([
      `blocks.${l}.attn.hook_z`,
      (z) => {
        const replaced = override?.z?.(layer, z);
        const zz = replaced ?? z;
        zs[layer] = zz;
        chunks.push(einsum('bphd,hdm->hbpm', zz, attn.W_O));
        return replaced;
      },
    ]);
    if (block.mlp) {
      const mlp = block.mlp;
      const column = graph.downstreamIndex(`m${l}`);
      const n = graph.upstreamCount[column]!;
      if (!cfg.parallelAttnMlp) {
        fwdHooks.push([
          `blocks.${l}.hook_resid_mid`,
          (r) => {
            residMid[layer] = r;
          },
        ]);
      }
      const patched = live([column], n);
      if (patched || options.inputGrads) {
        fwdHooks.push([
          `blocks.${l}.mlp.hook_pre`,
          () => {
            const r = cfg.parallelAttnMlp ? residPre[layer]! : residMid[layer]!;
            const input = record(`${layer}.mlp`, patched ? add(r, correction([column], n).squeeze(2)) : add(r, 0));
            const normed = block.ln2 ? block.ln2.forward(input) : input;
            return add(matmul(normed, mlp.W_in), mlp.b_in);
          },
        ]);
      }
      fwdHooks.push([
        `blocks.${l}.hook_mlp_out`,
        (out) => {
          const replaced = override?.mlpOut?.(layer, out);
          chunks.push(unsqueeze(replaced ?? out, 0));
          return replaced;
        },
      ]);
    }
  }
  const logitsColumn = graph.nDownstream - 1;
  const nAll = graph.upstreamCount[logitsColumn]!;
  const patchedLogits = live([logitsColumn], nAll);
  if (patchedLogits || options.inputGrads) {
    fwdHooks.push([
      `blocks.${cfg.nLayers - 1}.hook_resid_post`,
      (r) => record('logits', patchedLogits ? add(r, correction([logitsColumn], nAll).squeeze(2)) : add(r, 0)),
    ]);
  }

  const run = () => model.withHooks({ fwdHooks }, () => model.forward(tokens));
  const logits = taped ? withFrozenParams(model, run) : noGrad(run);
  counter.forward++;

  return {
    logits,
    upstream: currentUpstream,
    z: zs,
    backward(value: Tensor) {
      grads.clear();
      withFrozenParams(model, () => value.backward());
      counter.backward++;
    },
    inputGrads(): Tensor {
      const [batch, pos] = tokens.shape as [number, number];
      const shape = [batch, pos, cfg.dModel];
      const get = (key: string, s: readonly number[]) => grads.get(key) ?? zeros(s);
      const parts: Tensor[] = [];
      for (let l = 0; l < cfg.nLayers; l++) {
        const qkv = stack(
          QKV.map((name) => get(`${l}.${name}`, [batch, pos, heads, cfg.dModel])),
          3,
        ); // [batch, pos, head, 3, d_model]
        parts.push(reshape(permute(qkv, [2, 3, 0, 1, 4]), [3 * heads, ...shape]));
        if (!cfg.attnOnly) parts.push(unsqueeze(get(`${l}.mlp`, shape), 0));
      }
      parts.push(unsqueeze(get('logits', shape), 0));
      return concat(parts, 0);
    },
  };
}

/** The upstream outputs z_u of a plain forward pass: [nUpstream, batch, pos, d_model]. */
export function upstreamOutputs(model: HookedTransformer, graph: EdgeGraph, tokens: Tensor, counter?: PassCounter): { logits: Tensor; upstream: Tensor; z: Tensor[] } {
  const run = edgeForward(model, graph, tokens, { counter });
  return { logits: run.logits, upstream: noGrad(() => run.upstream().detach()), z: run.z.map((t) => t.detach()) };
}

/**
 * Σ_{batch, pos, d_model} Δ_u · G_v for every pair: Δ [nUpstream, batch, pos, d_model] and G
 * [nDownstream, batch, pos, d_model] → [nUpstream, nDownstream], with non-edges set to 0.
 */
export function edgeProducts(graph: EdgeGraph, delta: Tensor, grads: Tensor): Float32Array {
  const scores = noGrad(() => matmul(reshape(delta, [graph.nUpstream, -1]), reshape(grads, [graph.nDownstream, -1]).T).data());
  const out = Float32Array.from(scores);
  for (let u = 0; u < graph.nUpstream; u++) for (let v = 0; v < graph.nDownstream; v++) if (!graph.isEdge(u, v)) out[u * graph.nDownstream + v] = 0;
  return out;
}
