import { type CommandDescriptor, type OptionSpec, RunDirectory, type RunResult, type Tokenizer, resolveOptions, silentProgress, terminalProgress } from '@glassbox/core';
import { Generator, ValueError, getBackend } from '@glassbox/tensor';
import type { Command } from 'commander';
import { type GlobalOptions, parseSeed } from './global-options.ts';
import { createOutput } from './output.ts';

/** Loads `--model` for commands that need one, with its tokenizer where it has one; supplied by the app, which knows the model packages. */
export type ModelLoader = (path: string) => Promise<{ model: unknown; tokenizer?: Tokenizer | null }>;

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function flag(name: string, spec: OptionSpec): string {
  return spec.type === 'boolean' ? `--${kebab(name)}` : `--${kebab(name)} <value>`;
}

function help(spec: OptionSpec): string {
  const choices = spec.type === 'enum' ? ` (${spec.choices.join(' | ')})` : '';
  const fallback = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
  return `${spec.description}${choices} [default: ${fallback}]`;
}

/** Interrupts on Ctrl-C: the first asks the command to stop at a safe point, the second exits at once. */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nglassbox: stopping at the next checkpoint (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/**
 * Adds a plugin's command to the CLI: schema options become flags, and the action builds the
 * run directory and context, runs the command and prints its summary.
 */
// biome-ignore lint/suspicious/noExplicitAny: commands carry their own option schemas
export function addPluginCommand(program: Command, descriptor: CommandDescriptor<any>, loadModel?: ModelLoader): void {
  const command = program.command(descriptor.name).description(descriptor.description);
  for (const [name, spec] of Object.entries(descriptor.options as Record<string, OptionSpec>)) command.option(flag(name, spec), help(spec));
  if (descriptor.needsModel) command.option('--model <path>', 'model folder or run directory (required)');
  command.option('--resume <run>', 'continue an interrupted run from its last checkpoint');
  command.action(async (given: Record<string, unknown>) => {
    const globals = program.opts<GlobalOptions>();
    const { resume, ...givenValues } = given;
    // A resumed run continues with the configuration it was started with, seed and model included.
    const previous = resume ? await RunDirectory.open(String(resume)) : null;
    const values = previous ? previous.info.config : givenValues;
    const { model: modelPath, ...rest } = values;
    // A command that takes `--model` in only some modes declares `model` among its own options.
    const optionalModel = !descriptor.needsModel && 'model' in descriptor.options;
    const options = resolveOptions(descriptor.name, descriptor.options, optionalModel ? values : rest);
    if (descriptor.needsModel && typeof modelPath !== 'string') {
      throw new ValueError('this command needs a model', { op: descriptor.name, arg: '--model', expected: 'a model folder, run directory or checkpoint folder', given: 'nothing' });
    }
    const seed = previous ? previous.info.seed : parseSeed(globals.seed);
    const runDir = previous
      ? previous
      : await RunDirectory.create({
          root: globals.out,
          name: descriptor.name,
          command: ['glassbox', ...process.argv.slice(2)],
          config: { ...options, ...(modelPath ? { model: modelPath } : {}) },
          seed,
          backend: getBackend().name,
        });
    if (resume) await runDir.resume();
    const out = createOutput(globals);
    const wantsModel = descriptor.needsModel || (optionalModel && typeof modelPath === 'string' && modelPath !== '');
    const loaded = wantsModel && loadModel ? await loadModel(String(modelPath)) : undefined;
    const interrupt = interruptSignal();
    let result: RunResult;
    try {
      result = await descriptor.run(
        {
          model: loaded?.model,
          ...(loaded?.tokenizer ? { tokenizer: loaded.tokenizer } : {}),
          backend: getBackend().name,
          runDir,
          resumed: Boolean(resume),
          rng: Generator.fromSeed(seed),
          progress: globals.quiet || globals.json ? silentProgress : terminalProgress(),
          signal: interrupt.signal,
          log: (line) => out.line(line),
        },
        options,
      );
    } catch (error) {
      await runDir.finish('failed');
      throw error;
    } finally {
      interrupt.dispose();
    }
    if (interrupt.signal.aborted) {
      await runDir.finish('interrupted');
      process.stderr.write(`glassbox: interrupted; resume with --resume ${runDir.path}\n`);
      process.exitCode = 130;
      return;
    }
    await runDir.finish('done');
    if (out.wantsJson) out.json({ run: runDir.path, ...result });
    else {
      for (const line of result.summary) out.line(line);
      out.line(`run: ${runDir.path}`);
    }
  });
}
