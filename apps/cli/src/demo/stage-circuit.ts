import { readFile } from 'node:fs/promises';
import { type CommandDescriptor, type ProgressReporter, RunDirectory, resolveOptions } from '@glassbox/core';
import type { HookedTransformer } from '@glassbox/model';
import { attributionPlugin } from '@glassbox/plugin-attribution';
import { Generator, getBackend } from '@glassbox/tensor';

export interface LabelledJson {
  axes: Array<{ name: string; labels: string[] }>;
  values: number[][];
  cost: { forward: number; backward: number };
}

export interface CircuitJson {
  nodes: Array<{ id: string; kind: string; layer: number; head?: number; inCircuit: boolean }>;
  edges: Array<{ source: string; target: string; input: string; score: number; inCircuit: boolean }>;
}

export interface CircuitStage {
  patching: LabelledJson;
  attribution: LabelledJson;
  circuit: CircuitJson;
  summaries: Record<'patch' | 'attribute' | 'circuit', readonly string[]>;
}

interface StageOptions {
  runPath: string;
  model: HookedTransformer;
  seed: number;
  progress: ProgressReporter;
  signal: AbortSignal;
}

/**
 * Runs the attribution plugin's own commands on the trained organism, each in a folder of the
 * demo's run: activation patching of head outputs, AtP beside it, and an EAP circuit.
 */
export async function circuitStage(options: StageOptions): Promise<CircuitStage> {
  const commands = new Map(attributionPlugin().commands.map((c) => [c.name, c]));
  const run = async (name: 'patch' | 'attribute' | 'circuit', given: Record<string, unknown>, artifact: string) => {
    // biome-ignore lint/suspicious/noExplicitAny: each command has its own option schema
    const command = commands.get(name)! as CommandDescriptor<any>;
    const resolved = resolveOptions(name, command.options, given);
    const dir = await RunDirectory.create({ root: options.runPath, name, folderName: name, command: ['glassbox', 'demo'], config: resolved, seed: options.seed, backend: getBackend().name });
    const result = await command.run(
      { model: options.model, backend: getBackend().name, runDir: dir, resumed: false, rng: Generator.fromSeed(options.seed), progress: options.progress, signal: options.signal, log: () => {} },
      resolved,
    );
    await dir.finish('done');
    return { summary: result.summary, json: JSON.parse(await readFile(dir.file(artifact), 'utf8')) as unknown };
  };
  // The same seed gives every command the same prompt pairs.
  const patch = await run('patch', { preset: 'head_out_all_pos' }, 'patching.json');
  const attribute = await run('attribute', { method: 'atp', compare: true }, 'attribution.json');
  const circuit = await run('circuit', { method: 'eap', size: 12 }, 'circuit.json');
  return {
    patching: patch.json as LabelledJson,
    attribution: attribute.json as LabelledJson,
    circuit: circuit.json as CircuitJson,
    summaries: { patch: patch.summary, attribute: attribute.summary, circuit: circuit.summary },
  };
}
