import { readFile } from 'node:fs/promises';
import { SafetensorsFile, type Tensor, formatShape, tensor } from '@glassbox/tensor';
import { SaeFormatError } from './format-error.ts';

/** Parses a JSON object from a file, with a SaeFormatError for a missing file, bad JSON or a non-object. */
export async function readJsonObject(file: string, op: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new SaeFormatError(file, 'cannot read the config', { op, expected: 'a readable JSON file', given: (e as NodeJS.ErrnoException).code ?? String(e) });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SaeFormatError(file, 'the config is not valid JSON', { op, expected: 'a JSON object', given: (e as Error).message });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SaeFormatError(file, 'the config is not a JSON object', { op, expected: 'a JSON object', given: Array.isArray(value) ? 'an array' : String(value) });
  }
  return value as Record<string, unknown>;
}

/** Every tensor of a safetensors file, wrapping the reader's errors in SaeFormatError. */
export async function readTensorFile(file: string, op: string): Promise<Record<string, Tensor>> {
  let handle: SafetensorsFile;
  try {
    handle = await SafetensorsFile.open(file);
  } catch (e) {
    throw new SaeFormatError(file, 'cannot read the weights', { op, expected: 'a valid safetensors file', given: (e as Error).message });
  }
  try {
    const out: Record<string, Tensor> = {};
    for (const name of handle.keys()) {
      const raw = await handle.read(name);
      out[name] = tensor(raw.data, { shape: raw.shape, dtype: raw.dtype });
    }
    return out;
  } catch (e) {
    throw new SaeFormatError(file, 'cannot read the weights', { op, expected: 'a valid safetensors file', given: (e as Error).message });
  } finally {
    await handle.close();
  }
}

/** The named tensor, checked for float dtype and shape. */
export function requireTensor(tensors: Record<string, Tensor>, name: string, shape: readonly number[], file: string, op: string): Tensor {
  const t = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
  if (!t) {
    throw new SaeFormatError(file, `missing tensor \`${name}\``, { op, field: name, expected: `a tensor of shape ${formatShape(shape)}`, given: `tensors ${Object.keys(tensors).sort().join(', ') || '(none)'}` });
  }
  if (t.dtype !== 'float32') throw new SaeFormatError(file, `tensor \`${name}\` is not floating point`, { op, field: name, expected: 'a float tensor', given: t.dtype });
  const matches = t.rank === shape.length && t.shape.every((d, i) => d === shape[i]);
  // A [d] vector stored as [1, d] is common in hand-made files; accept it.
  const squeezable = !matches && t.size === shape.reduce((a, b) => a * b, 1) && t.shape.filter((d) => d !== 1).join() === shape.filter((d) => d !== 1).join();
  if (!matches && !squeezable) throw new SaeFormatError(file, `tensor \`${name}\` has the wrong shape`, { op, field: name, expected: formatShape(shape), given: formatShape(t.shape) });
  return matches ? t : t.reshape(shape);
}
