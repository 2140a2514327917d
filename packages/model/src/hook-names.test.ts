import { describe, expect, test } from 'vitest';
import { transformerConfig } from './config.ts';
import { HOOK_SHAPES, HookNameError, actName, hookShape, hookTemplate } from './hook-names.ts';

describe('actName', () => {
  test.each([
    [['z', 3], 'blocks.3.attn.hook_z'],
    [['q', 0], 'blocks.0.attn.hook_q'],
    [['rot_k', 1], 'blocks.1.attn.hook_rot_k'],
    [['pattern', 2], 'blocks.2.attn.hook_pattern'],
    [['attn', 2], 'blocks.2.attn.hook_pattern'],
    [['attn_scores', 0], 'blocks.0.attn.hook_attn_scores'],
    [['result', 0], 'blocks.0.attn.hook_result'],
    [['resid_pre', 0], 'blocks.0.hook_resid_pre'],
    [['resid_mid', 4], 'blocks.4.hook_resid_mid'],
    [['resid_post', 1], 'blocks.1.hook_resid_post'],
    [['attn_out', 1], 'blocks.1.hook_attn_out'],
    [['mlp_out', 1], 'blocks.1.hook_mlp_out'],
    [['pre', 1], 'blocks.1.mlp.hook_pre'],
    [['mlp_post', 1], 'blocks.1.mlp.hook_post'],
    [['scale', 2, 'ln2'], 'blocks.2.ln2.hook_scale'],
    [['normalized', 0, 'ln1'], 'blocks.0.ln1.hook_normalized'],
    [['scale'], 'ln_final.hook_scale'],
    [['embed'], 'hook_embed'],
    [['pos_embed'], 'hook_pos_embed'],
    [['k6'], 'blocks.6.attn.hook_k'],
    [['scale4ln1'], 'blocks.4.ln1.hook_scale'],
    [['blocks.0.hook_resid_pre'], 'blocks.0.hook_resid_pre'],
  ] as const)('actName(%j) is %s', (args, expected) => {
    expect(actName(...(args as unknown as [string, number?, string?]))).toBe(expected);
  });

  test('an unknown short name suggests the nearest ones', () => {
    try {
      actName('resid_prr', 0);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HookNameError);
      expect((e as HookNameError).suggestions).toContain('resid_pre');
    }
  });

  test('layer-level names need a layer; norm names need a layer type', () => {
    expect(() => actName('z')).toThrow(/needs a layer/);
    expect(() => actName('scale', 1)).toThrow(/layer type/);
    expect(() => actName('z', -1)).toThrow(/invalid layer/);
  });
});

describe('hook shapes', () => {
  const cfg = transformerConfig({ nLayers: 2, dModel: 16, nHeads: 4, dHead: 5, dMlp: 24, dVocab: 20, nCtx: 8 });

  test('every concrete name maps to its documented template', () => {
    expect(hookTemplate('blocks.11.attn.hook_z')).toBe('blocks.{l}.attn.hook_z');
    expect(hookTemplate('ln_final.hook_scale')).toBe('ln_final.hook_scale');
    expect(hookTemplate('blocks.0.attn.hook_zz')).toBeUndefined();
  });

  test('shapes resolve from the configuration', () => {
    expect(hookShape('blocks.1.attn.hook_z', cfg, 2, 7)).toEqual([2, 7, 4, 5]);
    expect(hookShape('blocks.1.attn.hook_pattern', cfg, 2, 7)).toEqual([2, 4, 7, 7]);
    expect(hookShape('blocks.1.attn.hook_result', cfg, 2, 7)).toEqual([2, 7, 4, 16]);
    expect(hookShape('blocks.0.mlp.hook_post', cfg, 2, 7)).toEqual([2, 7, 24]);
    expect(hookShape('blocks.0.ln2.hook_scale', cfg, 2, 7)).toEqual([2, 7, 1]);
    expect(Object.keys(HOOK_SHAPES)).toHaveLength(24);
    expect(() => hookShape('blocks.0.hook_resid', cfg, 1, 1)).toThrow(HookNameError);
  });
});
