import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonAtomic as writeJsonFile } from '@glassbox/tensor';

export { temporarySibling } from '@glassbox/tensor';

/** Writes pretty JSON atomically (a flushed temporary sibling renamed over the target), creating the folder. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeJsonFile(path, value);
}
