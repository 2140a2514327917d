import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { type Tensor, ValueError, saveTensors, writeFileAtomic } from '@glassbox/tensor';

export interface Manifest {
  name: string;
  /** The command line that produced the run. */
  command: string[];
  /** The full resolved configuration, defaults included. */
  config: Record<string, unknown>;
  seed: number;
  backend: string;
  versions: Record<string, string>;
  gitCommit: string | null;
  status: 'running' | 'interrupted' | 'done' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  /** Wall-clock seconds per named phase. */
  timings: Record<string, number>;
  /** Artifact name → path relative to the run directory. */
  artifacts: Record<string, string>;
}

export interface CreateRunOptions {
  /** Folder that holds runs; defaults to `runs` in the working directory. */
  root?: string;
  name: string;
  command: readonly string[];
  config: Record<string, unknown>;
  seed: number;
  backend: string;
  versions?: Record<string, string>;
  now?: Date;
  /** The folder's exact name instead of `<timestamp>-<name>`: for stages nested in a larger run. */
  folderName?: string;
}

function timestamp(date: Date): string {
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

/**
 * A run's folder, `runs/<timestamp>-<name>/`: manifest.json (kept current), artifacts
 * (safetensors and JSON), metrics.jsonl and report.md. Every write but the metrics append is atomic.
 */
export class RunDirectory {
  private constructor(
    readonly path: string,
    private manifest: Manifest,
  ) {}

  static async create(options: CreateRunOptions): Promise<RunDirectory> {
    if (!/^[a-z0-9][a-z0-9-]*$/i.test(options.name)) {
      throw new ValueError('bad run name', { op: 'RunDirectory.create', arg: 'name', expected: 'letters, digits and dashes', given: JSON.stringify(options.name) });
    }
    const root = resolve(options.root ?? 'runs');
    const base = options.folderName ?? `${timestamp(options.now ?? new Date())}-${options.name}`;
    await mkdir(root, { recursive: true });
    // Two runs started in the same second get distinct folders.
    let path = join(root, base);
    for (let i = 2; ; i++) {
      try {
        await mkdir(path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        path = join(root, `${base}-${i}`);
      }
    }
    const run = new RunDirectory(path, {
      name: options.name,
      command: [...options.command],
      config: options.config,
      seed: options.seed,
      backend: options.backend,
      versions: { node: process.version, ...options.versions },
      gitCommit: gitCommit(),
      status: 'running',
      startedAt: (options.now ?? new Date()).toISOString(),
      finishedAt: null,
      timings: {},
      artifacts: {},
    });
    await run.saveManifest();
    return run;
  }

  /** Reopens an existing run (to resume it or to read it). */
  static async open(path: string): Promise<RunDirectory> {
    const manifestPath = join(path, 'manifest.json');
    let text: string;
    try {
      text = await readFile(manifestPath, 'utf8');
    } catch {
      throw new ValueError('not a run directory', { op: 'RunDirectory.open', arg: 'path', expected: 'a folder holding manifest.json', given: path });
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(text) as Manifest;
    } catch (error) {
      throw new ValueError('manifest.json is not valid JSON', { op: 'RunDirectory.open', arg: 'path', given: `${manifestPath}: ${(error as Error).message}` });
    }
    return new RunDirectory(resolve(path), manifest);
  }

  get info(): Readonly<Manifest> {
    return this.manifest;
  }

  /** Absolute path of a file inside the run. */
  file(name: string): string {
    const full = resolve(this.path, name);
    if (relative(this.path, full).startsWith('..')) {
      throw new ValueError('path escapes the run directory', { op: 'RunDirectory.file', arg: 'name', given: name });
    }
    return full;
  }

  private async saveManifest(): Promise<void> {
    await writeFileAtomic(join(this.path, 'manifest.json'), `${JSON.stringify(this.manifest, null, 2)}\n`);
  }

  private async record(artifact: string, name: string): Promise<void> {
    this.manifest.artifacts[artifact] = name;
    await this.saveManifest();
  }

  async writeJson(name: string, value: unknown, artifact = name): Promise<string> {
    const path = this.file(name);
    await mkdir(resolve(path, '..'), { recursive: true });
    await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
    await this.record(artifact, name);
    return path;
  }

  async writeText(name: string, text: string, artifact = name): Promise<string> {
    const path = this.file(name);
    await mkdir(resolve(path, '..'), { recursive: true });
    await writeFileAtomic(path, text);
    await this.record(artifact, name);
    return path;
  }

  async writeTensors(name: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>, artifact = name): Promise<string> {
    const path = this.file(name);
    await mkdir(resolve(path, '..'), { recursive: true });
    await saveTensors(path, tensors, metadata);
    await this.record(artifact, name);
    return path;
  }

  /** Appends one record to metrics.jsonl. */
  async logMetrics(record: Readonly<Record<string, number | string>>): Promise<void> {
    await appendFile(this.file('metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  /** Runs `fn` and records its wall-clock time under `phase` in the manifest. */
  async time<T>(phase: string, fn: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.manifest.timings[phase] = (this.manifest.timings[phase] ?? 0) + (performance.now() - start) / 1000;
      await this.saveManifest();
    }
  }

  /** Marks a reopened run as running again. */
  async resume(): Promise<void> {
    this.manifest.status = 'running';
    this.manifest.finishedAt = null;
    await this.saveManifest();
  }

  async finish(status: Manifest['status']): Promise<void> {
    this.manifest.status = status;
    this.manifest.finishedAt = new Date().toISOString();
    await this.saveManifest();
  }
}
