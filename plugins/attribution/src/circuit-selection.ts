import { ValueError } from '@glassbox/tensor';
import type { EdgeGraph } from './edge-graph.ts';
import { rankedEdges } from './edge-scores.ts';

/** A circuit: a set of edges of a graph, as a 0/1 mask [nUpstream, nDownstream]. */
export interface Circuit {
  readonly graph: EdgeGraph;
  readonly edges: Uint8Array;
}

export type SelectionMethod = 'topn' | 'threshold' | 'greedy';

export interface SelectionOptions {
  /** Rank by score instead of |score| (keeps only edges that push the metric one way). */
  signed?: boolean;
}

function empty(graph: EdgeGraph): Uint8Array {
  return new Uint8Array(graph.nUpstream * graph.nDownstream);
}

export function circuitSize(c: Circuit): number {
  return c.edges.reduce((n, e) => n + e, 0);
}

/** The n edges of largest |score|. */
export function selectTopN(graph: EdgeGraph, scores: Float32Array, n: number, options: SelectionOptions = {}): Circuit {
  const edges = empty(graph);
  for (const [u, v] of rankedEdges(graph, scores, options).slice(0, Math.max(0, n))) edges[u * graph.nDownstream + v] = 1;
  return { graph, edges };
}

/** Every edge with |score| ≥ τ. */
export function selectThreshold(graph: EdgeGraph, scores: Float32Array, threshold: number, options: SelectionOptions = {}): Circuit {
  const edges = empty(graph);
  for (const [u, v] of graph.edges()) {
    const s = scores[u * graph.nDownstream + v]!;
    if ((options.signed ? s : Math.abs(s)) >= threshold) edges[u * graph.nDownstream + v] = 1;
  }
  return { graph, edges };
}

/** A max-heap of edges by key. */
class EdgeHeap {
  readonly #items: Array<[number, number, number]> = [];
  get size(): number {
    return this.#items.length;
  }
  push(item: [number, number, number]): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]![2] >= a[i]![2]) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): [number, number, number] | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && a[l]![2] > a[best]![2]) best = l;
        if (r < a.length && a[r]![2] > a[best]![2]) best = r;
        if (best === i) break;
        [a[best], a[i]] = [a[i]!, a[best]!];
        i = best;
      }
    }
    return top;
  }
}

/**
 * Greedy growth from the output: start with the edges into the logits as candidates, repeatedly add
 * the best candidate edge, and once an edge u→v is added, the edges into u's own inputs become
 * candidates. Every chosen edge so lies on a path to the logits.
 */
export function selectGreedy(graph: EdgeGraph, scores: Float32Array, n: number, options: SelectionOptions = {}): Circuit {
  const edges = empty(graph);
  const key = (s: number) => (options.signed ? s : Math.abs(s));
  const heap = new EdgeHeap();
  const opened = new Set<number>();
  const open = (v: number) => {
    if (opened.has(v)) return;
    opened.add(v);
    for (let u = 0; u < graph.upstreamCount[v]!; u++) heap.push([u, v, key(scores[u * graph.nDownstream + v]!)]);
  };
  open(graph.nDownstream - 1);
  let count = 0;
  while (count < n && heap.size > 0) {
    const [u, v] = heap.pop()!;
    edges[u * graph.nDownstream + v] = 1;
    count++;
    for (const w of graph.inputsOf(u)) open(w);
  }
  return { graph, edges };
}

export function selectCircuit(graph: EdgeGraph, scores: Float32Array, method: SelectionMethod, amount: number, options: SelectionOptions = {}): Circuit {
  switch (method) {
    case 'topn':
      return selectTopN(graph, scores, amount, options);
    case 'threshold':
      return selectThreshold(graph, scores, amount, options);
    case 'greedy':
      return selectGreedy(graph, scores, amount, options);
    default:
      throw new ValueError('unknown selection method', { op: 'selectCircuit', arg: 'method', expected: 'topn, threshold or greedy', given: String(method) });
  }
}

/**
 * Removes dangling edges: those out of a node no input path reaches (with all its inputs corrupted,
 * it outputs exactly its corrupted value, so its edges carry nothing), and those into a node with no
 * path on to the logits. Returns a new circuit; pruning never changes M(C) for the first kind and
 * keeps only what can reach the logits.
 */
export function pruneDangling(c: Circuit): Circuit {
  const { graph } = c;
  const nDown = graph.nDownstream;
  const has = (u: number, v: number) => c.edges[u * nDown + v] === 1;
  // Forward: which upstream nodes have a circuit path from the input.
  const fed = new Uint8Array(graph.nUpstream);
  fed[0] = 1;
  for (let u = 1; u < graph.nUpstream; u++) {
    fed[u] = graph.inputsOf(u).some((v) => {
      for (let w = 0; w < graph.upstreamCount[v]!; w++) if (fed[w] && has(w, v)) return true;
      return false;
    })
      ? 1
      : 0;
  }
  // Backward: which upstream nodes have a circuit path to the logits.
  const useful = new Uint8Array(graph.nUpstream);
  const targetUseful = (v: number) => {
    const owner = graph.ownerOf(v);
    return owner === -1 || useful[owner] === 1;
  };
  for (let u = graph.nUpstream - 1; u >= 0; u--) {
    for (let v = 0; v < nDown; v++) {
      if (has(u, v) && targetUseful(v)) {
        useful[u] = 1;
        break;
      }
    }
  }
  const edges = new Uint8Array(c.edges.length);
  for (const [u, v] of graph.edges()) if (has(u, v) && fed[u] && targetUseful(v)) edges[u * nDown + v] = 1;
  return { graph, edges };
}

/** The upstream nodes a circuit uses (with any edge in or out) and whether the logits are reached. */
export function circuitNodes(c: Circuit): Set<string> {
  const nodes = new Set<string>();
  for (const [u, v] of c.graph.edges()) {
    if (!c.edges[u * c.graph.nDownstream + v]) continue;
    nodes.add(c.graph.upstream[u]!.id);
    const owner = c.graph.ownerOf(v);
    nodes.add(owner === -1 ? 'logits' : c.graph.upstream[owner]!.id);
  }
  return nodes;
}
