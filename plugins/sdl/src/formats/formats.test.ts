import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, type Tensor, loadTensors, randn, saveTensors, tensor } from '@glassbox/tensor';
import { assertAllClose } from '@glassbox/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHITECTURES, saeConfig } from '../sae/config.ts';
import { createSae } from '../sae/create.ts';
import { SaeFormatError } from './format-error.ts';
import { hookNameFromModulePath } from './hook-names.ts';
import { detectSaeFormat, loadSae } from './load.ts';
import { loadSaeLens, saveSaeLens, toSaeLensConfig } from './saelens.ts';
import { loadSparsify } from './sparsify.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
let expected: Record<string, Tensor>;
let scratch: string;

beforeAll(async () => {
  expected = await loadTensors(join(FIXTURES, 'expected.safetensors'));
  scratch = await mkdtemp(join(tmpdir(), 'sdl-formats-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('cross-loading folders written by PyTorch', () => {
  const cases = [
    ['saelens-v6-standard', 'standard', 'standard', 'blocks.1.hook_resid_pre'],
    ['saelens-v6-topk', 'topk', 'topk', 'blocks.0.hook_mlp_out'],
    ['saelens-v6-jumprelu', 'jumprelu', 'jumprelu', 'blocks.1.hook_resid_post'],
    ['saelens-v6-gated', 'gated', 'gated', 'blocks.0.hook_resid_post'],
    ['saelens-pre-v6-topk', 'pre-v6', 'topk', 'blocks.1.hook_resid_pre'],
    ['sparsify/layers.2', 'sparsify', 'topk', 'blocks.2.hook_resid_post'],
  ] as const;
  for (const [folder, key, architecture, hook] of cases) {
    it(`${folder}: encode and decode match the reference`, async () => {
      const sae = await loadSae(join(FIXTURES, folder));
      expect(sae.architecture).toBe(architecture);
      expect(sae.hookName).toBe(hook);
      expect([sae.dIn, sae.dSae]).toEqual([6, 10]);
      const latents = sae.encode(expected.x!);
      assertAllClose(latents, expected[`${key}.latents`]!.data(), { rtol: 1e-4, atol: 1e-5 }, 'latents');
      assertAllClose(sae.decode(latents), expected[`${key}.recon`]!.data(), { rtol: 1e-4, atol: 1e-5 }, 'reconstruction');
    });
  }

  it('keeps v6 metadata and reads pre-v6 flat fields', async () => {
    const v6 = await loadSaeLens(join(FIXTURES, 'saelens-v6-standard'));
    expect(v6.config.metadata).toMatchObject({ model_name: 'fixture-model', context_size: 16, prepend_bos: true });
    const pre = await loadSaeLens(join(FIXTURES, 'saelens-pre-v6-topk'));
    expect(pre.config).toMatchObject({ k: 3, applyBDecToInput: false, normalizeActivations: 'none', metadata: { hook_head_index: null, model_name: 'fixture-model' } });
  });

  it('detects the format and maps sparsify hook points', async () => {
    expect(await detectSaeFormat(join(FIXTURES, 'sparsify/layers.2'))).toBe('sparsify');
    expect(await detectSaeFormat(join(FIXTURES, 'saelens-v6-topk'))).toBe('saelens');
    expect(hookNameFromModulePath('layers.4.mlp')).toBe('blocks.4.hook_mlp_out');
    expect(hookNameFromModulePath('gpt_neox.layers.1.attention')).toBe('blocks.1.hook_attn_out');
    expect(hookNameFromModulePath('embed_in')).toBe('embed_in');
    const sae = await loadSparsify(join(FIXTURES, 'sparsify/layers.2'), { hookName: 'blocks.2.hook_resid_mid' });
    expect(sae.hookName).toBe('blocks.2.hook_resid_mid');
  });
});

describe('SAELens v6 round trip', () => {
  for (const architecture of ARCHITECTURES) {
    it(`${architecture}: save then load gives the same weights and outputs`, async () => {
      const config = saeConfig({ architecture, dIn: 5, dSae: 8, k: 2, hookName: 'blocks.0.hook_resid_pre', metadata: { model_name: 'm', context_size: 32 } });
      const sae = createSae(config, { generator: Generator.fromSeed(3) });
      // Nonzero biases and thresholds, so the round trip is tested on every tensor.
      for (const [name, p] of sae.namedParameters()) if (p.rank === 1) p.copyFrom(name === 'log_threshold' ? tensor(Array.from({ length: 8 }, (_, i) => -3 + i * 0.1)) : randn([p.shape[0]!], { generator: Generator.fromSeed(p.shape[0]! + name.length) }));
      if (architecture === 'batchtopk' || architecture === 'matryoshka_batchtopk') sae.loadStateDict({ ...sae.stateDict(), topk_threshold: tensor([0.25]).reshape([]) });
      const dir = join(scratch, `round-${architecture}`);
      await saveSaeLens(sae, dir);
      const cfg = JSON.parse(await readFile(join(dir, 'cfg.json'), 'utf8'));
      expect(Object.keys(cfg)).toEqual(expect.arrayContaining(['architecture', 'd_in', 'd_sae', 'dtype', 'apply_b_dec_to_input', 'normalize_activations', 'reshape_activations', 'metadata']));
      expect(cfg.metadata).toMatchObject({ hook_name: 'blocks.0.hook_resid_pre', model_name: 'm', context_size: 32 });
      const back = await loadSaeLens(dir);
      expect(back.architecture).toBe(architecture);
      expect(back.config).toEqual(sae.config);
      for (const [name, t] of Object.entries(sae.exportTensors())) assertAllClose(back.exportTensors()[name]!, t.data(), { rtol: 1e-6, atol: 1e-7 }, name);
      const x = randn([4, 5], { generator: Generator.fromSeed(9) });
      assertAllClose(back.forward(x), sae.forward(x).data(), { rtol: 1e-5, atol: 1e-6 }, 'forward');
    });
  }

  it('writes batchtopk in its SAELens inference form', () => {
    const sae = createSae(saeConfig({ architecture: 'batchtopk', dIn: 4, dSae: 6, k: 2, hookName: 'h' }));
    const cfg = toSaeLensConfig(sae);
    expect(cfg.architecture).toBe('jumprelu');
    expect(cfg.glassbox_architecture).toBe('batchtopk');
    expect(sae.exportTensors().threshold!.shape).toEqual([6]);
  });
});

describe('malformed folders give errors that name the file, field and expectation', () => {
  async function folderWith(name: string, cfg: unknown, weights?: Record<string, Tensor>): Promise<string> {
    const dir = join(scratch, name);
    await cp(join(FIXTURES, 'saelens-v6-standard'), dir, { recursive: true });
    await writeFile(join(dir, 'cfg.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg));
    if (weights) await saveTensors(join(dir, 'sae_weights.safetensors'), weights);
    return dir;
  }
  const good = async () => JSON.parse(await readFile(join(FIXTURES, 'saelens-v6-standard', 'cfg.json'), 'utf8'));

  it('a missing field', async () => {
    const cfg = await good();
    delete cfg.d_in;
    await expect(loadSaeLens(await folderWith('no-d-in', cfg))).rejects.toThrow(/cfg\.json: bad config field `d_in`.*expected a positive integer; given nothing/);
  });

  it('a field of the wrong type', async () => {
    const cfg = { ...(await good()), apply_b_dec_to_input: 'yes' };
    const error = await loadSaeLens(await folderWith('bad-bool', cfg)).catch((e) => e);
    expect(error).toBeInstanceOf(SaeFormatError);
    expect(error.arg).toBe('apply_b_dec_to_input');
    expect(error.message).toMatch(/expected true or false; given string "yes"/);
  });

  it('an unknown architecture, with a suggestion', async () => {
    const cfg = { ...(await good()), architecture: 'jumprelu_' };
    await expect(loadSaeLens(await folderWith('bad-arch', cfg))).rejects.toThrow(/`architecture`.*given string "jumprelu_"/);
    const transcoder = { ...(await good()), architecture: 'skip_transcoder' };
    await expect(loadSaeLens(await folderWith('transcoder', transcoder))).rejects.toThrow(/transcoder plugin/);
  });

  it('a missing hook name and invalid JSON', async () => {
    const cfg = await good();
    delete cfg.metadata.hook_name;
    await expect(loadSaeLens(await folderWith('no-hook', cfg))).rejects.toThrow(/metadata\.hook_name/);
    await expect(loadSaeLens(await folderWith('bad-json', '{"d_in": 6,'))).rejects.toThrow(/cfg\.json: the config is not valid JSON/);
  });

  it('a missing or misshapen tensor, and a missing weights file', async () => {
    const weights = await loadTensors(join(FIXTURES, 'saelens-v6-standard', 'sae_weights.safetensors'));
    const { b_enc: _, ...noBias } = weights;
    await expect(loadSaeLens(await folderWith('no-benc', await good(), noBias))).rejects.toThrow(/sae_weights\.safetensors: missing tensor `b_enc`.*expected a tensor of shape \[10\]/);
    await expect(loadSaeLens(await folderWith('bad-shape', await good(), { ...weights, W_dec: randn([6, 10]) }))).rejects.toThrow(/tensor `W_dec` has the wrong shape.*expected \[10, 6\]; given \[6, 10\]/);
    const dir = await folderWith('no-weights', await good());
    await rm(join(dir, 'sae_weights.safetensors'));
    await expect(loadSae(dir)).rejects.toThrow(/not an SAE folder/);
    await writeFile(join(dir, 'sae_weights.safetensors'), 'garbage');
    await expect(loadSaeLens(dir)).rejects.toThrow(/sae_weights\.safetensors: cannot read the weights/);
  });

  it('a sparsify skip connection and an out-of-range k', async () => {
    const dir = join(scratch, 'sparsify-skip', 'layers.2');
    await cp(join(FIXTURES, 'sparsify/layers.2'), dir, { recursive: true });
    const cfg = JSON.parse(await readFile(join(dir, 'cfg.json'), 'utf8'));
    await writeFile(join(dir, 'cfg.json'), JSON.stringify({ ...cfg, skip_connection: true }));
    await expect(loadSparsify(dir)).rejects.toThrow(/`skip_connection`/);
    await writeFile(join(dir, 'cfg.json'), JSON.stringify({ ...cfg, k: 99 }));
    await expect(loadSparsify(dir)).rejects.toThrow(/`k`.*given number 99/);
  });
});
