import type { CheckpointScores } from './stage-train.ts';
import type { CircuitJson } from './stage-circuit.ts';

export interface InductionCircuit {
  previousTokenHead: { layer: number; head: number; score: number };
  inductionHead: { layer: number; head: number; score: number };
  /** The strongest EAP edge from the previous-token head into the induction head's key input, if any. */
  kComposition: { score: number; rank: number } | null;
  sentence: string;
}

function best(scores: number[][] | undefined, layer: number): { layer: number; head: number; score: number } {
  const row = scores?.[layer] ?? [];
  const head = row.indexOf(Math.max(...row));
  return { layer, head, score: row[head] ?? 0 };
}

/** States the circuit found: which heads play which part, and whether EAP sees their K-composition. */
export function describeInductionCircuit(final: CheckpointScores, circuit: CircuitJson): InductionCircuit {
  const previousTokenHead = best(final.previousToken, 0);
  const inductionHead = best(final.induction, 1);
  const ranked = [...circuit.edges].sort((a, b) => Math.abs(b.score) - Math.abs(a.score));
  const source = `a0.h${previousTokenHead.head}`;
  const target = `a1.h${inductionHead.head}`;
  const rank = ranked.findIndex((e) => e.source === source && e.target === target && e.input === 'k');
  const kComposition = rank >= 0 ? { score: ranked[rank]!.score, rank: rank + 1 } : null;
  const sentence =
    `Head L0H${previousTokenHead.head} is a previous-token head (score ${previousTokenHead.score.toFixed(2)}) and head ` +
    `L1H${inductionHead.head} is an induction head (score ${inductionHead.score.toFixed(2)}). ` +
    (kComposition
      ? `EAP ranks the edge L0H${previousTokenHead.head} → L1H${inductionHead.head} (key input) #${kComposition.rank} of ${ranked.length} edges (score ${kComposition.score.toFixed(3)}): the previous-token head feeds the induction head's keys, K-composition, as in Olsson et al. (2022).`
      : `EAP does not score an edge from L0H${previousTokenHead.head} into L1H${inductionHead.head}'s keys, so this run does not show the expected K-composition.`);
  return { previousTokenHead, inductionHead, kComposition, sentence };
}
