import type { EdgeGraph } from './edge-graph.ts';
import type { PassCount } from './model-runs.ts';

export type EdgeMethod = 'eap' | 'eap-ig-inputs' | 'eap-ig-activations';

/**
 * Edge scores: scores[u · nDownstream + v] estimates M(x with edge u→v corrupted) − M(x), the
 * effect of corrupting that one edge (0 for non-edges). Circuits rank edges by |score|.
 */
export interface EdgeScores {
  readonly graph: EdgeGraph;
  readonly method: EdgeMethod;
  readonly scores: Float32Array; // [nUpstream, nDownstream]
  readonly cleanMetric: number;
  readonly corruptedMetric: number;
  readonly cost: PassCount;
  /** Integration steps (EAP-IG). */
  readonly steps?: number;
}

/** One edge's score. */
export function edgeScore(s: EdgeScores, u: number, v: number): number {
  return s.scores[u * s.graph.nDownstream + v]!;
}

/** The edges ranked by |score| (or by score with `signed`), best first, as [u, v, score]. */
export function rankedEdges(graph: EdgeGraph, scores: Float32Array, options: { signed?: boolean } = {}): Array<[number, number, number]> {
  const key = (x: number) => (options.signed ? x : Math.abs(x));
  return graph
    .edges()
    .map(([u, v]): [number, number, number] => [u, v, scores[u * graph.nDownstream + v]!])
    .sort((a, b) => key(b[2]) - key(a[2]));
}
