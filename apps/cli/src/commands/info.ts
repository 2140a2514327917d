import { availableBackends, getBackend } from '@glassbox/tensor';
import type { Output } from '../output.ts';

export interface BackendInfo {
  available: string[];
  selected: string;
}

export function backendInfo(): BackendInfo {
  return { available: availableBackends(), selected: getBackend().name };
}

/** `glassbox info`: which backends exist and which one is in use. */
export async function infoCommand(out: Output): Promise<void> {
  const info = backendInfo();
  if (out.wantsJson) {
    out.json({ backends: info });
    return;
  }
  out.line(`backends: ${info.available.join(', ')}`);
  out.line(`selected: ${info.selected}`);
}
