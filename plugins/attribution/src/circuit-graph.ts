import type { Circuit } from './circuit-selection.ts';
import type { EdgeGraph } from './edge-graph.ts';

export interface CircuitGraphNode {
  readonly id: string;
  readonly kind: 'input' | 'head' | 'mlp' | 'logits';
  readonly layer: number;
  readonly head?: number;
  readonly inCircuit: boolean;
}

export interface CircuitGraphEdge {
  /** `a0.h1->a1.h0<k>` */
  readonly id: string;
  /** An upstream node id. */
  readonly source: string;
  /** The node whose input the edge feeds (`a1.h0`, `m2`, `logits`). */
  readonly target: string;
  /** Which input of the target: a head's q, k or v, an MLP's input, or the logits. */
  readonly input: 'q' | 'k' | 'v' | 'mlp' | 'logits';
  readonly score: number;
  readonly inCircuit: boolean;
}

/** The circuit graph file the CLI writes and the web app reads. */
export interface CircuitGraphJSON {
  readonly format: 'glassbox.circuit-graph';
  readonly version: 1;
  readonly graph: { readonly nLayers: number; readonly nHeads: number; readonly nUpstream: number; readonly nDownstream: number; readonly nEdges: number };
  readonly nodes: readonly CircuitGraphNode[];
  readonly edges: readonly CircuitGraphEdge[];
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * A circuit as JSON: every node with whether the circuit uses it, and the circuit's edges with their
 * scores (every edge with `allEdges`), strongest first.
 */
export function circuitGraphJSON(
  graph: EdgeGraph,
  scores: Float32Array,
  circuit: Circuit,
  options: { allEdges?: boolean; metadata?: Record<string, unknown> } = {},
): CircuitGraphJSON {
  const nDown = graph.nDownstream;
  const used = new Set<string>();
  const edges: CircuitGraphEdge[] = [];
  for (const [u, v] of graph.edges()) {
    const inCircuit = circuit.edges[u * nDown + v] === 1;
    if (!inCircuit && !options.allEdges) continue;
    const down = graph.downstream[v]!;
    const source = graph.upstream[u]!.id;
    const target = down.kind === 'head' ? `a${down.layer}.h${down.head}` : down.id;
    if (inCircuit) {
      used.add(source);
      used.add(target);
    }
    edges.push({ id: graph.edgeName(u, v), source, target, input: down.kind === 'head' ? down.input : down.kind, score: scores[u * nDown + v]!, inCircuit });
  }
  edges.sort((a, b) => Math.abs(b.score) - Math.abs(a.score));
  const nodes: CircuitGraphNode[] = [
    ...graph.upstream.map((n) => ({ id: n.id, kind: n.kind, layer: n.layer, ...(n.kind === 'head' ? { head: n.head } : {}), inCircuit: used.has(n.id) })),
    { id: 'logits', kind: 'logits' as const, layer: graph.nLayers, inCircuit: used.has('logits') },
  ];
  return {
    format: 'glassbox.circuit-graph',
    version: 1,
    graph: { nLayers: graph.nLayers, nHeads: graph.nHeads, nUpstream: graph.nUpstream, nDownstream: graph.nDownstream, nEdges: graph.nEdges },
    nodes,
    edges,
    metadata: options.metadata ?? {},
  };
}
