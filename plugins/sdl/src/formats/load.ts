import { join } from 'node:path';
import { pathExists } from '@glassbox/tensor';
import type { SparseAutoencoder } from '../sae/sparse-autoencoder.ts';
import { SaeFormatError } from './format-error.ts';
import { SAELENS_WEIGHTS_FILE, loadSaeLens } from './saelens.ts';
import { SPARSIFY_WEIGHTS_FILE, loadSparsify } from './sparsify.ts';

export type SaeFolderFormat = 'saelens' | 'sparsify';

/** Which format a folder is in, by its weights file. */
export async function detectSaeFormat(dir: string): Promise<SaeFolderFormat> {
  if (await pathExists(join(dir, SAELENS_WEIGHTS_FILE))) return 'saelens';
  if (await pathExists(join(dir, SPARSIFY_WEIGHTS_FILE))) return 'sparsify';
  throw new SaeFormatError(dir, 'not an SAE folder', {
    op: 'loadSae',
    expected: `${SAELENS_WEIGHTS_FILE} (SAELens) or ${SPARSIFY_WEIGHTS_FILE} (sparsify) beside a cfg.json`,
    given: 'neither file',
  });
}

/** Loads a SAELens or sparsify folder, whichever it is. */
export async function loadSae(dir: string, options: { hookName?: string } = {}): Promise<SparseAutoencoder> {
  return (await detectSaeFormat(dir)) === 'saelens' ? loadSaeLens(dir, options) : loadSparsify(dir, options);
}
