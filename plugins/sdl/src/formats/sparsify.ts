import { basename, join } from 'node:path';
import { noGrad, transpose, type Tensor, tensor } from '@glassbox/tensor';
import type { SaeConfig } from '../sae/config.ts';
import { TopKSae } from '../sae/topk.ts';
import { readJsonObject, readTensorFile, requireTensor } from './files.ts';
import { SaeFormatError, fieldReader } from './format-error.ts';
import { hookNameFromModulePath } from './hook-names.ts';

export const SPARSIFY_CONFIG_FILE = 'cfg.json';
export const SPARSIFY_WEIGHTS_FILE = 'sae.safetensors';

export interface LoadSparsifyOptions {
  /** The TransformerLens hook; default: mapped from the folder name (`layers.6` → `blocks.6.hook_resid_post`). */
  hookName?: string;
  /** For a transcoder folder (transcode: true), the hook its decoder writes. */
  outHookName?: string;
}

/**
 * Loads an EleutherAI sparsify SAE folder: cfg.json (num_latents, k, expansion_factor,
 * normalize_decoder, skip_connection, transcode, d_in) and sae.safetensors (encoder.weight
 * [num_latents, d_in], encoder.bias, W_dec [num_latents, d_in], b_dec). sparsify encodes
 * topk(relu(encoder(x − b_dec))), which is Glassbox's TopK SAE with the encoder transposed.
 * Folders with a skip connection are refused: that is a skip transcoder, for the transcoder plugin.
 */
export async function loadSparsify(dir: string, options: LoadSparsifyOptions = {}): Promise<TopKSae> {
  const op = 'loadSparsify';
  const cfgFile = join(dir, SPARSIFY_CONFIG_FILE);
  const weightsFile = join(dir, SPARSIFY_WEIGHTS_FILE);
  const cfg = await readJsonObject(cfgFile, op);
  const read = fieldReader(cfgFile, op, cfg);
  const tensors = await readTensorFile(weightsFile, op);
  const k = read.positiveInt('k');
  const skip = read.boolean('skip_connection', false);
  const transcode = read.boolean('transcode', false);
  read.boolean('normalize_decoder', true);
  if (skip) {
    throw new SaeFormatError(cfgFile, 'skip connections are not part of an SAE', { op, field: 'skip_connection', expected: 'false (load skip transcoders with the transcoder plugin)', given: 'true' });
  }
  // d_in is absent from older configs; the encoder's shape gives it.
  const encoder = tensors['encoder.weight'];
  const dIn = read.has('d_in') ? read.positiveInt('d_in') : encoder && encoder.rank === 2 ? encoder.shape[1]! : read.positiveInt('d_in');
  const numLatents = read.nonNegativeInt('num_latents', 0);
  const dSae = numLatents > 0 ? numLatents : Math.round(dIn * read.positiveNumber('expansion_factor'));
  if (k > dSae) throw read.fail('k', `an integer <= the number of latents (${dSae})`, k);
  const W = requireTensor(tensors, 'encoder.weight', [dSae, dIn], weightsFile, op);
  const b = requireTensor(tensors, 'encoder.bias', [dSae], weightsFile, op);
  const Wdec = requireTensor(tensors, 'W_dec', [dSae, dIn], weightsFile, op);
  const bDec = requireTensor(tensors, 'b_dec', [dIn], weightsFile, op);
  const extras = Object.keys(tensors).filter((n) => !['encoder.weight', 'encoder.bias', 'W_dec', 'b_dec'].includes(n));
  if (extras.length > 0) {
    throw new SaeFormatError(weightsFile, 'unexpected tensors', { op, field: extras[0], expected: 'only encoder.weight, encoder.bias, W_dec and b_dec', given: extras.join(', ') });
  }
  const folder = basename(dir);
  const config: SaeConfig = {
    architecture: 'topk',
    dIn,
    dSae,
    k,
    hookName: options.hookName ?? hookNameFromModulePath(folder),
    applyBDecToInput: !transcode,
    normalizeActivations: 'none',
    metadata: { sparsify_hookpoint: folder },
  };
  if (transcode && options.outHookName) config.outHookName = options.outHookName;
  const sae = new TopKSae(config);
  const Wenc: Tensor = noGrad(() => tensor(transpose(W).data(), { shape: [dIn, dSae] }));
  sae.importTensors({ W_enc: Wenc, b_enc: b, W_dec: Wdec, b_dec: bDec });
  return sae;
}
