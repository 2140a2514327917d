import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookedTransformer } from '@glassbox/model';
import { nearestNames } from '@glassbox/tensor';
import { type LoadedModel, loadPretrained, loadWeightsInto } from './checkpoint.ts';
import { CheckpointError } from './errors.ts';

/** One revision of a training run: a Hugging Face folder named `step<N>`. */
export interface CheckpointRevision {
  name: string;
  step: number;
  path: string;
}

const STEP = /^step(\d+)$/;

/**
 * A folder of training checkpoints (`step0`, `step1`, ... `step143000`, each a Hugging Face folder,
 * as Pythia's revisions are laid out), ordered by step. Models are loaded one at a time, on demand,
 * so iterating holds one model in memory (or none, when `loadInto` reuses a model).
 */
export class CheckpointSeries {
  readonly folder: string;
  readonly revisions: readonly CheckpointRevision[];

  private constructor(folder: string, revisions: CheckpointRevision[]) {
    this.folder = folder;
    this.revisions = Object.freeze(revisions);
  }

  /** Lists the `step<N>` subfolders that hold a config.json; other entries are ignored. */
  static async open(folder: string): Promise<CheckpointSeries> {
    const op = 'CheckpointSeries.open';
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (e) {
      throw new CheckpointError(`cannot list the folder (${(e as Error).message})`, { op, kind: 'missing-file', file: folder, expected: 'a folder of step<N> revisions' });
    }
    const revisions: CheckpointRevision[] = [];
    for (const name of names) {
      const match = STEP.exec(name);
      if (!match) continue;
      const path = join(folder, name);
      const isRevision = await stat(join(path, 'config.json')).then(
        (s) => s.isFile(),
        () => false,
      );
      if (isRevision) revisions.push({ name, step: Number(match[1]), path });
    }
    if (revisions.length === 0) {
      throw new CheckpointError('no checkpoint revisions found', {
        op,
        kind: 'missing-revision',
        file: folder,
        expected: 'subfolders named step<N> (step0, step1000, ...), each with config.json and weights',
        given: names.length === 0 ? 'an empty folder' : `${names.length} other entries`,
      });
    }
    revisions.sort((a, b) => a.step - b.step);
    return new CheckpointSeries(folder, revisions);
  }

  /** The training steps, ascending. */
  get steps(): number[] {
    return this.revisions.map((r) => r.step);
  }

  revision(step: number): CheckpointRevision {
    const found = this.revisions.find((r) => r.step === step);
    if (found) return found;
    throw new CheckpointError(`no revision for step ${step}`, {
      op: 'CheckpointSeries.revision',
      kind: 'missing-revision',
      file: this.folder,
      expected: `one of the ${this.revisions.length} steps ${this.steps.slice(0, 8).join(', ')}${this.revisions.length > 8 ? ', ...' : ''}`,
      given: String(step),
      suggestions: nearestNames(`step${step}`, this.revisions.map((r) => r.name)),
    });
  }

  /** A fresh model with the weights of one step. */
  async load(step: number): Promise<LoadedModel> {
    return await loadPretrained(this.revision(step).path);
  }

  /** Loads one step's weights into an existing model of the same configuration (validated first). */
  async loadInto(model: HookedTransformer, step: number): Promise<void> {
    await loadWeightsInto(model, this.revision(step).path);
  }

  /** Yields each revision with its model, in step order, loading the next only when asked. */
  async *[Symbol.asyncIterator](): AsyncGenerator<{ revision: CheckpointRevision; loaded: LoadedModel }> {
    for (const revision of this.revisions) yield { revision, loaded: await loadPretrained(revision.path) };
  }
}
