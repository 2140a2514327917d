import { availableBackends, getBackend, gpu } from '@glassbox/tensor';
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

/** `glassbox info`: which backends exist, which one is in use, and what the gpu backend runs on. */
export async function infoCommand(out: Output): Promise<void> {
  const info = backendInfo();
  if (out.wantsJson) {
    out.json({ backends: info });
    return;
  }
  out.line(`backends: ${info.available.join(', ')}`);
  out.line(`selected: ${info.selected}`);
  out.line(`gpu: mode ${info.gpu.mode} on ${info.gpu.device}${info.gpu.renderer ? ` (${info.gpu.renderer})` : ''}. ${info.gpu.note}`);
}
