import type { Tensor } from '../tensor.ts';
import { AdamBase, type AdamOptions } from './adam.ts';

/**
 * torch.optim.AdamW: decoupled weight decay, p ← p·(1 − lr·wd) before the Adam update
 * (default wd 1e-2), so the decay is not rescaled by the adaptive denominator.
 */
export class AdamW extends AdamBase {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super('AdamW', params, options, true);
  }
}
