import { tensor } from '../creation.ts';
import type { Tensor } from '../tensor.ts';
import type { RawTensor } from './safetensors.ts';
import { SafetensorsFile } from './safetensors-read.ts';
import { writeSafetensors } from './safetensors-write.ts';

/** Saves named tensors as one safetensors file, atomically (temporary file, then rename). */
export async function saveTensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  const raw: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    raw[name] = { dtype: t.dtype, shape: [...t.shape], data: t.data() };
  }
  await writeSafetensors(path, raw, metadata);
}

/** Loads every tensor of a safetensors file (or only `names`), reading each by offset. */
export async function loadTensors(path: string, names?: readonly string[]): Promise<Record<string, Tensor>> {
  const file = await SafetensorsFile.open(path);
  try {
    const out: Record<string, Tensor> = {};
    for (const name of names ?? file.keys()) {
      const raw = await file.read(name);
      out[name] = tensor(raw.data, { shape: raw.shape });
    }
    return out;
  } finally {
    await file.close();
  }
}
