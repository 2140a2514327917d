import { Command, CommanderError } from 'commander';
import { runDemo } from './demo.ts';

const program = new Command()
  .name('glassbox')
  .description('A workbench for mechanistic interpretability.')
  .option('--verbose', 'print stack traces on error')
  .option('--seed <n>', 'random seed', '0')
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

program
  .command('demo')
  .description('run the end-to-end demonstration')
  .action(async () => {
    const { seed } = program.opts<{ seed: string }>();
    await runDemo({ seed: Number(seed) });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const verbose = program.opts<{ verbose?: boolean }>().verbose;
  process.stderr.write(`glassbox: ${verbose && error instanceof Error ? error.stack : error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
