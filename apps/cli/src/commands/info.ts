import { availableBackends, getBackend, gpu } from '@glassbox/tensor';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeModel } from '@glassbox/loaders';
import { loadModel } from '../load-model.ts';
import type { Output } from '../output.ts';

export interface BackendInfo {
  available: string[];
  selected: string;
  /** What gpu.js actually runs on here: a real device, or its CPU fallback. */
  gpu: { mode: string; device: string; renderer: string | null; note: string };
}

export function backendInfo(): BackendInfo {
  const { mode, device, renderer, note } = gpu.gpuInfo();
  return { available: availableBackends(), selected: getBackend().name, gpu: { mode, device, renderer, note } };
}

export interface ModelSummary {
  architecture: string;
  parameters: number;
  hookNames: string[];
}

/** Architecture, parameter count and hook names; a Hugging Face folder is described without reading its weights. */
async function modelSummary(path: string): Promise<ModelSummary> {
  const isHfFolder = await stat(join(path, 'config.json')).then(
    () => true,
    () => false,
  );
  const isRun = await stat(join(path, 'checkpoints')).then(
    () => true,
    () => false,
  );
  if (isHfFolder && !isRun) {
    const { architecture, parameters, hookNames } = await describeModel(path);
    return { architecture, parameters, hookNames };
  }
  const { model, source } = await loadModel(path);
  const parameters = model.parameters().reduce((total, p) => total + p.size, 0);
  return { architecture: `glassbox HookedTransformer, ${source}`, parameters, hookNames: model.hookNames() };
}

/** `glassbox info`: which backends exist, which one is in use, what the gpu backend runs on, and with --model a model summary. */
export async function infoCommand(out: Output, modelPath?: string): Promise<void> {
  const info = backendInfo();
  const model = modelPath ? await modelSummary(modelPath) : undefined;
  if (out.wantsJson) {
    out.json({ backends: info, ...(model ? { model } : {}) });
    return;
  }
  out.line(`backends: ${info.available.join(', ')}`);
  out.line(`selected: ${info.selected}`);
  out.line(`gpu: mode ${info.gpu.mode} on ${info.gpu.device}${info.gpu.renderer ? ` (${info.gpu.renderer})` : ''}. ${info.gpu.note}`);
  if (model) {
    out.line(`model: ${model.architecture}`);
    out.line(`parameters: ${model.parameters.toLocaleString('en-US')}`);
    out.line(`hook points (${model.hookNames.length}):`);
    for (const name of model.hookNames) out.line(`  ${name}`);
  }
}
