import { Command, CommanderError } from 'commander';
import { gpu, setBackend, setWasmThreads } from '@glassbox/tensor';
import { infoCommand } from './commands/info.ts';
import { inspectCommand } from './commands/inspect.ts';
import { predictCommand, type PredictOptions } from './commands/predict.ts';
import { trainModelCommand } from './commands/train-model.ts';
import { loadModel } from './load-model.ts';
import { addPluginCommand } from './run-plugin-command.ts';
import { attributionPlugin } from '@glassbox/plugin-attribution';
import { loadSae, sdlPlugin } from '@glassbox/plugin-sdl';
import { runDemo } from './demo/demo.ts';
import { silentProgress, terminalProgress } from '@glassbox/core';
import { type GlobalOptions, parseSeed, parseThreads } from './global-options.ts';
import { createOutput } from './output.ts';

/** Errors print as one line; --verbose adds the stack. */
function report(error: unknown, verbose: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`glassbox: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
}

// Piping into `head` closes stdout early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command()
  .name('glassbox')
  .description('A workbench for mechanistic interpretability.')
  .option('--backend <name>', 'tensor backend: js | wasm | gpu (default: the fastest available, or GLASSBOX_BACKEND); GLASSBOX_GPU_MODE picks the gpu mode, webgpu included (in Node through Dawn: a Vulkan driver and glibc 2.38 or newer)')
  .option('--threads <n>', 'worker threads for backends that use them')
  .option('--seed <n>', 'random seed', '0')
  .option('--out <dir>', 'folder for run directories', 'runs')
  .option('--json', 'machine-readable output')
  .option('--quiet', 'print only errors')
  .option('--verbose', 'print stack traces on error')
  .showSuggestionAfterError(true)
  .exitOverride()
  .configureOutput({
    // Commander's own errors (unknown option, missing argument) become one line too.
    outputError: (text, write) => write(`glassbox: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`),
  })
  .hook('preAction', async () => {
    const { backend, threads } = program.opts<GlobalOptions>();
    if (backend) setBackend(backend);
    if (threads !== undefined) setWasmThreads(parseThreads(threads));
    // webgpu finds its adapter first: a missing one fails here, saying why, and `info` can name it.
    if (process.env.GLASSBOX_GPU_MODE === 'webgpu') await gpu.prepareGpu();
  });

program
  .command('info')
  .description('show the tensor backends available and selected; with --model, summarise a model')
  .option('--model <path>', 'a Hugging Face model folder, a run directory or a checkpoint folder')
  .action(async ({ model }: { model?: string }) => infoCommand(createOutput(program.opts<GlobalOptions>()), model));

program
  .command('predict')
  .description("print a model's top next tokens after a prompt")
  .requiredOption('--model <path>', 'a Hugging Face model folder, a run directory or a checkpoint folder')
  .option('--text <text>', 'the prompt, tokenized with the model folder\'s tokenizer')
  .option('--tokens <ids>', 'the prompt as comma-separated token ids')
  .option('--top <k>', 'how many tokens to show', '5')
  .action(async ({ model, ...options }: PredictOptions & { model: string }) => predictCommand(await loadModel(model), options, createOutput(program.opts<GlobalOptions>())));

addPluginCommand(program, trainModelCommand, loadModel);
/** The plugins this CLI composes; each contributes its commands. `attribute --sae` loads SAEs with the SDL plugin's loader. */
const plugins = [sdlPlugin(), attributionPlugin({ loadDictionary: loadSae })];
for (const plugin of plugins) for (const command of plugin.commands) addPluginCommand(program, command, loadModel);

program
  .command('inspect <path>')
  .description('summarise a safetensors file, SAE folder, model folder or run directory')
  .action(async (path: string) => inspectCommand(path, createOutput(program.opts<GlobalOptions>())));

program
  .command('demo')
  .description('run the end-to-end demonstration')
  .action(async () => {
    const globals = program.opts<GlobalOptions>();
    const out = createOutput(globals);
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    await runDemo({
      seed: parseSeed(globals.seed),
      out: globals.out,
      progress: globals.quiet || globals.json ? silentProgress : terminalProgress(),
      signal: controller.signal,
      log: (line) => out.line(line),
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  report(error, program.opts<GlobalOptions>().verbose === true);
  process.exit(1);
}
