import { ValueError } from '@glassbox/tensor';
import { describe, expect, it } from 'vitest';
import { type OptionsSchema, resolveOptions } from './options.ts';

const schema = {
  steps: { type: 'integer', default: 100, min: 1, description: 'training steps' },
  lr: { type: 'number', default: 1e-3, min: 0, description: 'learning rate' },
  arch: { type: 'enum', default: 'topk', choices: ['standard', 'topk', 'jumprelu'], description: 'architecture' },
  widths: { type: 'list', default: [256], integer: true, min: 1, description: 'dictionary sizes' },
  resume: { type: 'boolean', default: false, description: 'resume' },
} as const satisfies OptionsSchema;

describe('resolveOptions', () => {
  it('fills defaults and parses command-line strings', () => {
    const options = resolveOptions('train-sae', schema, { steps: '250', widths: '128, 512', resume: 'true' });
    expect(options).toEqual({ steps: 250, lr: 1e-3, arch: 'topk', widths: [128, 512], resume: true });
  });

  it('rejects an unknown option and suggests the nearest name', () => {
    expect(() => resolveOptions('train-sae', schema, { step: 5 })).toThrow(ValueError);
    expect(() => resolveOptions('train-sae', schema, { step: 5 })).toThrow(/unknown option; argument `step`.*Did you mean `steps`\?/);
  });

  it('names the option, the expectation and the value on a bad value', () => {
    expect(() => resolveOptions('train-sae', schema, { steps: '0' })).toThrow(/argument `steps`; expected an integer >= 1; given "0"/);
    expect(() => resolveOptions('train-sae', schema, { lr: 'fast' })).toThrow(/argument `lr`/);
    expect(() => resolveOptions('train-sae', schema, { arch: 'topK' })).toThrow(/Did you mean `topk`\?/);
    expect(() => resolveOptions('train-sae', schema, { widths: '128,x' })).toThrow(/comma-separated list of integers/);
  });
});
