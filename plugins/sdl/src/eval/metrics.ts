import { type Tensor, ValueError, noGrad, reshape } from '@glassbox/tensor';
import type { Dictionary } from '@glassbox/model';

export interface DensityHistogram {
  /** Bin edges in log10(density): bins + 1 increasing values. */
  edges: number[];
  /** Live latents per bin; a density outside the edges goes to the nearest end bin. */
  counts: number[];
  /** Latents that never fired, which have no log density. */
  dead: number;
}

/**
 * What SAELens and SAEBench's "core" evaluation reports without a model. With n tokens, x the
 * input and x̂ the reconstruction:
 * - l0: mean active latents per token; l1: mean Σ|f| per token;
 * - mse: mean over tokens and dimensions of (x − x̂)²;
 * - fvu: Σ‖x − x̂‖² / Σ‖x − mean(x)‖², explainedVariance = 1 − fvu;
 * - cosineSimilarity: mean cos(x, x̂); l2Ratio: mean ‖x̂‖ / ‖x‖;
 * - relativeReconstructionBias: γ = E‖x̂‖² / E[x · x̂], the γ minimising E‖x̂/γ − x‖²
 *   (Rajamanoharan et al. 2024); below 1 means shrinkage;
 * - featureDensity: per latent, the fraction of tokens it fired on; dead and dense fractions.
 */
export interface ReconstructionMetrics {
  tokens: number;
  l0: number;
  l1: number;
  mse: number;
  fvu: number;
  explainedVariance: number;
  cosineSimilarity: number;
  l2Ratio: number;
  relativeReconstructionBias: number;
  deadFraction: number;
  denseFraction: number;
  /** [d_sae] */
  featureDensity: Float64Array;
  densityHistogram: DensityHistogram;
}

export interface MetricsOptions {
  /** A latent firing on more than this fraction of tokens is dense; default 0.1. */
  denseThreshold?: number;
  /** Histogram bins over log10 density in [minLog10Density, 0]; default 40 bins from −8. */
  histogramBins?: number;
  minLog10Density?: number;
}

/**
 * Accumulates reconstruction and sparsity statistics over batches, so a large evaluation set
 * never needs to be held at once. Sums are kept in float64.
 */
export class MetricsAccumulator {
  readonly #dSae: number;
  readonly #dIn: number;
  #tokens = 0;
  #active = 0;
  #l1 = 0;
  #sse = 0;
  #sumSq = 0;
  #cos = 0;
  #ratio = 0;
  #reconSq = 0;
  #cross = 0;
  readonly #sum: Float64Array;
  readonly #fired: Float64Array;

  constructor(dIn: number, dSae: number) {
    this.#dIn = dIn;
    this.#dSae = dSae;
    this.#sum = new Float64Array(dIn);
    this.#fired = new Float64Array(dSae);
  }

  /** One batch: inputs [n, d_in], latents [n, d_sae] and reconstructions [n, d_in], as flat arrays. */
  add(x: Float32Array, latents: Float32Array, recon: Float32Array): void {
    const [d, m] = [this.#dIn, this.#dSae];
    const n = x.length / d;
    if (!Number.isInteger(n) || latents.length !== n * m || recon.length !== n * d) {
      throw new ValueError('batch sizes disagree', { op: 'MetricsAccumulator.add', arg: 'latents', expected: `${n} rows of ${m} latents and of ${d} reconstructions`, given: `${latents.length} latents, ${recon.length} reconstructions` });
    }
    for (let r = 0; r < n; r++) {
      let xx = 0;
      let rr = 0;
      let xr = 0;
      let err = 0;
      for (let j = 0; j < d; j++) {
        const a = x[r * d + j]!;
        const b = recon[r * d + j]!;
        xx += a * a;
        rr += b * b;
        xr += a * b;
        err += (a - b) * (a - b);
        this.#sum[j] = this.#sum[j]! + a;
      }
      this.#sse += err;
      this.#sumSq += xx;
      this.#reconSq += rr;
      this.#cross += xr;
      this.#cos += xx > 0 && rr > 0 ? xr / Math.sqrt(xx * rr) : 0;
      this.#ratio += xx > 0 ? Math.sqrt(rr / xx) : 0;
      for (let j = 0; j < m; j++) {
        const f = latents[r * m + j]!;
        if (f !== 0) {
          this.#active++;
          this.#l1 += Math.abs(f);
          this.#fired[j] = this.#fired[j]! + 1;
        }
      }
    }
    this.#tokens += n;
  }

  result(options: MetricsOptions = {}): ReconstructionMetrics {
    const { denseThreshold = 0.1, histogramBins = 40, minLog10Density = -8 } = options;
    const n = this.#tokens;
    let meanSq = 0;
    for (const s of this.#sum) meanSq += (s / Math.max(n, 1)) ** 2;
    const totalVariance = this.#sumSq - n * meanSq;
    const fvu = totalVariance > 0 ? this.#sse / totalVariance : Number.NaN;
    const featureDensity = this.#fired.map((c) => (n > 0 ? c / n : 0));
    let dead = 0;
    let dense = 0;
    const counts = new Array<number>(histogramBins).fill(0);
    const edges = Array.from({ length: histogramBins + 1 }, (_, i) => minLog10Density + (i * -minLog10Density) / histogramBins);
    for (const p of featureDensity) {
      if (p === 0) {
        dead++;
        continue;
      }
      if (p > denseThreshold) dense++;
      const bin = Math.floor(((Math.log10(p) - minLog10Density) / -minLog10Density) * histogramBins);
      counts[Math.min(histogramBins - 1, Math.max(0, bin))]!++;
    }
    return {
      tokens: n,
      l0: n > 0 ? this.#active / n : 0,
      l1: n > 0 ? this.#l1 / n : 0,
      mse: n > 0 ? this.#sse / (n * this.#dIn) : 0,
      fvu,
      explainedVariance: 1 - fvu,
      cosineSimilarity: n > 0 ? this.#cos / n : 0,
      l2Ratio: n > 0 ? this.#ratio / n : 0,
      relativeReconstructionBias: this.#cross !== 0 ? this.#reconSq / this.#cross : Number.NaN,
      deadFraction: dead / this.#dSae,
      denseFraction: dense / this.#dSae,
      featureDensity,
      densityHistogram: { edges, counts, dead },
    };
  }
}

/**
 * Runs a dictionary over batches of activations [..., d_in] and reports reconstruction, sparsity
 * and latent-health metrics (see ReconstructionMetrics). No model is needed: the batches can come
 * from a cache, a store or a synthetic source.
 */
export async function evaluateDictionary(dictionary: Dictionary, batches: Iterable<Tensor> | AsyncIterable<Tensor>, options: MetricsOptions = {}): Promise<ReconstructionMetrics> {
  const acc = new MetricsAccumulator(dictionary.dIn, dictionary.dSae);
  for await (const batch of batches) {
    noGrad(() => {
      const x = reshape(batch, [-1, dictionary.dIn]);
      const latents = dictionary.encode(x);
      const recon = dictionary.decode(latents);
      acc.add(x.data() as Float32Array, latents.data() as Float32Array, recon.data() as Float32Array);
    });
  }
  return acc.result(options);
}
