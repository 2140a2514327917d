import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathExists } from './path-exists.ts';

describe('pathExists', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'glassbox-path-exists-'));
    await writeFile(join(dir, 'file.txt'), 'x');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('tells files, folders and missing paths apart', async () => {
    const file = join(dir, 'file.txt');
    expect([await pathExists(file), await pathExists(file, 'file'), await pathExists(file, 'directory')]).toEqual([true, true, false]);
    expect([await pathExists(dir), await pathExists(dir, 'directory'), await pathExists(dir, 'file')]).toEqual([true, true, false]);
    expect([await pathExists(join(dir, 'missing')), await pathExists(join(dir, 'missing'), 'file')]).toEqual([false, false]);
  });
});
