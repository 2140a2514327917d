import { Generator, type Tensor, ValueError, div, matmul, max, maximum, mean, noGrad, norm, tensor, transpose } from '@glassbox/tensor';
import type { ActivationSource, Json } from '../train/activation-source.ts';
import { normalQuantile } from './normal-quantile.ts';

export interface SparseFeatureOptions {
  /** Activation width; default 256. */
  dIn?: number;
  /** Ground-truth features; default 512. */
  numFeatures?: number;
  /** Expected active features per sample; default 5. */
  meanActive?: number;
  /** Feature i fires with probability ∝ decay^i; default 0.99. */
  decay?: number;
  /** Correlate which features fire through a Gaussian copula; default true. */
  correlated?: boolean;
  /** Rank of the random correlation's low-rank part; default 16. */
  correlationRank?: number;
  /** Share of each latent Gaussian's variance that is shared (correlated); default 0.5. */
  correlationStrength?: number;
  /** Seeds the directions, the correlation and the sample stream; default 0. */
  seed?: number;
}

/**
 * Sharkey, Braun & Millidge (2022)'s synthetic benchmark: activations are sparse nonnegative
 * combinations of known unit directions, so a dictionary can be scored against the truth.
 *
 * Feature i fires with probability p_i = c·decay^i, c chosen so that Σp_i = meanActive, with
 * value U[0,1]·U[0,1]. In the correlated variant firing is decided by a Gaussian copula: latent
 * z = L r + √(1 − ‖L_i‖²) ε with a random low-rank L (so the covariance L Lᵀ + D is a random
 * positive-definite correlation matrix) fires feature i when z_i < Φ⁻¹(p_i), which keeps every
 * marginal p_i exact while correlating the features.
 */
export class SparseFeatureData implements ActivationSource {
  readonly dIn: number;
  readonly numFeatures: number;
  /** Unit-norm ground-truth directions. // [num_features, d_in] */
  readonly features: Float32Array;
  /** Firing probability per feature. // [num_features] */
  readonly probabilities: Float64Array;
  readonly correlated: boolean;
  readonly #thresholds: Float64Array;
  readonly #loadings: Float64Array;
  readonly #residualScale: Float64Array;
  readonly #rank: number;
  readonly #generator: Generator;

  constructor(options: SparseFeatureOptions = {}) {
    const { dIn = 256, numFeatures = 512, meanActive = 5, decay = 0.99, correlated = true, correlationRank = 16, correlationStrength = 0.5, seed = 0 } = options;
    if (!(correlationStrength >= 0 && correlationStrength < 1)) {
      throw new ValueError('invalid correlation strength', { op: 'SparseFeatureData', arg: 'correlationStrength', expected: 'a number in [0, 1)', given: String(correlationStrength) });
    }
    this.dIn = dIn;
    this.numFeatures = numFeatures;
    this.correlated = correlated;
    const setup = Generator.fromSeed(seed);
    this.features = new Float32Array(numFeatures * dIn);
    setup.fillNormal(this.features);
    for (let i = 0; i < numFeatures; i++) {
      const row = this.features.subarray(i * dIn, (i + 1) * dIn);
      const n = Math.hypot(...row);
      for (let j = 0; j < dIn; j++) row[j] = row[j]! / n;
    }
    const raw = Float64Array.from({ length: numFeatures }, (_, i) => decay ** i);
    const total = raw.reduce((a, b) => a + b, 0);
    this.probabilities = raw.map((p) => Math.min(1, (p * meanActive) / total));
    this.#thresholds = this.probabilities.map(normalQuantile);
    this.#rank = correlated ? correlationRank : 0;
    this.#loadings = new Float64Array(numFeatures * this.#rank);
    this.#residualScale = new Float64Array(numFeatures).fill(1);
    if (correlated) {
      const a = new Float32Array(numFeatures * this.#rank);
      setup.fillNormal(a);
      for (let i = 0; i < numFeatures; i++) {
        const row = a.subarray(i * this.#rank, (i + 1) * this.#rank);
        const n = Math.hypot(...row) || 1;
        for (let k = 0; k < this.#rank; k++) this.#loadings[i * this.#rank + k] = (row[k]! / n) * Math.sqrt(correlationStrength);
        this.#residualScale[i] = Math.sqrt(1 - correlationStrength);
      }
    }
    this.#generator = Generator.fromSeed(seed + 1);
  }

  /** The ground-truth feature coefficients and the activations of one batch. */
  sample(batchSize: number): { coefficients: Float32Array; activations: Float32Array } {
    const { dIn, numFeatures } = this;
    const g = this.#generator;
    const rank = this.#rank;
    const coefficients = new Float32Array(batchSize * numFeatures);
    const activations = new Float32Array(batchSize * dIn);
    const shared = new Float64Array(rank);
    for (let r = 0; r < batchSize; r++) {
      for (let k = 0; k < rank; k++) shared[k] = g.normal();
      const out = r * dIn;
      for (let i = 0; i < numFeatures; i++) {
        let fires: boolean;
        if (this.correlated) {
          let z = this.#residualScale[i]! * g.normal();
          for (let k = 0; k < rank; k++) z += this.#loadings[i * rank + k]! * shared[k]!;
          fires = z < this.#thresholds[i]!;
        } else {
          fires = g.uniformFloat64() < this.probabilities[i]!;
        }
        if (!fires) continue;
        const value = g.uniform() * g.uniform();
        coefficients[r * numFeatures + i] = value;
        const f = i * dIn;
        for (let j = 0; j < dIn; j++) activations[out + j] = activations[out + j]! + value * this.features[f + j]!;
      }
    }
    return { coefficients, activations };
  }

  next(batchSize: number): Tensor {
    return tensor(this.sample(batchSize).activations, { shape: [batchSize, this.dIn] });
  }

  getState(): Json {
    return this.#generator.getState();
  }

  setState(state: Json): void {
    this.#generator.setState(state as number[]);
  }
}

/**
 * Mean max cosine similarity: for each ground-truth direction, the best cosine with any learned
 * direction, averaged. 1 means every true feature was recovered. truth [n, d], learned [m, d].
 */
export function mmcs(truth: Float32Array, learned: Float32Array, d: number): number {
  const n = truth.length / d;
  const m = learned.length / d;
  if (n === 0 || m === 0) return 0;
  return noGrad(() => {
    const unit = (data: Float32Array, rows: number) => {
      const t = tensor(data, { shape: [rows, d] });
      return div(t, maximum(norm(t, 2, 1, true), 1e-30));
    };
    const cosines = matmul(unit(truth, n), transpose(unit(learned, m)));
    return mean(max(cosines, 1)).item();
  });
}
