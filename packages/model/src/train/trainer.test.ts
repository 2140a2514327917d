import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, type Tensor } from '@glassbox/tensor';
import { afterAll, describe, expect, test } from 'vitest';
import { configToJSON } from '../config.ts';
import { HookedTransformer } from '../hooked-transformer.ts';
import { InductionLanguage } from '../organisms/induction.ts';
import { checkpointSchedule } from './checkpoint-schedule.ts';
import { listCheckpoints, loadCheckpoint } from './checkpoint.ts';
import { type TrainProgress, Trainer } from './trainer.ts';

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'glassbox-trainer-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const language = new InductionLanguage({ dVocab: 12, seqLen: 9, seed: 5 });
const modelConfig = { nLayers: 1, dModel: 8, nHeads: 2, dVocab: 12, nCtx: 9, attnOnly: true, seed: 11 } as const;

function trainer(runDir: string, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal) {
  const model = new HookedTransformer(modelConfig);
  return new Trainer({
    model,
    nextBatch: (generator) => language.batch(generator, 4),
    loss: (m, batch: Tensor) => m.loss(batch),
    steps: 12,
    seed: 3,
    lr: 1e-2,
    warmupSteps: 3,
    gradClip: 1,
    evalEvery: 5,
    evaluate: (m) => ({ heldOut: m.loss(language.batch(Generator.fromSeed(99), 4)).item() }),
    checkpoints: [0, 1, 2, 4, 8, 12],
    config: configToJSON(model.cfg),
    runDir,
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
  });
}

describe('checkpointSchedule', () => {
  test('log-spaced early, linear later, always the last step', () => {
    expect(checkpointSchedule({ totalSteps: 1000, every: 100 })).toEqual([0, 1, 2, 4, 8, 16, 32, 64, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(checkpointSchedule({ totalSteps: 25, every: 10, includeStart: false })).toEqual([1, 2, 4, 8, 10, 20, 25]);
    expect(checkpointSchedule({ totalSteps: 10, every: 3, logBase: 1.5 })).toEqual([0, 1, 2, 3, 6, 9, 10]);
    expect(() => checkpointSchedule({ totalSteps: -1 })).toThrow(/totalSteps/);
  });
});

describe('Trainer', () => {
  test('reports progress, evaluates, and writes a run directory', async () => {
    const runDir = await scratch();
    const seen: TrainProgress[] = [];
    const result = await trainer(runDir, (p) => seen.push(p)).run();
    expect(result).toMatchObject({ step: 12, completed: true, resumedFrom: null });
    expect(seen.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(seen[0]!.lr).toBe(0);
    expect(seen[3]!.lr).toBeCloseTo(1e-2);
    expect(seen.every((p) => p.tokensPerSecond > 0 && p.etaSeconds >= 0 && Number.isFinite(p.loss))).toBe(true);
    expect(seen.filter((p) => p.eval).map((p) => p.step)).toEqual([5, 10, 12]);
    expect(seen.at(-1)!.etaSeconds).toBe(0);

    const checkpoints = await listCheckpoints(join(runDir, 'checkpoints'));
    expect(checkpoints.map((c) => c.step)).toEqual([0, 1, 2, 4, 8, 12]);
    expect((await readdir(checkpoints[3]!.path)).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer-state.json']);
    const last = await loadCheckpoint(checkpoints.at(-1)!.path);
    expect(last.config).toMatchObject({ nLayers: 1, dModel: 8 });
    expect(Object.keys(last.model)).toContain('blocks.0.attn.W_Q');

    const metrics = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(metrics[4].eval.heldOut).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')).training).toMatchObject({ steps: 12, optimizer: 'AdamW' });
    // No temporary files are left behind.
    expect((await readdir(join(runDir, 'checkpoints'))).every((name) => name.startsWith('step-'))).toBe(true);
  });

  test('a run killed mid-way resumes from its last checkpoint to bit-identical weights', async () => {
    const straight = await scratch();
    const straightTrainer = trainer(straight);
    await straightTrainer.run();

    const interrupted = await scratch();
    const dying = trainer(interrupted, (p) => {
      if (p.step === 7) throw new Error('killed');
    });
    await expect(dying.run()).rejects.toThrow('killed');
    expect((await listCheckpoints(join(interrupted, 'checkpoints'))).at(-1)!.step).toBe(4);

    const resumed = trainer(interrupted);
    const result = await resumed.run({ resume: true });
    expect(result).toMatchObject({ step: 12, completed: true, resumedFrom: 4 });

    const a = straightTrainer.options.model.stateDict();
    const b = resumed.options.model.stateDict();
    for (const [name, t] of Object.entries(a)) {
      expect(Buffer.from(b[name]!.data().buffer).equals(Buffer.from(t.data().buffer)), name).toBe(true);
    }
    const lines = async (dir: string) => (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(await lines(interrupted)).toEqual(await lines(straight));
    const finalA = await readFile(join(straight, 'checkpoints', 'step-00000012', 'model.safetensors'));
    const finalB = await readFile(join(interrupted, 'checkpoints', 'step-00000012', 'model.safetensors'));
    expect(finalB.equals(finalA)).toBe(true);
  });

  test('an abort signal stops before the next step', async () => {
    const controller = new AbortController();
    const t = trainer(
      await scratch(),
      (p) => {
        if (p.step === 3) controller.abort();
      },
      controller.signal,
    );
    expect(await t.run()).toMatchObject({ step: 3, completed: false });
  });
});
