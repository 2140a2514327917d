/**
 * The demo's embedded defaults: a configuration of the induction organism that forms its
 * induction head in a few hundred steps on a laptop CPU.
 */
export const DEMO_ORGANISM = {
  dModel: 32,
  nHeads: 2,
  nCtx: 17,
  dVocab: 16,
  batch: 24,
  steps: 300,
  lr: 2e-2,
  language: { repeatFraction: 1 },
} as const;

/** Repeated-random-token prompts for the induction scores at each checkpoint. */
export const EVAL_BATCH = 32;

/** The SAE the demo trains on the residual stream entering layer 1. */
export const DEMO_SAE = {
  hookName: 'blocks.1.hook_resid_pre',
  architecture: 'topk',
  dSae: 128,
  k: 4,
  steps: 600,
  batchSize: 256,
  lr: 1e-3,
} as const;
