#!/usr/bin/env node
// Runs the CLI from its TypeScript source with tsx as a loader: no build step, and Ctrl-C reaches the CLI itself.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
// Ctrl-C reaches the whole process group; the CLI handles it, this wrapper only waits for it.
process.on('SIGINT', () => {});
const result = spawnSync(process.execPath, ['--import', tsx, main, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
