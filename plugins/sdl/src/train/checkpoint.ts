import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Optimizer, type OptimizerStateDict, type Tensor, ValueError, loadTensors, saveTensors } from '@glassbox/tensor';
import { temporarySibling, writeJsonAtomic } from '../io/atomic.ts';
import type { SparseAutoencoder } from '../sae/sparse-autoencoder.ts';
import type { Json } from './activation-source.ts';

/**
 * Training checkpoints. A checkpoint is a directory `step-<n>` under the checkpoint root, built
 * under a temporary name and renamed into place once complete; `latest.json` then points at it,
 * itself written atomically. A crash at any moment leaves either the previous checkpoint or the
 * new one, never a torn one. Each run gets a sub-directory with its weights (state dict names),
 * its optimizer moments (`<param>.<buffer>`) and a JSON of everything else.
 */

const LATEST = 'latest.json';

export interface RunCheckpoint {
  name: string;
  sae: SparseAutoencoder;
  optimizer: Optimizer;
  /** Counters, generator states and anything else the run needs, as JSON. */
  state: Json;
}

export interface CheckpointContents {
  step: number;
  trainer: Json;
  runs: RunCheckpoint[];
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(9, '0')}`;
}

function runDirName(index: number, name: string): string {
  return `${String(index).padStart(3, '0')}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

function optimizerTensors(sae: SparseAutoencoder, optimizer: Optimizer): { tensors: Record<string, Tensor>; json: Json } {
  const names = new Map<Tensor, string>([...sae.namedParameters()].map(([n, p]) => [p, n]));
  const dict = optimizer.stateDict();
  const tensors: Record<string, Tensor> = {};
  const counters: Record<string, Record<string, number>> = {};
  dict.state.forEach((entry, i) => {
    if (!entry) return;
    const name = names.get(optimizer.params[i]!) ?? String(i);
    counters[name] = {};
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'number') counters[name]![key] = value;
      else tensors[`${name}.${key}`] = value;
    }
  });
  return { tensors, json: { hyper: dict.hyper as Record<string, number | boolean>, counters } };
}

function restoreOptimizer(sae: SparseAutoencoder, optimizer: Optimizer, tensors: Record<string, Tensor>, json: Json): void {
  const { hyper, counters } = json as { hyper: Record<string, number | boolean>; counters: Record<string, Record<string, number>> };
  const names = new Map<Tensor, string>([...sae.namedParameters()].map(([n, p]) => [p, n]));
  const state: OptimizerStateDict['state'] = optimizer.params.map((p) => {
    const name = names.get(p)!;
    const numbers = counters[name];
    if (!numbers) return null;
    const entry: Record<string, Tensor | number> = { ...numbers };
    for (const [key, value] of Object.entries(tensors)) {
      if (key.startsWith(`${name}.`)) entry[key.slice(name.length + 1)] = value.reshape(p.shape);
    }
    return entry;
  });
  optimizer.loadStateDict({ hyper, state });
}

/** Writes a checkpoint and moves `latest.json` to it, keeping the newest `keep` checkpoints. */
export async function writeCheckpoint(root: string, contents: CheckpointContents, keep = 2): Promise<string> {
  await mkdir(root, { recursive: true });
  const finalDir = join(root, stepDirName(contents.step));
  const tmpDir = temporarySibling(finalDir);
  await mkdir(tmpDir, { recursive: true });
  try {
    const runs: Json[] = [];
    for (const [i, run] of contents.runs.entries()) {
      const dir = runDirName(i, run.name);
      await mkdir(join(tmpDir, dir));
      await saveTensors(join(tmpDir, dir, 'weights.safetensors'), run.sae.stateDict());
      const opt = optimizerTensors(run.sae, run.optimizer);
      await saveTensors(join(tmpDir, dir, 'optimizer.safetensors'), opt.tensors);
      await writeJsonAtomic(join(tmpDir, dir, 'state.json'), { name: run.name, config: run.sae.config as unknown as Json, optimizer: opt.json, state: run.state });
      runs.push({ name: run.name, dir });
    }
    await writeJsonAtomic(join(tmpDir, 'trainer.json'), { step: contents.step, trainer: contents.trainer, runs });
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmpDir, finalDir);
  } catch (e) {
    await rm(tmpDir, { recursive: true, force: true });
    throw e;
  }
  await writeJsonAtomic(join(root, LATEST), { step: contents.step, dir: stepDirName(contents.step) });
  const old = (await readdir(root)).filter((n) => /^step-\d+$/.test(n)).sort();
  for (const name of old.slice(0, Math.max(0, old.length - keep))) await rm(join(root, name), { recursive: true, force: true });
  return finalDir;
}

export interface LoadedCheckpoint {
  step: number;
  trainer: Json;
  /** Restores one run into a freshly built SAE and optimizer of the same shapes; returns its JSON state. */
  restoreRun(index: number, sae: SparseAutoencoder, optimizer: Optimizer): Promise<Json>;
  runNames: string[];
}

/** Reads the checkpoint `latest.json` points at, or null when there is none. */
export async function readLatestCheckpoint(root: string): Promise<LoadedCheckpoint | null> {
  let latest: { step: number; dir: string };
  try {
    latest = JSON.parse(await readFile(join(root, LATEST), 'utf8'));
  } catch {
    return null;
  }
  const dir = join(root, latest.dir);
  const trainerFile = JSON.parse(await readFile(join(dir, 'trainer.json'), 'utf8')) as { step: number; trainer: Json; runs: { name: string; dir: string }[] };
  return {
    step: trainerFile.step,
    trainer: trainerFile.trainer,
    runNames: trainerFile.runs.map((r) => r.name),
    async restoreRun(index, sae, optimizer) {
      const entry = trainerFile.runs[index];
      if (!entry) {
        throw new ValueError('the checkpoint has fewer runs', { op: 'readLatestCheckpoint', arg: 'index', expected: `< ${trainerFile.runs.length}`, given: String(index) });
      }
      const runDir = join(dir, entry.dir);
      sae.loadStateDict(await loadTensors(join(runDir, 'weights.safetensors')));
      const state = JSON.parse(await readFile(join(runDir, 'state.json'), 'utf8')) as { optimizer: Json; state: Json };
      restoreOptimizer(sae, optimizer, await loadTensors(join(runDir, 'optimizer.safetensors')), state.optimizer);
      return state.state;
    },
  };
}
