import { Generator, Module, type Tensor, ValueError, add, matmul, mean, mul, noGrad, relu, sub, sum, tensor, transpose, unsqueeze, zeros } from '@glassbox/tensor';
import { normalInit } from '../components/init.ts';
import { type TrainProgress, Trainer } from '../train/trainer.ts';

export interface ToySuperpositionConfig {
  /** Number of features. */
  nFeatures: number;
  /** Hidden dimensions (fewer than features, for superposition). */
  nHidden: number;
  /** Independent models trained side by side (some seeds fall into local optima); default 1. */
  nInstances?: number;
  /** Importance of feature i; default 0.9^i. */
  importance?: readonly number[];
  /** Probability that a feature is non-zero (1 − sparsity). */
  featureProbability: number;
}

/**
 * Toy Models of Superposition (Elhage et al. 2022): x′ = ReLU(WᵀW x + b) with W [n_hidden, n_features],
 * trained to reconstruct sparse features under the importance-weighted loss Σ_i I_i (x_i − x′_i)².
 * Several instances train at once, each with its own W and b.
 */
export class ToySuperposition extends Module {
  readonly nFeatures: number;
  readonly nHidden: number;
  readonly nInstances: number;
  readonly featureProbability: number;
  readonly importance: Tensor; // [n_features]
  readonly W: Tensor; // [n_instances, n_hidden, n_features]
  readonly b_final: Tensor; // [n_instances, n_features]

  constructor(config: ToySuperpositionConfig, generator: Generator) {
    super();
    const op = 'ToySuperposition';
    const { nFeatures, nHidden, nInstances = 1, featureProbability } = config;
    for (const [arg, value] of [
      ['nFeatures', nFeatures],
      ['nHidden', nHidden],
      ['nInstances', nInstances],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new ValueError(`invalid \`${arg}\``, { op, arg, expected: 'an integer >= 1', given: String(value) });
    }
    if (!(featureProbability > 0 && featureProbability <= 1)) {
      throw new ValueError('invalid `featureProbability`', { op, arg: 'featureProbability', expected: 'a number in (0, 1]', given: String(featureProbability) });
    }
    const importance = config.importance ?? Array.from({ length: nFeatures }, (_, i) => 0.9 ** i);
    if (importance.length !== nFeatures) {
      throw new ValueError('one importance per feature', { op, arg: 'importance', expected: `${nFeatures} values`, given: `${importance.length} values` });
    }
    this.nFeatures = nFeatures;
    this.nHidden = nHidden;
    this.nInstances = nInstances;
    this.featureProbability = featureProbability;
    this.importance = tensor(importance);
    // Xavier-normal, as in the paper's code: std = sqrt(2 / (fan_in + fan_out)).
    this.W = this.param('W', normalInit([nInstances, nHidden, nFeatures], Math.sqrt(2 / (nHidden + nFeatures)), generator));
    this.b_final = this.param('b_final', zeros([nInstances, nFeatures]));
  }

  /** A batch of sparse features: each is U[0, 1) with probability featureProbability, else 0. [n_instances, batch, n_features] */
  sample(generator: Generator, batch: number): Tensor {
    const values = new Float32Array(this.nInstances * batch * this.nFeatures);
    for (let i = 0; i < values.length; i++) {
      const present = generator.uniform() < this.featureProbability;
      const value = generator.uniform();
      values[i] = present ? value : 0;
    }
    return tensor(values, { shape: [this.nInstances, batch, this.nFeatures] });
  }

  // [n_instances, batch, n_features] -> [n_instances, batch, n_hidden]
  hidden(x: Tensor): Tensor {
    return matmul(x, transpose(this.W));
  }

  // [n_instances, batch, n_features] -> [n_instances, batch, n_features]
  forward(x: Tensor): Tensor {
    return relu(add(matmul(this.hidden(x), this.W), unsqueeze(this.b_final, 1)));
  }

  /** Importance-weighted squared error per instance, averaged over the batch: [n_instances]. */
  instanceLosses(x: Tensor): Tensor {
    const error = sub(x, this.forward(x));
    return mean(sum(mul(mul(error, error), this.importance), -1), -1);
  }

  /** The training loss: the instances' losses summed (they share no parameters). */
  loss(x: Tensor): Tensor {
    return sum(this.instanceLosses(x));
  }

  /** One instance's W as [n_hidden][n_features] numbers. */
  instanceWeights(instance: number): number[][] {
    const data = this.W.data();
    const { nHidden: m, nFeatures: n } = this;
    return Array.from({ length: m }, (_, r) => Array.from(data.subarray(instance * m * n + r * n, instance * m * n + (r + 1) * n)));
  }
}

/**
 * Per-feature dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)² for W [n_hidden][n_features], W_i its
 * column i: 1 for a feature with a dimension of its own, 1/2 for an antipodal pair, 2/5 in a
 * pentagon. A feature whose norm is below `epsilon` (not represented) gets 0.
 */
export function featureDimensionality(W: readonly (readonly number[])[], epsilon = 1e-3): number[] {
  const m = W.length;
  const n = W[0]?.length ?? 0;
  const column = (i: number) => Array.from({ length: m }, (_, r) => W[r]![i]!);
  const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);
  const columns = Array.from({ length: n }, (_, i) => column(i));
  return columns.map((wi) => {
    const normSq = dot(wi, wi);
    if (Math.sqrt(normSq) < epsilon) return 0;
    const unit = wi.map((v) => v / Math.sqrt(normSq));
    const overlap = columns.reduce((s, wj) => s + dot(unit, wj) ** 2, 0);
    return normSq / overlap;
  });
}

/** The norm of each feature's column of W [n_hidden][n_features]. */
export function featureNorms(W: readonly (readonly number[])[]): number[] {
  const n = W[0]?.length ?? 0;
  return Array.from({ length: n }, (_, i) => Math.sqrt(W.reduce((s, row) => s + row[i]! ** 2, 0)));
}

export interface TrainToySuperpositionOptions extends ToySuperpositionConfig {
  steps: number;
  batch: number;
  /** AdamW learning rate; default 1e-2, with cosine decay to 5% and no weight decay. */
  lr?: number;
  seed?: number;
  onProgress?: (progress: TrainProgress) => void;
}

/**
 * Trains every instance and reports each one's loss on fresh data, its per-feature dimensionality
 * and norms; `best` is the instance with the lowest loss (others may sit in local optima).
 */
export async function trainToySuperposition(options: TrainToySuperpositionOptions): Promise<{
  model: ToySuperposition;
  losses: number[];
  best: { instance: number; loss: number; dimensionality: number[]; norms: number[] };
}> {
  const seed = options.seed ?? 0;
  const model = new ToySuperposition(options, Generator.fromSeed(seed));
  const trainer = new Trainer({
    model,
    nextBatch: (generator) => model.sample(generator, options.batch),
    loss: (m, x: Tensor) => m.loss(x),
    steps: options.steps,
    seed: seed + 1,
    lr: options.lr ?? 1e-2,
    weightDecay: 0,
    minLrRatio: 0.05,
    tokensPerBatch: () => options.batch * model.nInstances,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  await trainer.run();
  const losses = Array.from(noGrad(() => model.instanceLosses(model.sample(Generator.fromSeed(seed + 2), 4096))).data());
  const instance = losses.indexOf(Math.min(...losses));
  const W = model.instanceWeights(instance);
  return { model, losses, best: { instance, loss: losses[instance]!, dimensionality: featureDimensionality(W), norms: featureNorms(W) } };
}
