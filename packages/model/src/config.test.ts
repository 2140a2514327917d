import { describe, expect, test } from 'vitest';
import { ConfigError, configFromJSON, configToJSON, type TransformerConfigInput, transformerConfig } from './config.ts';

const base = { nLayers: 2, dModel: 16, nHeads: 4, dVocab: 20, nCtx: 8 };

function configError(input: unknown): ConfigError {
  try {
    transformerConfig(input as TransformerConfigInput);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('transformerConfig', () => {
  test("fills in TransformerLens's defaults", () => {
    const cfg = transformerConfig(base);
    expect(cfg).toMatchObject({
      dHead: 4,
      dMlp: 64,
      dVocabOut: 20,
      actFn: 'gelu',
      normalizationType: 'LN',
      positionalEmbeddingType: 'standard',
      rotaryDim: null,
      attnOnly: false,
      parallelAttnMlp: false,
      attnBias: true,
      attnScale: 2,
      eps: 1e-5,
      seed: 0,
    });
    expect(cfg.initRange).toBeCloseTo(0.8 / 4);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  test('attention-only models have no MLP width or activation', () => {
    expect(transformerConfig({ ...base, attnOnly: true })).toMatchObject({ dMlp: null, actFn: null });
  });

  test('rotary defaults rotaryDim to dHead and checks it', () => {
    expect(transformerConfig({ ...base, positionalEmbeddingType: 'rotary' }).rotaryDim).toBe(4);
    const e = configError({ ...base, positionalEmbeddingType: 'rotary', rotaryDim: 3 });
    expect(e.arg).toBe('rotaryDim');
    expect(e.expected).toContain('even');
    expect(e.given).toBe('3');
  });

  test('errors name the field, what was expected and what was given', () => {
    const e = configError({ ...base, dModel: 0 });
    expect([e.arg, e.expected, e.given]).toEqual(['dModel', 'an integer >= 1', '0']);
    expect(e.message).toContain('dModel');
    expect(configError({ ...base, nHeads: 2.5 }).arg).toBe('nHeads');
    expect(configError({ ...base, nHeads: 3 }).arg).toBe('dHead');
    expect(configError({ ...base, eps: -1 }).arg).toBe('eps');
    expect(configError({ ...base, attnOnly: 'yes' }).arg).toBe('attnOnly');
    expect(configError({ ...base, attnOnly: true, parallelAttnMlp: true }).arg).toBe('parallelAttnMlp');
  });

  test('a misspelt option value or field suggests the nearest valid one', () => {
    const act = configError({ ...base, actFn: 'gelu-new' });
    expect(act.arg).toBe('actFn');
    expect(act.suggestions).toContain('gelu_new');
    const field = configError({ ...base, d_model: 16 });
    expect(field.arg).toBe('d_model');
    expect(field.suggestions).toContain('dModel');
    expect(configError({ ...base, normalizationType: 'layernorm' }).expected).toContain("'LN'");
  });

  test('a missing required field is reported', () => {
    const { nCtx: _, ...rest } = base;
    const e = configError(rest);
    expect([e.arg, e.given]).toEqual(['nCtx', 'nothing']);
  });

  test('round-trips through JSON', () => {
    const cfg = transformerConfig({ ...base, positionalEmbeddingType: 'rotary', rotaryDim: 2, normalizationType: null, actFn: 'silu' });
    expect(configFromJSON(JSON.parse(JSON.stringify(configToJSON(cfg))))).toEqual(cfg);
    expect(transformerConfig(cfg)).toEqual(cfg);
  });
});
