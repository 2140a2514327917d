import { ValueError, noGrad, softmax, tensor, topk } from '@glassbox/tensor';
import type { LoadedModel } from '../load-model.ts';
import type { Output } from '../output.ts';

export interface PredictOptions {
  text?: string;
  tokens?: string;
  top: string;
}

function parseTokens(raw: string, dVocab: number): number[] {
  const ids = raw.split(',').map((s) => Number(s.trim()));
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= dVocab);
  if (ids.length === 0 || bad !== undefined) {
    throw new ValueError('bad token ids', { op: 'predict', arg: '--tokens', expected: `comma-separated integers in [0, ${dVocab - 1}]`, given: JSON.stringify(raw) });
  }
  return ids;
}

/** `glassbox predict`: the model's top next tokens after a prompt, with logits and probabilities. */
export async function predictCommand(loaded: LoadedModel, options: PredictOptions, out: Output): Promise<void> {
  const { model, tokenizer } = loaded;
  if ((options.text === undefined) === (options.tokens === undefined)) {
    throw new ValueError('give exactly one prompt', { op: 'predict', arg: '--text | --tokens', expected: 'one of --text "…" or --tokens 1,2,3', given: 'both or neither' });
  }
  const top = Number(options.top);
  if (!Number.isInteger(top) || top < 1 || top > model.cfg.dVocab) {
    throw new ValueError('bad option value', { op: 'predict', arg: '--top', expected: `an integer in [1, ${model.cfg.dVocab}]`, given: JSON.stringify(options.top) });
  }
  let ids: number[];
  if (options.text !== undefined) {
    if (!tokenizer) throw new ValueError('this model has no tokenizer', { op: 'predict', arg: '--text', expected: 'a model folder with tokenizer.json or vocab.json + merges.txt, or --tokens', given: loaded.source });
    ids = tokenizer.encode(options.text);
  } else {
    ids = parseTokens(options.tokens!, model.cfg.dVocab);
  }
  const result = noGrad(() => {
    const logits = model.forward(tensor([ids], { dtype: 'int32' })); // [1, pos, d_vocab]
    const last = logits.reshape([-1, model.cfg.dVocab]).data().slice((ids.length - 1) * model.cfg.dVocab);
    const lastLogits = tensor(last);
    const probs = softmax(lastLogits).data();
    const best = topk(lastLogits, top);
    return Array.from(best.indices.data()).map((token, i) => ({ token, logit: best.values.data()[i]!, prob: probs[token]! }));
  });
  if (out.wantsJson) {
    out.json({ tokens: ids, top: result });
    return;
  }
  out.line(`${loaded.source}; prompt of ${ids.length} tokens`);
  for (const { token, logit, prob } of result) {
    const piece = tokenizer ? `  ${JSON.stringify(tokenizer.decode([token]))}` : '';
    out.line(`  ${String(token).padStart(6)}${piece}  logit ${logit.toFixed(4)}  prob ${prob.toFixed(4)}`);
  }
}
