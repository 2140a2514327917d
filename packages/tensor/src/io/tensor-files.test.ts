import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { arange, SafetensorsError, tensor } from '../index.ts';
import { loadTensors, saveTensors } from './index.ts';

describe('saveTensors / loadTensors', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('round-trips float32 and int32 tensors, including views', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'glassbox-io-'));
    dirs.push(dir);
    const path = join(dir, 'weights.safetensors');
    const w = arange(12, { dtype: 'float32' }).reshape([3, 4]).transpose();
    await saveTensors(path, { w, ids: tensor(new Int32Array([3, 1, 2])) }, { format: 'pt' });
    const loaded = await loadTensors(path);
    expect(loaded.w!.shape).toEqual([4, 3]);
    expect(loaded.w!.toArray()).toEqual(w.toArray());
    expect(loaded.ids!.dtype).toBe('int32');
    expect(Array.from(loaded.ids!.data())).toEqual([3, 1, 2]);
  });

  it('an unknown name is a SafetensorsError that suggests the nearest key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'glassbox-io-'));
    dirs.push(dir);
    const path = join(dir, 'w.safetensors');
    await saveTensors(path, { 'blocks.0.attn.W_Q': arange(4, { dtype: 'float32' }) });
    await expect(loadTensors(path, ['blocks.0.attn.W_K'])).rejects.toThrow(SafetensorsError);
    await expect(loadTensors(path, ['blocks.0.attn.W_K'])).rejects.toThrow(/blocks\.0\.attn\.W_Q/);
  });
});
