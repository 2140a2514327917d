import type { GlobalOptions } from './global-options.ts';

/** Where a command prints: human lines (silenced by --quiet) or one JSON object (--json). */
export interface Output {
  line(text: string): void;
  json(value: unknown): void;
  readonly wantsJson: boolean;
}

export function createOutput(options: Pick<GlobalOptions, 'json' | 'quiet'>): Output {
  return {
    wantsJson: options.json === true,
    line(text) {
      if (!options.quiet && !options.json) process.stdout.write(`${text}\n`);
    },
    json(value) {
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}
