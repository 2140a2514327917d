import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The node arguments that start the CLI from source, as the `glassbox` bin does (tsx as a loader, so signals reach the CLI itself). */
export const cliArgs = ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, fileURLToPath(new URL('../main.ts', import.meta.url))];

/** Runs the real CLI in a child process, as a user would. */
export function glassbox(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...cliArgs, ...args], { encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
