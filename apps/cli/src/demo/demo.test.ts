import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentProgress } from '@glassbox/core';
import { expect, it } from 'vitest';
import { runDemo } from './demo.ts';

it('the demo trains the organism, finds the induction circuit and writes a readable run', { timeout: 240_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'glassbox-demo-'));
  try {
    const lines: string[] = [];
    const run = await runDemo({ seed: 0, out, progress: silentProgress, signal: new AbortController().signal, log: (l) => lines.push(l) });
    const manifest = JSON.parse(await readFile(join(run, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('done');
    const report = await readFile(join(run, 'report.md'), 'utf8');
    // Every plot the report embeds exists.
    const images = [...report.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThanOrEqual(7);
    for (const image of images) expect(existsSync(join(run, image))).toBe(true);
    // The organism formed an induction head, and the report says which heads make the circuit.
    const scores = JSON.parse(await readFile(join(run, 'induction-scores.json'), 'utf8')) as Array<{ induction: number[][] }>;
    expect(Math.max(...scores.at(-1)!.induction[1]!)).toBeGreaterThan(0.4);
    expect(report).toMatch(/\*\*Circuit found\.\*\* Head L0H\d is a previous-token head .* head L1H\d is an induction head/);
    for (const stage of ['train/checkpoints', 'patch/patching.json', 'attribute/attribution.json', 'circuit/circuit.json']) expect(existsSync(join(run, stage))).toBe(true);
    expect(lines.at(-1)).toMatch(/report\.md$/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
