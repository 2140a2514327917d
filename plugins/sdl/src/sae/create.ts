import type { Architecture, SaeConfig } from './config.ts';
import { BatchTopKSae } from './batch-topk.ts';
import { GatedSae } from './gated.ts';
import { JumpReluSae } from './jump-relu.ts';
import { MatryoshkaBatchTopKSae } from './matryoshka-batch-topk.ts';
import type { SaeInitOptions, SparseAutoencoder } from './sparse-autoencoder.ts';
import { StandardSae } from './standard.ts';
import { TopKSae } from './topk.ts';

/** One constructor per architecture; the mapped type makes a missing one a compile error. */
const CONSTRUCTORS: { [A in Architecture]: new (config: SaeConfig, options?: SaeInitOptions) => SparseAutoencoder } = {
  standard: StandardSae,
  topk: TopKSae,
  batchtopk: BatchTopKSae,
  jumprelu: JumpReluSae,
  gated: GatedSae,
  matryoshka_batchtopk: MatryoshkaBatchTopKSae,
};

/** A freshly initialised SAE of the config's architecture. */
export function createSae(config: SaeConfig, options: SaeInitOptions = {}): SparseAutoencoder {
  return new CONSTRUCTORS[config.architecture](config, options);
}

/** The decoder-norm handling each architecture trains with unless told otherwise. */
export function defaultDecoderNorm(architecture: Architecture): 'unit' | 'penalty' {
  return architecture === 'standard' || architecture === 'gated' ? 'penalty' : 'unit';
}
