import { stat } from 'node:fs/promises';

/** Whether something is at `path` (of the given kind, when one is named); false where it cannot be read. */
export async function pathExists(path: string, kind?: 'file' | 'directory'): Promise<boolean> {
  try {
    const found = await stat(path);
    return kind === undefined || (kind === 'file' ? found.isFile() : found.isDirectory());
  } catch {
    return false;
  }
}
