import { type Generator, ValueError } from '@glassbox/tensor';
import type { OptionsOf, OptionsSchema } from './options.ts';
import type { ProgressReporter } from './progress.ts';
import type { RunDirectory } from './run-directory.ts';

/**
 * What a command may use of the model's tokenizer: text to ids, and the id a sequence starts with.
 * Structural, so that any tokenizer (such as @glassbox/loaders' BpeTokenizer) fits without this
 * package depending on it.
 */
export interface Tokenizer {
  /** Text → token ids, without BOS. */
  encode(text: string): number[];
  /** The id prepended to each sequence (GPT-2's `<|endoftext|>`), or null where there is none. */
  readonly bosTokenId: number | null;
}

/** What a plugin's code gets to work with; the CLI and the web app build it. */
export interface RunContext<Model = unknown> {
  /** The model under study, when the command works on one. */
  readonly model: Model | undefined;
  /** The model's tokenizer, when it was loaded with one (a Hugging Face folder with tokenizer files). */
  readonly tokenizer?: Tokenizer;
  /** Name of the tensor backend in use (js, wasm, gpu). */
  readonly backend: string;
  readonly runDir: RunDirectory;
  /** Seeded from the run's seed: the only source of randomness a plugin should use. */
  readonly rng: Generator;
  readonly progress: ProgressReporter;
  /** True when this run continues an interrupted one (`--resume`): pick up from its last checkpoint. */
  readonly resumed: boolean;
  /** Aborted on Ctrl-C: stop at the next safe point, leaving a resumable checkpoint. */
  readonly signal: AbortSignal;
  /** A line for the user (suppressed by --quiet). */
  log(line: string): void;
}

export interface RunResult {
  /** Lines that summarise the outcome, for the terminal and report.md. */
  readonly summary: readonly string[];
  /** Artifact name → path relative to the run directory. */
  readonly artifacts?: Readonly<Record<string, string>>;
}

/** A CLI subcommand: its options become flags, and `run` does the work. */
export interface CommandDescriptor<S extends OptionsSchema = OptionsSchema, Model = unknown> {
  readonly name: string;
  readonly description: string;
  readonly options: S;
  /** Whether the command needs `--model`. */
  readonly needsModel?: boolean;
  run(ctx: RunContext<Model>, options: OptionsOf<S>): Promise<RunResult>;
}

/** A plugin: a name, its commands, and a main `run` over its own options. */
export interface Plugin<S extends OptionsSchema = OptionsSchema, Model = unknown> {
  readonly name: string;
  readonly description: string;
  readonly options: S;
  // biome-ignore lint/suspicious/noExplicitAny: each command has its own option schema
  readonly commands: readonly CommandDescriptor<any, Model>[];
  run(ctx: RunContext<Model>, options: OptionsOf<S>): Promise<RunResult>;
}

/** Declares a command with its option types inferred from the schema. */
export function defineCommand<S extends OptionsSchema, Model = unknown>(command: CommandDescriptor<S, Model>): CommandDescriptor<S, Model> {
  return command;
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** Checks a plugin's names once, where it is defined; there is no registry, plugins are passed around as values. */
export function definePlugin<S extends OptionsSchema, Model = unknown>(plugin: Plugin<S, Model>): Plugin<S, Model> {
  const names = [plugin.name, ...plugin.commands.map((c) => c.name)];
  for (const name of names) {
    if (!NAME.test(name)) {
      throw new ValueError('bad plugin or command name', { op: 'definePlugin', arg: 'name', expected: 'kebab-case', given: JSON.stringify(name) });
    }
  }
  const seen = new Set<string>();
  for (const command of plugin.commands) {
    if (seen.has(command.name)) {
      throw new ValueError('duplicate command', { op: 'definePlugin', arg: 'commands', expected: 'distinct names', given: command.name });
    }
    seen.add(command.name);
  }
  return plugin;
}
