import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile, ValueError, pathExists } from '@glassbox/tensor';
import type { Output } from '../output.ts';

export interface TensorSummary {
  name: string;
  dtype: string;
  shape: number[];
}

export type Inspection =
  | { kind: 'safetensors'; path: string; tensors: TensorSummary[]; parameters: number; metadata: Record<string, string> }
  | { kind: 'run'; path: string; manifest: Record<string, unknown> }
  | { kind: 'sae'; path: string; config: Record<string, unknown>; weights: Inspection | null }
  | { kind: 'model'; path: string; config: Record<string, unknown>; weights: Inspection | null };

async function readJson(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ValueError('not valid JSON', { op: 'inspect', arg: 'path', given: `${path}: ${(error as Error).message}` });
  }
}

async function inspectSafetensors(path: string): Promise<Inspection> {
  const file = await SafetensorsFile.open(path);
  try {
    const tensors = file.keys().map((name) => {
      const { dtype, shape } = file.info(name);
      return { name, dtype, shape };
    });
    const parameters = tensors.reduce((total, t) => total + t.shape.reduce((a, b) => a * b, 1), 0);
    return { kind: 'safetensors', path, tensors, parameters, metadata: file.metadata };
  } finally {
    await file.close();
  }
}

async function firstSafetensors(folder: string, names: readonly string[]): Promise<Inspection | null> {
  for (const name of names) {
    if (await pathExists(join(folder, name))) return inspectSafetensors(join(folder, name));
  }
  return null;
}

/** Works out what `path` is (a safetensors file, a run, an SAE folder or a model folder) and summarises it. */
export async function inspect(path: string): Promise<Inspection> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    throw new ValueError('no such file or folder', { op: 'inspect', arg: 'path', expected: 'an existing safetensors file, run, SAE or model folder', given: path });
  }
  if (info.isFile()) {
    if (!path.endsWith('.safetensors')) {
      throw new ValueError('unknown file type', { op: 'inspect', arg: 'path', expected: 'a .safetensors file or a folder', given: path });
    }
    return inspectSafetensors(path);
  }
  if (await pathExists(join(path, 'manifest.json'))) return { kind: 'run', path, manifest: await readJson(join(path, 'manifest.json')) };
  if (await pathExists(join(path, 'cfg.json'))) {
    return { kind: 'sae', path, config: await readJson(join(path, 'cfg.json')), weights: await firstSafetensors(path, ['sae_weights.safetensors', 'sae.safetensors']) };
  }
  if (await pathExists(join(path, 'config.json'))) {
    return { kind: 'model', path, config: await readJson(join(path, 'config.json')), weights: await firstSafetensors(path, ['model.safetensors']) };
  }
  throw new ValueError('nothing to inspect here', {
    op: 'inspect',
    arg: 'path',
    expected: 'a folder with manifest.json (run), cfg.json (SAE) or config.json (model)',
    given: path,
  });
}

function describeTensors(out: Output, summary: Extract<Inspection, { kind: 'safetensors' }>): void {
  out.line(`${summary.tensors.length} tensors, ${summary.parameters.toLocaleString('en-US')} values`);
  for (const t of summary.tensors) out.line(`  ${t.name}  ${t.dtype}  [${t.shape.join(', ')}]`);
  for (const [k, v] of Object.entries(summary.metadata)) out.line(`  metadata ${k}: ${v}`);
}

export async function inspectCommand(path: string, out: Output): Promise<void> {
  const result = await inspect(path);
  if (out.wantsJson) {
    out.json(result);
    return;
  }
  out.line(`${path}: ${result.kind}`);
  switch (result.kind) {
    case 'safetensors':
      describeTensors(out, result);
      break;
    case 'run': {
      const m = result.manifest;
      out.line(`  name ${String(m.name)}, status ${String(m.status)}, seed ${String(m.seed)}, backend ${String(m.backend)}`);
      out.line(`  artifacts: ${Object.keys((m.artifacts as Record<string, string>) ?? {}).join(', ') || 'none'}`);
      break;
    }
    case 'sae':
    case 'model':
      for (const [k, v] of Object.entries(result.config)) if (typeof v !== 'object') out.line(`  ${k}: ${String(v)}`);
      if (result.weights?.kind === 'safetensors') describeTensors(out, result.weights);
      break;
  }
}
