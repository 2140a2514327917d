import { Generator, tensor } from '@glassbox/tensor';
import { describe, expect, test } from 'vitest';
import { HookedTransformer } from '../hooked-transformer.ts';
import { BOS, InductionLanguage, inductionModelConfig, inductionReport, repeatedRandomTokens, trainInduction } from './induction.ts';

describe('induction language', () => {
  test('is deterministic given the seeds, and has a repeated segment where asked', () => {
    const language = new InductionLanguage({ dVocab: 20, seqLen: 21, seed: 4, repeatFraction: 1, maxPrefix: 0, maxGap: 0 });
    const a = language.batch(Generator.fromSeed(1), 8).toArray() as number[][];
    const b = language.batch(Generator.fromSeed(1), 8).toArray() as number[][];
    expect(a).toEqual(b);
    for (const row of a) {
      expect(row[0]).toBe(BOS);
      expect(row.slice(1).every((t) => t >= 1 && t < 20)).toBe(true);
      // Some length L in [4, 10] has row[1..L] repeated at row[L+1..2L].
      const repeated = [4, 5, 6, 7, 8, 9, 10].some((L) => row.slice(1, 1 + L).every((t, i) => row[1 + L + i] === t));
      expect(repeated).toBe(true);
    }
  });

  test('bigram rows are distributions with a few preferred successors', () => {
    const language = new InductionLanguage({ dVocab: 12, seqLen: 9, seed: 2 });
    for (let prev = 0; prev < 12; prev++) {
      const row = Array.from({ length: 12 }, (_, next) => language.bigramProbability(prev, next));
      expect(row[BOS]).toBe(0);
      expect(row.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 6);
      expect(Math.max(...row)).toBeGreaterThan(0.2);
    }
  });

  test('rejects impossible segment lengths', () => {
    expect(() => new InductionLanguage({ dVocab: 12, seqLen: 9, maxSegment: 5 })).toThrow(/maxSegment/);
  });

  test('repeated random tokens are BOS, r, r', () => {
    const tokens = repeatedRandomTokens(Generator.fromSeed(0), { batch: 3, halfLen: 5, dVocab: 9 }).toArray() as number[][];
    for (const row of tokens) {
      expect(row).toHaveLength(11);
      expect(row[0]).toBe(BOS);
      expect(row.slice(6)).toEqual(row.slice(1, 6));
    }
  });
});

describe('induction metrics', () => {
  test('a perfect induction pattern scores 1, a previous-token pattern scores 1 as previous-token head', () => {
    const model = new HookedTransformer(inductionModelConfig({ dModel: 8, nHeads: 2, nCtx: 11, dVocab: 9 }));
    const tokens = repeatedRandomTokens(Generator.fromSeed(0), { batch: 2, halfLen: 5, dVocab: 9 });
    const n = 11;
    const pattern = (offset: (q: number) => number) => {
      const values = new Float32Array(2 * 2 * n * n);
      for (let bh = 0; bh < 4; bh++) for (let q = 0; q < n; q++) values[bh * n * n + q * n + Math.max(0, offset(q))] = 1;
      return tensor(values, { shape: [2, 2, n, n] });
    };
    const report = model.withHooks(
      {
        fwdHooks: [
          ['blocks.0.attn.hook_pattern', () => pattern((q) => q - 1)],
          ['blocks.1.attn.hook_pattern', () => pattern((q) => (q > 5 ? q - 4 : 0))],
        ],
      },
      () => inductionReport(model, tokens),
    );
    expect(report.inductionScores[1]).toEqual([1, 1]);
    expect(report.prevTokenScores[0]).toEqual([1, 1]);
    expect(report.inductionScores[0]![0]).toBeLessThan(0.2);
    expect(report.bestInductionHead).toMatchObject({ layer: 1, score: 1 });
  });
});

describe('the induction organism', () => {
  test('a small 2-layer attention-only model forms an induction head', async () => {
    const started = performance.now();
    const evals: number[] = [];
    const { report, result } = await trainInduction({
      dModel: 32,
      nHeads: 2,
      nCtx: 17,
      dVocab: 16,
      batch: 24,
      steps: 300,
      lr: 2e-2,
      seed: 0,
      language: { repeatFraction: 1 },
      onProgress: (p) => {
        if (p.eval) evals.push(p.eval.inductionScore!);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    expect(result.completed).toBe(true);
    expect(evals).toHaveLength(10);
    // On repeated random tokens: a layer-1 head attends to the token after the previous occurrence...
    expect(report.bestInductionHead.layer).toBe(1);
    expect(report.bestInductionHead.score).toBeGreaterThan(0.4);
    // ...so the second copy is predicted well, while the first stays near chance (ln 15 = 2.71).
    expect(report.firstHalfLoss).toBeGreaterThan(0.8 * Math.log(15));
    expect(report.secondHalfLoss).toBeLessThan(0.5 * report.firstHalfLoss);
    console.log(`induction organism: ${seconds.toFixed(1)} s, layer-1 score ${report.bestInductionHead.score.toFixed(2)}, halves ${report.firstHalfLoss.toFixed(2)} / ${report.secondHalfLoss.toFixed(2)}`);
  });
});
