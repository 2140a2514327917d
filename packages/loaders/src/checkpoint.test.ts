import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HookedTransformer } from '@glassbox/model';
import { Generator, SafetensorsFile, writeSafetensors } from '@glassbox/tensor';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CheckpointSeries } from './checkpoint-series.ts';
import { loadPretrained, loadWeightsInto } from './checkpoint.ts';
import { describeModel } from './describe-model.ts';
import { CheckpointError } from './errors.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/hf/', import.meta.url));
const GPT2 = join(FIXTURES, 'gpt2-tiny');
const PYTHIA = join(FIXTURES, 'pythia-tiny');

let scratch: string;
let counter = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'glassbox-loaders-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of a fixture folder, with its weights passed through `edit` when given. */
async function variant(source: string, edit?: (tensors: Record<string, { dtype: 'float32' | 'int32'; shape: number[]; data: Float32Array | Int32Array }>) => void): Promise<string> {
  const folder = join(scratch, `v${counter++}`);
  await cp(source, folder, { recursive: true });
  if (edit) {
    const file = await SafetensorsFile.open(join(folder, 'model.safetensors'));
    const tensors = await file.readAll();
    await file.close();
    edit(tensors);
    await writeSafetensors(join(folder, 'model.safetensors'), tensors);
  }
  return folder;
}

async function editConfig(folder: string, edit: (cfg: Record<string, unknown>) => void): Promise<void> {
  const path = join(folder, 'config.json');
  const cfg = JSON.parse(await readFile(path, 'utf8'));
  edit(cfg);
  await writeFile(path, JSON.stringify(cfg));
}

async function failure(promise: Promise<unknown>): Promise<CheckpointError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  return error as CheckpointError;
}

describe('loading errors name the key, the file and the expectation', () => {
  it('a missing key', async () => {
    const folder = await variant(GPT2, (t) => {
      delete t['h.1.mlp.c_fc.bias'];
    });
    const e = await failure(loadPretrained(folder));
    expect(e.kind).toBe('missing-key');
    expect(e.key).toBe('h.1.mlp.c_fc.bias');
    expect(e.message).toContain(folder);
    expect(e.message).toContain('blocks.1.mlp.b_in');
    expect(e.message).toContain('[64]');
  });

  it('a shape mismatch', async () => {
    const folder = await variant(PYTHIA, (t) => {
      t['gpt_neox.layers.0.attention.dense.weight'] = { dtype: 'float32', shape: [32, 16], data: new Float32Array(512) };
    });
    const e = await failure(loadPretrained(folder));
    expect(e.kind).toBe('shape-mismatch');
    expect(e.key).toBe('gpt_neox.layers.0.attention.dense.weight');
    expect(e.file).toBe(join(folder, 'model.safetensors'));
    expect(e.message).toMatch(/expected \[32, 32\]; given \[32, 16\]/);
  });

  it('an unexpected key', async () => {
    const folder = await variant(GPT2, (t) => {
      t['h.0.attn.q_proj.weight'] = { dtype: 'float32', shape: [1], data: new Float32Array(1) };
    });
    const e = await failure(loadPretrained(folder));
    expect(e.kind).toBe('unexpected-key');
    expect(e.key).toBe('h.0.attn.q_proj.weight');
  });

  it('an unknown model_type, with the nearest known one', async () => {
    const folder = await variant(GPT2);
    await editConfig(folder, (cfg) => {
      cfg.model_type = 'gpt_neo';
    });
    const e = await failure(loadPretrained(folder));
    expect(e.kind).toBe('unknown-model-type');
    expect(e.file).toBe(join(folder, 'config.json'));
    expect(e.message).toMatch(/"gpt2", "gpt_neox"/);
    expect(e.suggestions.length).toBeGreaterThan(0);
  });

  it('an unsupported or invalid config field', async () => {
    const folder = await variant(PYTHIA);
    await editConfig(folder, (cfg) => {
      cfg.rotary_pct = 0.1;
    });
    expect((await failure(loadPretrained(folder))).key).toBe('rotary_pct');
    await editConfig(folder, (cfg) => {
      cfg.rotary_pct = 0.25;
      cfg.hidden_size = 'big';
    });
    const e = await failure(loadPretrained(folder));
    expect([e.kind, e.key]).toEqual(['bad-config', 'hidden_size']);
  });

  it('a truncated file', async () => {
    const folder = await variant(GPT2);
    await truncate(join(folder, 'model.safetensors'), 50_000);
    const e = await failure(loadPretrained(folder));
    expect(e.kind).toBe('corrupt-file');
    expect(e.file).toBe(join(folder, 'model.safetensors'));
  });

  it('a corrupt header', async () => {
    const folder = await variant(GPT2);
    const path = join(folder, 'model.safetensors');
    const bytes = await readFile(path);
    bytes[8] = 0x78; // the header's opening brace: no longer JSON
    await writeFile(path, bytes);
    expect((await failure(loadPretrained(folder))).kind).toBe('corrupt-file');
  });

  it('a shard index pointing at a shard without the key', async () => {
    const folder = await variant(join(FIXTURES, 'gpt2-tiny-sharded-f16'));
    const path = join(folder, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(path, 'utf8'));
    const key = 'transformer.wte.weight';
    index.weight_map[key] = index.weight_map[key] === 'model-00001-of-00002.safetensors' ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    await writeFile(path, JSON.stringify(index));
    const e = await failure(loadPretrained(folder));
    expect([e.kind, e.key]).toEqual(['corrupt-file', key]);
  });

  it('a folder with PyTorch pickles only', async () => {
    const folder = join(scratch, `v${counter++}`);
    await cp(GPT2, folder, { recursive: true });
    await rm(join(folder, 'model.safetensors'));
    await writeFile(join(folder, 'pytorch_model.bin'), '');
    const e = await failure(loadPretrained(folder));
    expect(e.kind).toBe('missing-file');
    expect(e.message).toMatch(/convert it to safetensors/);
  });

  it('nothing is half loaded: a failed load leaves the model as it was', async () => {
    const { model } = await loadPretrained(GPT2);
    const before = model.stateDict();
    // Valid headers, but the last tensor's bytes are cut off: found only while reading data.
    const folder = await variant(GPT2);
    const path = join(folder, 'model.safetensors');
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(path));
    await truncate(path, size - 4);
    await expect(loadWeightsInto(model, folder)).rejects.toThrow(CheckpointError);
    const other = await variant(PYTHIA);
    await expect(loadWeightsInto(model, other)).rejects.toThrow();
    const after = model.stateDict();
    for (const [key, value] of Object.entries(before)) expect(Array.from(after[key]!.data()), key).toEqual(Array.from(value.data()));
  });
});

describe('GPT-2 unembedding', () => {
  it('uses lm_head.weight when the file has one, and the tied wte otherwise', async () => {
    const folder = await variant(GPT2, (t) => {
      t['lm_head.weight'] = { dtype: 'float32', shape: [96, 32], data: new Float32Array(96 * 32).fill(0.5) };
    });
    const { model } = await loadPretrained(folder);
    expect(Array.from(model.unembed.W_U.data()).every((x) => x === 0.5)).toBe(true);
    const tied = (await loadPretrained(GPT2)).model;
    const wte = tied.embed.W_E.data();
    const wu = tied.unembed.W_U.data();
    expect(wu[3 * 96 + 5]).toBe(wte[5 * 32 + 3]); // W_U[3, 5] = wte[5, 3]
  });
});

describe('loadWeightsInto', () => {
  it('loads a checkpoint into an existing model of the same configuration', async () => {
    const { model: reference, config } = await loadPretrained(PYTHIA);
    const model = new HookedTransformer(config);
    await loadWeightsInto(model, PYTHIA);
    const tokens = [[1, 2, 3, 4]];
    expect(Array.from(model.forward(tokens).data())).toEqual(Array.from(reference.forward(tokens).data()));
  });
});

describe('loadPretrained skips random initialisation', () => {
  it.each(['gpt2-tiny', 'pythia-tiny', 'gpt2-tiny-sharded-f16', 'pythia-tiny-sequential-bf16'])(
    '%s: draws no random number, and gives the weights and logits of a randomly initialised model loaded alike',
    async (name) => {
      const folder = join(FIXTURES, name);
      const draws = vi.spyOn(Generator.prototype, 'nextUint32');
      let loaded: Awaited<ReturnType<typeof loadPretrained>>;
      try {
        loaded = await loadPretrained(folder);
        expect(draws).not.toHaveBeenCalled();
      } finally {
        draws.mockRestore();
      }
      const reference = new HookedTransformer(loaded.config);
      await loadWeightsInto(reference, folder);
      const expected = reference.stateDict();
      for (const [key, p] of loaded.model.namedParameters()) expect(p.data(), key).toEqual(expected[key]!.data());
      const tokens = [
        [1, 2, 3, 4, 5],
        [9, 8, 7, 6, 0],
      ];
      expect(loaded.model.forward(tokens).data()).toEqual(reference.forward(tokens).data());
    },
  );
});

describe('CheckpointSeries', () => {
  it('orders step<N> revisions numerically and loads them one at a time', async () => {
    const root = join(scratch, `series${counter++}`);
    for (const step of [1000, 0, 512]) await cp(PYTHIA, join(root, `step${step}`), { recursive: true });
    // A revision with different weights, and entries that are not revisions.
    await rm(join(root, 'step512'), { recursive: true });
    await cp(await variant(PYTHIA, (t) => (t['embed_out.weight']!.data as Float32Array).fill(0)), join(root, 'step512'), { recursive: true });
    await cp(PYTHIA, join(root, 'main'), { recursive: true });
    await writeFile(join(root, 'step7'), 'not a folder');

    const series = await CheckpointSeries.open(root);
    expect(series.steps).toEqual([0, 512, 1000]);
    const seen: number[] = [];
    for await (const { revision, loaded } of series) {
      seen.push(revision.step);
      const logits = loaded.model.forward([[1, 2]]);
      const zero = Array.from(logits.data()).every((x) => x === 0);
      expect(zero).toBe(revision.step === 512);
    }
    expect(seen).toEqual([0, 512, 1000]);

    const { model } = await series.load(0);
    await series.loadInto(model, 512);
    expect(Array.from(model.unembed.W_U.data()).every((x) => x === 0)).toBe(true);
    const e = await failure(series.load(5));
    expect(e.kind).toBe('missing-revision');
  });

  it('fails clearly on a folder without revisions', async () => {
    expect((await failure(CheckpointSeries.open(FIXTURES))).kind).toBe('missing-revision');
  });
});

describe('describeModel', () => {
  it.each([
    [GPT2, 'gpt2'],
    [PYTHIA, 'gpt_neox'],
  ])('describes %s without loading it', async (folder, architecture) => {
    const description = await describeModel(folder);
    const { model } = await loadPretrained(folder);
    expect(description.architecture).toBe(architecture);
    expect(description.hookNames).toEqual(model.hookNames());
    // Tied GPT-2 weights count once; the unembedding's bias is not in the checkpoint.
    const glassbox = Array.from(model.namedParameters()).reduce((n, [, p]) => n + p.size, 0);
    const untiedExtra = architecture === 'gpt2' ? model.cfg.dModel * model.cfg.dVocab : 0;
    expect(description.parameters).toBe(glassbox - model.cfg.dVocab - untiedExtra);
  });
});
