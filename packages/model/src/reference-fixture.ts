import { readFileSync } from 'node:fs';
import { type Tensor, parseSafetensors, tensor } from '@glassbox/tensor';
import { type TransformerConfig, configFromJSON } from './config.ts';

/** One reference run written by scripts/reference_transformer.py. */
export interface ReferenceRun {
  config: TransformerConfig;
  weights: Record<string, Tensor>;
  tokens: Tensor; // int32 [batch, pos]
  logits: Tensor; // [batch, pos, d_vocab_out]
  loss: number;
  /** Hook names in the order the reference reached them. */
  hooks: string[];
  acts: Record<string, Tensor>;
  grads: Record<string, Tensor>;
}

export const REFERENCE_RUNS = [
  'ln-standard-sequential',
  'rms-rotary-parallel',
  'rms-rotary-sequential',
  'ln-shortformer-attn-only',
  'none-standard-relu',
] as const;

/** Reads src/fixtures/transformer-<name>.safetensors. */
export function loadReferenceRun(name: string): ReferenceRun {
  const bytes = readFileSync(new URL(`./fixtures/transformer-${name}.safetensors`, import.meta.url));
  const { tensors, metadata } = parseSafetensors(new Uint8Array(bytes));
  const weights: Record<string, Tensor> = {};
  const acts: Record<string, Tensor> = {};
  const grads: Record<string, Tensor> = {};
  const get = (key: string): Tensor => {
    const raw = tensors[key];
    if (!raw) throw new Error(`fixture ${name} has no tensor ${key}`);
    return tensor(raw.data, { shape: raw.shape });
  };
  for (const key of Object.keys(tensors)) {
    const [kind, rest] = key.split(/:(.*)/s) as [string, string | undefined];
    if (rest === undefined) continue;
    const target = kind === 'weights' ? weights : kind === 'act' ? acts : grads;
    target[rest] = get(key);
  }
  return {
    config: configFromJSON(JSON.parse(metadata.config ?? '{}')),
    weights,
    tokens: get('tokens'),
    logits: get('logits'),
    loss: get('loss').item(),
    hooks: JSON.parse(metadata.hooks ?? '[]') as string[],
    acts,
    grads,
  };
}
