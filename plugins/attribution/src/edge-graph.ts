import type { TransformerConfig } from '@glassbox/model';

/**
 * A node that writes to the residual stream: the token embedding (`input`), a head's output
 * (`a{l}.h{h}`: z·W_O of that head, without b_O) or an MLP's output (`m{l}`).
 */
export type UpstreamNode =
  | { readonly id: 'input'; readonly kind: 'input'; readonly layer: -1 }
  | { readonly id: string; readonly kind: 'head'; readonly layer: number; readonly head: number }
  | { readonly id: string; readonly kind: 'mlp'; readonly layer: number };

/**
 * A node that reads the residual stream: a head's query, key or value input (`a{l}.h{h}<q>`), an
 * MLP's input (`m{l}`) or the unembedding's input (`logits`).
 */
export type DownstreamNode =
  | { readonly id: string; readonly kind: 'head'; readonly layer: number; readonly head: number; readonly input: 'q' | 'k' | 'v' }
  | { readonly id: string; readonly kind: 'mlp'; readonly layer: number }
  | { readonly id: 'logits'; readonly kind: 'logits'; readonly layer: number };

export const QKV = ['q', 'k', 'v'] as const;

/**
 * The edge graph of a transformer's residual stream: every upstream node feeds every downstream
 * node that reads the stream after it was written. Biases (b_O, b_out) and the position embedding
 * are constants, not nodes: they are equal in every run. Upstream nodes are ordered as they are
 * written and downstream nodes as they read, and each downstream node reads a prefix of the
 * upstream list, `upstreamCount[v]` long.
 *
 * For GPT-2 small this gives 157 upstream nodes, 445 downstream nodes and 32,491 edges.
 */
export class EdgeGraph {
  readonly nLayers: number;
  readonly nHeads: number;
  readonly upstream: readonly UpstreamNode[];
  readonly downstream: readonly DownstreamNode[];
  /** For each downstream node, how many upstream nodes (a prefix) it reads. */
  readonly upstreamCount: readonly number[];
  readonly #upIndex = new Map<string, number>();
  readonly #downIndex = new Map<string, number>();

  constructor(cfg: Pick<TransformerConfig, 'nLayers' | 'nHeads' | 'attnOnly' | 'parallelAttnMlp'>) {
    this.nLayers = cfg.nLayers;
    this.nHeads = cfg.nHeads;
    const up: UpstreamNode[] = [{ id: 'input', kind: 'input', layer: -1 }];
    const down: DownstreamNode[] = [];
    const counts: number[] = [];
    for (let l = 0; l < cfg.nLayers; l++) {
      const before = up.length;
      for (let h = 0; h < cfg.nHeads; h++) {
        for (const input of QKV) {
          down.push({ id: `a${l}.h${h}<${input}>`, kind: 'head', layer: l, head: h, input });
          counts.push(before);
        }
      }
      for (let h = 0; h < cfg.nHeads; h++) up.push({ id: `a${l}.h${h}`, kind: 'head', layer: l, head: h });
      if (!cfg.attnOnly) {
        down.push({ id: `m${l}`, kind: 'mlp', layer: l });
        // In a parallel block the MLP reads the block's input, like the heads.
        counts.push(cfg.parallelAttnMlp ? before : up.length);
        up.push({ id: `m${l}`, kind: 'mlp', layer: l });
      }
    }
    down.push({ id: 'logits', kind: 'logits', layer: cfg.nLayers });
    counts.push(up.length);
    this.upstream = up;
    this.downstream = down;
    this.upstreamCount = counts;
    for (const [i, n] of up.entries()) this.#upIndex.set(n.id, i);
    for (const [i, n] of down.entries()) this.#downIndex.set(n.id, i);
  }

  get nUpstream(): number {
    return this.upstream.length;
  }
  get nDownstream(): number {
    return this.downstream.length;
  }
  /** Number of edges. */
  get nEdges(): number {
    return this.upstreamCount.reduce((a, b) => a + b, 0);
  }

  upstreamIndex(id: string): number {
    const i = this.#upIndex.get(id);
    if (i === undefined) throw new Error(`unknown upstream node ${id}`);
    return i;
  }
  downstreamIndex(id: string): number {
    const i = this.#downIndex.get(id);
    if (i === undefined) throw new Error(`unknown downstream node ${id}`);
    return i;
  }

  /** Whether upstream u feeds downstream v. */
  isEdge(u: number, v: number): boolean {
    return u < this.upstreamCount[v]!;
  }

  /** `a0.h1->a1.h0<k>` */
  edgeName(u: number, v: number): string {
    return `${this.upstream[u]!.id}->${this.downstream[v]!.id}`;
  }

  /** The edge of a name such as `a0.h1->a1.h0<k>`. */
  edgeOf(name: string): [number, number] {
    const [u, v] = name.split('->') as [string, string];
    return [this.upstreamIndex(u), this.downstreamIndex(v)];
  }

  /** Every edge as [u, v], upstream-major. */
  edges(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let u = 0; u < this.nUpstream; u++) for (let v = 0; v < this.nDownstream; v++) if (this.isEdge(u, v)) out.push([u, v]);
    return out;
  }

  /**
   * The upstream node a downstream node belongs to (a head's q/k/v inputs belong to that head's
   * output, an MLP's input to its output); -1 for the logits.
   */
  ownerOf(v: number): number {
    const node = this.downstream[v]!;
    if (node.kind === 'logits') return -1;
    return this.upstreamIndex(node.kind === 'head' ? `a${node.layer}.h${node.head}` : `m${node.layer}`);
  }

  /** The downstream nodes (inputs) of an upstream node's component: a head's q, k, v; an MLP's input; none for `input`. */
  inputsOf(u: number): number[] {
    const node = this.upstream[u]!;
    if (node.kind === 'input') return [];
    if (node.kind === 'mlp') return [this.downstreamIndex(`m${node.layer}`)];
    return QKV.map((x) => this.downstreamIndex(`a${node.layer}.h${node.head}<${x}>`));
  }
}
