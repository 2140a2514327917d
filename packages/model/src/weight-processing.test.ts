import { type Tensor, logSoftmax } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { HookedTransformer } from './hooked-transformer.ts';
import { REFERENCE_RUNS, loadReferenceRun } from './reference-fixture.ts';
import { type ModelWeights, centerUnembed, centerWritingWeights, foldLayerNorm, foldValueBiases, processWeights } from './weight-processing.ts';

const TOL = { rtol: 1e-4, atol: 1e-4 };

function build({ config, stateDict }: ModelWeights): HookedTransformer {
  const model = new HookedTransformer(config);
  model.loadStateDict(stateDict);
  return model;
}

describe.each(REFERENCE_RUNS)('weight processing keeps the outputs (%s)', (name) => {
  const run = loadReferenceRun(name);
  const original: ModelWeights = { config: run.config, stateDict: run.weights };
  const logits = build(original).forward(run.tokens);
  const norm = run.config.normalizationType;
  const layerNorm = norm === 'LN';
  const shortformer = run.config.positionalEmbeddingType === 'shortformer';

  test.runIf(norm !== null && !shortformer)('foldLayerNorm: same logits, norms become Pre', () => {
    const folded = foldLayerNorm(original);
    expect(folded.config.normalizationType).toBe(norm === 'LN' ? 'LNPre' : 'RMSPre');
    expect(Object.keys(folded.stateDict).some((k) => /ln(1|2|_final)\.[wb]$/.test(k))).toBe(false);
    assertAllClose(build(folded).forward(run.tokens), logits.data(), TOL, 'logits');
  });

  test.runIf(shortformer)('foldLayerNorm refuses shortformer models', () => {
    expect(() => foldLayerNorm(original)).toThrow(/shortformer/);
  });

  test.runIf(layerNorm || norm === 'LNPre')('centerWritingWeights: same logits, centred writers', () => {
    const centred = centerWritingWeights(original);
    assertAllClose(build(centred).forward(run.tokens), logits.data(), TOL, 'logits');
    const meanAbs = (t: Tensor) => Math.abs(t.mean(-1).abs().max().item());
    expect(meanAbs(centred.stateDict['embed.W_E']!)).toBeLessThan(1e-6);
    expect(meanAbs(centred.stateDict['blocks.0.attn.W_O']!)).toBeLessThan(1e-6);
  });

  test.runIf(!layerNorm)('centerWritingWeights needs LayerNorm', () => {
    expect(() => centerWritingWeights(original)).toThrow(/LayerNorm/);
  });

  test('centerUnembed: same log-probabilities', () => {
    const centred = centerUnembed(original);
    assertAllClose(logSoftmax(build(centred).forward(run.tokens), -1), logSoftmax(logits, -1).data(), TOL, 'log-probs');
  });

  test('foldValueBiases: same logits, zero value biases', () => {
    const folded = foldValueBiases(original);
    expect(Array.from(folded.stateDict['blocks.1.attn.b_V']!.data()).every((v) => v === 0)).toBe(true);
    assertAllClose(build(folded).forward(run.tokens), logits.data(), TOL, 'logits');
  });

  test('processWeights: all of them together', () => {
    const processed = processWeights(build(original));
    assertAllClose(logSoftmax(processed.forward(run.tokens), -1), logSoftmax(logits, -1).data(), TOL, 'log-probs');
  });
});

test('folding into a model without attention biases creates them', () => {
  const model = new HookedTransformer({ nLayers: 1, dModel: 8, nHeads: 2, dVocab: 6, nCtx: 4, attnBias: false, seed: 3 });
  const sd = model.stateDict();
  sd['blocks.0.ln1.b'] = sd['blocks.0.ln1.b']!.add(0.3);
  model.loadStateDict(sd);
  const folded = foldLayerNorm({ config: model.cfg, stateDict: model.stateDict() });
  expect(folded.config.attnBias).toBe(true);
  const tokens = [[1, 2, 3, 4]];
  assertAllClose(build(folded).forward(tokens), model.forward(tokens).data(), TOL);
});
