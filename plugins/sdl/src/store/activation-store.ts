import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Generator, ShapeError, type Tensor, ValueError, formatShape, loadTensors, narrow, noGrad, saveTensors, tensor } from '@glassbox/tensor';
import { writeJsonAtomic } from '../io/atomic.ts';
import type { ActivationSource, Json } from '../train/activation-source.ts';
import { type HookedModelLike, captureActivation } from './hooked-model.ts';

/** Token sequences: a fixed [n_seqs, seq_len] int32 tensor (cycled), or a function giving chunk c's sequences. */
export type TokenDataset = Tensor | ((chunk: number, sequences: number) => Tensor);

export interface ActivationStoreOptions {
  model: HookedModelLike;
  /** TransformerLens hook to read, e.g. `blocks.1.hook_resid_pre`. */
  hookName: string;
  tokens: TokenDataset;
  /** Sequences per forward pass; default 8. */
  sequencesPerForward?: number;
  /** Sequences per shuffle chunk: their activations are pooled and shuffled together. Default 64. */
  sequencesPerChunk?: number;
  /** Token ids whose positions are left out (BOS, pad, …). Default none. */
  excludeTokenIds?: readonly number[];
  /** Leave out position 0 of every sequence (a BOS whether or not its id is known). Default false. */
  excludeFirstPosition?: boolean;
  /** For a per-head hook [batch, pos, head, d_head]: keep one head; default: flatten heads (SAELens's hook_z). */
  headIndex?: number;
  /**
   * 'expected_average_norm' scales rows so their mean norm is √d_in (SAELens's
   * expected_average_only_in), estimated on the first chunk; the scale is exposed as `scale`.
   */
  normalize?: 'none' | 'expected_average_norm';
  /** Folder of safetensors shards, one per chunk: read when present, written when not. */
  cacheDir?: string;
  seed?: number;
}

interface Chunk {
  rows: Float32Array;
  count: number;
}

/**
 * Streams one hook's activations over a token dataset, as training batches [batch, d_in].
 *
 * The model runs over a chunk of sequences at a time; positions holding excluded tokens (BOS, pad)
 * are dropped, the rest are pooled, shuffled with a permutation seeded by (seed, chunk), and
 * served in order, batches running on into the next chunk. Because a chunk's activations depend
 * only on its index, the position (chunk, offset) is the whole state: resuming recomputes the
 * chunk (or reads it from the cache) and continues bit for bit.
 *
 * With `cacheDir`, each chunk's activations (before shuffling and scaling) are saved as
 * `chunk-<n>.safetensors` beside a `store.json`, so several SAEs, in one process or in later
 * ones, can train on the same activations without running the model again.
 */
export class ActivationStore implements ActivationSource {
  readonly hookName: string;
  #dIn = 0;
  #scale = 1;
  #chunkIndex = 0;
  #offset = 0;
  #current: Chunk | null = null;
  readonly #options: Required<Omit<ActivationStoreOptions, 'cacheDir' | 'headIndex'>> & Pick<ActivationStoreOptions, 'cacheDir' | 'headIndex'>;

  private constructor(options: ActivationStoreOptions) {
    this.hookName = options.hookName;
    this.#options = {
      sequencesPerForward: 8,
      sequencesPerChunk: 64,
      excludeTokenIds: [],
      excludeFirstPosition: false,
      normalize: 'none',
      seed: 0,
      ...options,
    };
    const { sequencesPerForward, sequencesPerChunk } = this.#options;
    for (const [arg, v] of [
      ['sequencesPerForward', sequencesPerForward],
      ['sequencesPerChunk', sequencesPerChunk],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ValueError('invalid store option', { op: 'ActivationStore', arg, expected: 'a positive integer', given: String(v) });
    }
  }

  /** Opens a store: runs (or reads) the first chunk to learn d_in and, if asked, the normalising scale. */
  static async create(options: ActivationStoreOptions): Promise<ActivationStore> {
    const store = new ActivationStore(options);
    const first = await store.#chunk(0);
    store.#dIn = first.rows.length / Math.max(first.count, 1);
    if (first.count === 0) throw new ValueError('the first chunk has no activations', { op: 'ActivationStore.create', arg: 'tokens', expected: 'sequences with positions that are not excluded', given: 'none' });
    if (store.#options.normalize === 'expected_average_norm') {
      let total = 0;
      for (let r = 0; r < first.count; r++) {
        let s = 0;
        for (let j = 0; j < store.#dIn; j++) s += first.rows[r * store.#dIn + j]! ** 2;
        total += Math.sqrt(s);
      }
      const mean = total / first.count;
      store.#scale = mean > 0 ? Math.sqrt(store.#dIn) / mean : 1;
    }
    store.#current = await store.#shuffled(0, first);
    return store;
  }

  get dIn(): number {
    return this.#dIn;
  }

  /** The factor rows are multiplied by (1 without normalisation). */
  get scale(): number {
    return this.#scale;
  }

  /** The sequences of chunk c. // [sequencesPerChunk, seq_len] */
  #tokens(chunk: number): Tensor {
    const { tokens, sequencesPerChunk } = this.#options;
    if (typeof tokens === 'function') return tokens(chunk, sequencesPerChunk);
    if (tokens.rank !== 2 || tokens.dtype !== 'int32') {
      throw new ShapeError('tokens must be an int32 [n_seqs, seq_len] tensor', { op: 'ActivationStore', arg: 'tokens', expected: 'int32 [n_seqs, seq_len]', given: `${tokens.dtype} ${formatShape(tokens.shape)}` });
    }
    const n = tokens.shape[0]!;
    const picks = Int32Array.from({ length: sequencesPerChunk }, (_, i) => (chunk * sequencesPerChunk + i) % n);
    return selectRows(tokens, picks);
  }

  /** Runs the model over a chunk and keeps the rows at positions that are not excluded. */
  #compute(chunk: number): Chunk {
    const { model, hookName, sequencesPerForward, excludeTokenIds, excludeFirstPosition, headIndex } = this.#options;
    const tokens = this.#tokens(chunk);
    const [seqs, len] = [tokens.shape[0]!, tokens.shape[1]!];
    const ids = tokens.data();
    const excluded = new Set(excludeTokenIds);
    const parts: Float32Array[] = [];
    let count = 0;
    let width = 0;
    for (let start = 0; start < seqs; start += sequencesPerForward) {
      const size = Math.min(sequencesPerForward, seqs - start);
      const act = noGrad(() => captureActivation(model, narrow(tokens, 0, start, size), hookName));
      let rows = act;
      if (act.rank === 4) rows = headIndex === undefined ? act.reshape([size, len, -1]) : narrow(act, 2, headIndex, 1).reshape([size, len, -1]);
      if (rows.rank !== 3 || rows.shape[0] !== size || rows.shape[1] !== len) {
        throw new ShapeError('the hook gives no per-position activations', { op: 'ActivationStore', arg: 'hookName', expected: '[batch, pos, d] or [batch, pos, head, d_head]', given: formatShape(act.shape) });
      }
      width = rows.shape[2]!;
      const data = rows.data() as Float32Array;
      const kept = new Float32Array(size * len * width);
      let n = 0;
      for (let s = 0; s < size; s++) {
        for (let p = 0; p < len; p++) {
          const id = ids[(start + s) * len + p]!;
          if ((excludeFirstPosition && p === 0) || excluded.has(id)) continue;
          kept.set(data.subarray((s * len + p) * width, (s * len + p + 1) * width), n * width);
          n++;
        }
      }
      parts.push(kept.subarray(0, n * width));
      count += n;
    }
    const rows = new Float32Array(count * width);
    let at = 0;
    for (const part of parts) {
      rows.set(part, at);
      at += part.length;
    }
    return { rows, count };
  }

  #shardPath(chunk: number): string {
    return join(this.#options.cacheDir!, `chunk-${String(chunk).padStart(6, '0')}.safetensors`);
  }

  /** Chunk c's rows, from the cache when it has them, else computed (and cached). */
  async #chunk(chunk: number): Promise<Chunk> {
    const { cacheDir, hookName } = this.#options;
    if (cacheDir) {
      const index = await readIndex(cacheDir);
      if (index && index.hookName !== hookName) {
        throw new ValueError('the cache holds another hook', { op: 'ActivationStore', arg: 'cacheDir', expected: hookName, given: index.hookName });
      }
      if (index && chunk < index.chunks) {
        const t = (await loadTensors(this.#shardPath(chunk), ['activations'])).activations!;
        return { rows: t.data() as Float32Array, count: t.shape[0]! };
      }
    }
    const computed = this.#compute(chunk);
    if (cacheDir) {
      await mkdir(cacheDir, { recursive: true });
      const width = computed.count > 0 ? computed.rows.length / computed.count : this.#dIn;
      await saveTensors(this.#shardPath(chunk), { activations: tensor(computed.rows, { shape: [computed.count, width] }) });
      const index = await readIndex(cacheDir);
      // Shards are only useful in order: the index counts the contiguous prefix written so far.
      if ((index?.chunks ?? 0) === chunk) await writeJsonAtomic(join(cacheDir, 'store.json'), { hookName, dIn: width, sequencesPerChunk: this.#options.sequencesPerChunk, chunks: chunk + 1 });
    }
    return computed;
  }

  /** A chunk with its rows permuted by Generator(seed, chunk) and scaled. */
  async #shuffled(chunk: number, given?: Chunk): Promise<Chunk> {
    const { rows, count } = given ?? (await this.#chunk(chunk));
    const d = this.#dIn;
    const order = Generator.fromSeed((this.#options.seed * 1_000_003 + chunk) >>> 0).permutation(count);
    const out = new Float32Array(count * d);
    for (let i = 0; i < count; i++) {
      const from = order[i]! * d;
      for (let j = 0; j < d; j++) out[i * d + j] = rows[from + j]! * this.#scale;
    }
    return { rows: out, count };
  }

  async next(batchSize: number): Promise<Tensor> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ValueError('invalid batch size', { op: 'ActivationStore.next', arg: 'batchSize', expected: 'a positive integer', given: String(batchSize) });
    }
    const d = this.#dIn;
    const out = new Float32Array(batchSize * d);
    let filled = 0;
    let empty = 0;
    while (filled < batchSize) {
      this.#current ??= await this.#shuffled(this.#chunkIndex);
      if (this.#offset >= this.#current.count) {
        if (this.#current.count === 0 && ++empty > 100) {
          throw new ValueError('no activations left after exclusion', { op: 'ActivationStore.next', arg: 'excludeTokenIds', expected: 'some positions kept', given: '100 empty chunks in a row' });
        }
        this.#chunkIndex++;
        this.#offset = 0;
        this.#current = null;
        continue;
      }
      const take = Math.min(batchSize - filled, this.#current.count - this.#offset);
      out.set(this.#current.rows.subarray(this.#offset * d, (this.#offset + take) * d), filled * d);
      this.#offset += take;
      filled += take;
    }
    return tensor(out, { shape: [batchSize, d] });
  }

  getState(): Json {
    return { chunk: this.#chunkIndex, offset: this.#offset, scale: this.#scale };
  }

  setState(state: Json): void {
    const s = state as { chunk: number; offset: number; scale: number };
    this.#chunkIndex = s.chunk;
    this.#offset = s.offset;
    this.#scale = s.scale;
    // The next batch recomputes (or rereads) this chunk and continues at the offset.
    this.#current = null;
  }
}

function selectRows(tokens: Tensor, picks: Int32Array): Tensor {
  const [n, len] = [tokens.shape[0]!, tokens.shape[1]!];
  const ids = tokens.data();
  const out = new Int32Array(picks.length * len);
  picks.forEach((row, i) => {
    out.set(ids.subarray((row % n) * len, (row % n + 1) * len), i * len);
  });
  return tensor(out, { shape: [picks.length, len], backend: tokens.backend });
}

async function readIndex(dir: string): Promise<{ hookName: string; dIn: number; chunks: number } | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'store.json'), 'utf8'));
  } catch {
    return null;
  }
}
