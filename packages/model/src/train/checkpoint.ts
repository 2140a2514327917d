import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type LRSchedulerState, type OptimizerStateDict, type RawTensor, SafetensorsFile, type Tensor, ValueError, temporarySibling, tensor, writeJsonAtomic, writeSafetensors } from '@glassbox/tensor';

/** Everything a checkpoint holds: enough to evaluate the model, and to resume training bit-identically. */
export interface Checkpoint {
  /** Optimizer steps completed. */
  step: number;
  /** The model's state dict. */
  model: Record<string, Tensor>;
  /** Whatever describes the run (model configuration, training options); saved as config.json. */
  config: unknown;
  optimizer?: OptimizerStateDict;
  scheduler?: LRSchedulerState;
  /** The state of the generator that draws training batches. */
  dataGenerator?: number[];
}

const MODEL_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const CONFIG_FILE = 'config.json';
const STATE_FILE = 'trainer-state.json';

/** `step-00000042`: zero-padded so that names sort by step. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

function raw(t: Tensor): RawTensor {
  return { dtype: t.dtype, shape: [...t.shape], data: t.data() };
}

async function readTensors(path: string): Promise<Record<string, Tensor>> {
  const file = await SafetensorsFile.open(path);
  try {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(await file.readAll())) out[name] = tensor(t.data, { shape: t.shape });
    return out;
  } finally {
    await file.close();
  }
}

/**
 * Writes a checkpoint to `<dir>/step-XXXXXXXX/`: model.safetensors, config.json and, for resuming,
 * optimizer.safetensors and trainer-state.json. The files are written into a hidden temporary
 * directory that is renamed into place, so a checkpoint directory is always complete.
 * Returns its path.
 */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, checkpointName(checkpoint.step));
  const temporary = temporarySibling(target);
  await mkdir(temporary);
  try {
    const modelTensors: Record<string, RawTensor> = {};
    for (const [name, t] of Object.entries(checkpoint.model)) modelTensors[name] = raw(t);
    await writeSafetensors(join(temporary, MODEL_FILE), modelTensors, { step: String(checkpoint.step) });
    await writeJsonAtomic(join(temporary, CONFIG_FILE), checkpoint.config ?? null);
    let optimizerCounters: Array<Record<string, number> | null> | null = null;
    if (checkpoint.optimizer) {
      const buffers: Record<string, RawTensor> = {};
      optimizerCounters = checkpoint.optimizer.state.map((entry, i) => {
        if (entry === null) return null;
        const counters: Record<string, number> = {};
        for (const [key, value] of Object.entries(entry)) {
          if (typeof value === 'number') counters[key] = value;
          else buffers[`${i}.${key}`] = raw(value);
        }
        return counters;
      });
      await writeSafetensors(join(temporary, OPTIMIZER_FILE), buffers);
    }
    await writeJsonAtomic(join(temporary, STATE_FILE), {
      step: checkpoint.step,
      optimizer: checkpoint.optimizer ? { hyper: checkpoint.optimizer.hyper, counters: optimizerCounters } : null,
      scheduler: checkpoint.scheduler ?? null,
      dataGenerator: checkpoint.dataGenerator ?? null,
    });
    await rm(target, { recursive: true, force: true });
    await rename(temporary, target);
  } catch (e) {
    await rm(temporary, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  return target;
}

interface StateFile {
  step: number;
  optimizer: { hyper: Record<string, number | boolean>; counters: Array<Record<string, number> | null> } | null;
  scheduler: LRSchedulerState | null;
  dataGenerator: number[] | null;
}

/** Reads a checkpoint directory written by saveCheckpoint. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const state = JSON.parse(await readFile(join(path, STATE_FILE), 'utf8')) as StateFile;
  const config = JSON.parse(await readFile(join(path, CONFIG_FILE), 'utf8')) as unknown;
  const model = await readTensors(join(path, MODEL_FILE));
  const checkpoint: Checkpoint = { step: state.step, model, config };
  if (state.optimizer) {
    const buffers = await readTensors(join(path, OPTIMIZER_FILE));
    checkpoint.optimizer = {
      hyper: state.optimizer.hyper,
      state: state.optimizer.counters.map((counters, i) => {
        if (counters === null) return null;
        const entry: Record<string, Tensor | number> = { ...counters };
        for (const [key, t] of Object.entries(buffers)) if (key.startsWith(`${i}.`)) entry[key.slice(`${i}.`.length)] = t;
        return entry;
      }),
    };
  }
  if (state.scheduler) checkpoint.scheduler = state.scheduler;
  if (state.dataGenerator) checkpoint.dataGenerator = state.dataGenerator;
  return checkpoint;
}

/** The complete checkpoints under `dir`, by step (temporary directories of interrupted writes are ignored). */
export async function listCheckpoints(dir: string): Promise<Array<{ step: number; path: string }>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .flatMap((name) => {
      const match = /^step-(\d{8,})$/.exec(name);
      return match ? [{ step: Number(match[1]), path: join(dir, name) }] : [];
    })
    .sort((a, b) => a.step - b.step);
}

/** The checkpoint with the highest step under `dir`; throws when there is none. */
export async function latestCheckpoint(dir: string): Promise<{ step: number; path: string }> {
  const all = await listCheckpoints(dir);
  const last = all.at(-1);
  if (!last) throw new ValueError('no checkpoint to resume from', { op: 'latestCheckpoint', arg: 'dir', expected: 'a directory holding step-XXXXXXXX checkpoints', given: dir });
  return last;
}
