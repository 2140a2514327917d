import { type Tensor, add, gather, mean, narrow, noGrad, sub, sum, tensor } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { describe, expect, test } from 'vitest';
import { LayerNorm } from './components/layer-norm.ts';
import { HookedTransformer } from './hooked-transformer.ts';
import { REFERENCE_RUNS, loadReferenceRun } from './reference-fixture.ts';
import { processWeights } from './weight-processing.ts';

const TOL = { rtol: 1e-4, atol: 1e-4 };

function setup(name: string) {
  const run = loadReferenceRun(name);
  const model = new HookedTransformer(run.config);
  model.loadStateDict(run.weights);
  return { run, model, tokens: run.tokens, ...model.runWithCache(run.tokens) };
}

describe.each(REFERENCE_RUNS)('ActivationCache helpers (%s)', (name) => {
  const { model, cache } = setup(name);
  const n = model.cfg.nLayers;

  test('decomposeResid: the parts sum to the residual stream each layer reads', () => {
    const all = cache.decomposeResid();
    expect(all.labels.slice(-2)).toEqual(model.cfg.attnOnly ? ['0_attn_out', '1_attn_out'] : ['1_attn_out', '1_mlp_out']);
    expect(all.labels[0]).toBe('embed');
    expect(all.labels.includes('pos_embed')).toBe(model.cfg.positionalEmbeddingType === 'standard');
    assertAllClose(sum(all.stack, 0), cache.get(`blocks.${n - 1}.hook_resid_post`).data(), TOL);
    const first = cache.decomposeResid({ layer: 1 });
    assertAllClose(sum(first.stack, 0), cache.get('blocks.1.hook_resid_pre').data(), TOL);
    const attnOnly = cache.decomposeResid({ mode: 'attn', inclEmbeds: false });
    expect(attnOnly.labels).toEqual(['0_attn_out', '1_attn_out']);
  });

  test('accumulatedResid: resid_pre of each layer, then the final resid_post', () => {
    const acc = cache.accumulatedResid({ inclMid: true });
    const mids = model.cfg.attnOnly || model.cfg.parallelAttnMlp ? [] : ['0_mid'];
    expect(acc.labels).toEqual(['0_pre', ...mids, '1_pre', ...(mids.length ? ['1_mid'] : []), 'final_post']);
    expect(acc.stack.shape).toEqual([acc.labels.length, 2, 6, model.cfg.dModel]);
    assertAllClose(narrow(acc.stack, 0, acc.labels.length - 1, 1), cache.get('blocks.1.hook_resid_post').data());
    expect(cache.accumulatedResid({ layer: 1 }).labels).toEqual(['0_pre', '1_pre']);
  });

  test('stackHeadResults: heads of a layer plus b_O give attn_out, from hook_result or from hook_z', () => {
    const { stack, labels } = cache.stackHeadResults();
    const h = model.cfg.nHeads;
    expect(labels.slice(0, 2)).toEqual(['L0H0', 'L0H1']);
    expect(stack.shape).toEqual([n * h, 2, 6, model.cfg.dModel]);
    for (let l = 0; l < n; l++) {
      const heads = sum(narrow(stack, 0, l * h, h), 0);
      assertAllClose(add(heads, model.blocks.at(l).attn.b_O!), cache.get(`blocks.${l}.hook_attn_out`).data(), TOL);
    }
    const withoutResult = model.runWithCache(loadReferenceRun(name).tokens, { namesFilter: (hook) => !hook.endsWith('hook_result') }).cache;
    expect(withoutResult.has('blocks.0.attn.hook_result')).toBe(false);
    assertAllClose(withoutResult.stackHeadResults().stack, stack.data(), TOL);
  });

  test.runIf(model.cfg.normalizationType !== null)('applyLnToStack reproduces ln_final on the final residual stream (up to w and b)', () => {
    const final = cache.accumulatedResid({ applyLn: true }).stack;
    const last = narrow(final, 0, 2, 1).squeeze(0);
    const ln = model.ln_final!;
    const normalized = cache.get('ln_final.hook_normalized');
    // LayerNorm hooks its output after w and b; RMSNorm hooks it before its weight.
    const expected = ln instanceof LayerNorm && ln.w && ln.b ? noGrad(() => sub(normalized, ln.b!).div(ln.w!)) : normalized;
    assertAllClose(last, expected.data(), { rtol: 1e-3, atol: 1e-4 });
  });
});

describe('direct logit attribution', () => {
  test.each(['ln-standard-sequential', 'rms-rotary-sequential', 'none-standard-relu'])('%s: attributions over all parts, plus b_U, are the logits', (name) => {
    const run = loadReferenceRun(name);
    const original = new HookedTransformer(run.config);
    original.loadStateDict(run.weights);
    const model = processWeights(original, { centerUnembed: false });
    const { logits, cache } = model.runWithCache(run.tokens);
    const targets = tensor([
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10, 11, 12],
    ], { dtype: 'int32' });
    const { stack } = cache.decomposeResid();
    const attrs = cache.logitAttrs(stack, targets);
    expect(attrs.shape).toEqual([stack.shape[0], 2, 6]);
    const pick = (t: Tensor, ids: Tensor) => gather(t, 2, ids.reshape([2, 6, 1])).squeeze(-1);
    const bias = pick(model.unembed.b_U.reshape([1, 1, -1]).expand([2, 6, model.cfg.dVocabOut]), targets);
    assertAllClose(add(sum(attrs, 0), bias), pick(logits, targets).data(), TOL);

    // Against another token, the attributions are of the logit difference.
    const other = tensor([0, 19], { dtype: 'int32' });
    const diff = cache.logitAttrs(stack, targets, other);
    const otherLogit = pick(logits, other.reshape([2, 1]).expand([2, 6]).contiguous());
    const otherBias = pick(model.unembed.b_U.reshape([1, 1, -1]).expand([2, 6, model.cfg.dVocabOut]), other.reshape([2, 1]).expand([2, 6]).contiguous());
    assertAllClose(add(sum(diff, 0), sub(bias, otherBias)), sub(pick(logits, targets), otherLogit).data(), TOL);

    // The per-head stack splits the attention parts further.
    const heads = cache.logitAttrs(cache.stackHeadResults().stack, targets);
    expect(heads.shape[0]).toBe(model.cfg.nLayers * model.cfg.nHeads);
    expect(Number.isFinite(mean(heads).item())).toBe(true);
  });
});
