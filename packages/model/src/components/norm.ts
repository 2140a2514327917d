import type { TransformerConfig } from '../config.ts';
import { LayerNorm } from './layer-norm.ts';
import { RMSNorm } from './rms-norm.ts';

export type Norm = LayerNorm | RMSNorm;

/** The normalisation layer the configuration asks for, or null for none. */
export function makeNorm(cfg: TransformerConfig): Norm | null {
  switch (cfg.normalizationType) {
    case 'LN':
      return new LayerNorm(cfg, true);
    case 'LNPre':
      return new LayerNorm(cfg, false);
    case 'RMS':
      return new RMSNorm(cfg, true);
    case 'RMSPre':
      return new RMSNorm(cfg, false);
    default:
      return null;
  }
}
