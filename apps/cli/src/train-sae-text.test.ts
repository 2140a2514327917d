import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '@glassbox/loaders';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glassbox } from './testing/run-cli.ts';

/** The tiny GPT-2 Hugging Face folder of the loaders' tests: 96 tokens, nCtx 16, d_model 32, BOS id 95, no tokenizer files. */
const GPT2_TINY = fileURLToPath(new URL('../../../packages/loaders/src/fixtures/hf/gpt2-tiny/', import.meta.url));
const HOOK = 'blocks.1.hook_resid_pre';

/** A byte-level BPE vocabulary that fits the tiny model: lowercase letters, space (Ġ), '.', newline (Ċ), a few merges, and <|endoftext|> at the model's BOS id. */
function tinyTokenizerFiles(): { vocab: Record<string, number>; merges: string } {
  const symbols = [...'abcdefghijklmnopqrstuvwxyz', 'Ġ', '.', 'Ċ'];
  const merges: [string, string][] = [
    ['Ġ', 't'],
    ['h', 'e'],
    ['Ġt', 'he'],
    ['a', 't'],
    ['Ġ', 'c'],
  ];
  const vocab: Record<string, number> = {};
  for (const s of [...symbols, ...merges.map(([a, b]) => a + b)]) vocab[s] = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = 95;
  return { vocab, merges: ['#version: 0.2', ...merges.map((m) => m.join(' '))].join('\n') };
}

/** Deterministic sentences over a small word list. */
function corpus(sentences: number): string {
  const words = ['the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', 'at', 'hat', 'red', 'big'];
  const lines: string[] = [];
  for (let s = 0; s < sentences; s++) lines.push(`${Array.from({ length: 6 }, (_, w) => words[(s * 7 + w * 5 + (s % 3)) % words.length]).join(' ')}.`);
  return lines.join('\n');
}

async function onlyRun(root: string, suffix: string): Promise<string> {
  const names = (await readdir(root)).filter((n) => n.endsWith(suffix));
  expect(names).toHaveLength(1);
  return join(root, names[0]!);
}

describe('train-sae --source model --text reads a Hugging Face model over a text file', () => {
  let root = '';
  let model = '';
  let text = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'glassbox-sae-text-'));
    model = join(root, 'gpt2-tiny');
    await mkdir(model);
    for (const file of ['config.json', 'model.safetensors']) await copyFile(join(GPT2_TINY, file), join(model, file));
    const { vocab, merges } = tinyTokenizerFiles();
    await writeFile(join(model, 'vocab.json'), JSON.stringify(vocab));
    await writeFile(join(model, 'merges.txt'), merges);
    text = join(root, 'corpus.txt');
    await writeFile(text, corpus(40));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("saves a SAELens SAE with the hook's width, the context size and BOS use, and eval-sae reads the same text", async () => {
    const sae = glassbox('--out', join(root, 'sae'), '--seed', '3', '--quiet', 'train-sae', '--source', 'model', '--model', model, '--hook', HOOK, '--text', text, '--d-sae', '48', '--k', '4', '--steps', '5', '--batch-size', '32');
    expect(sae.stderr).toBe('');
    expect(sae.code).toBe(0);
    const run = await onlyRun(join(root, 'sae'), '-train-sae');
    const cfg = JSON.parse(await readFile(join(run, 'saes', 'topk-w48-k4', 'cfg.json'), 'utf8'));
    // d_in is the model's d_model (32); the context defaults to the model's nCtx (16) and each sequence starts with <|endoftext|>.
    expect(cfg).toMatchObject({ d_in: 32, d_sae: 48, metadata: { hook_name: HOOK, context_size: 16, prepend_bos: true, dataset_path: text } });
    const summary = JSON.parse(await readFile(join(run, 'train-summary.json'), 'utf8'));
    expect(summary.tokens).toBe(5 * 32);
    expect(Number.isFinite(summary.runs[0].loss)).toBe(true);

    // eval-sae reads the SAE's own hook over the same text.
    const evaluated = glassbox('--out', join(root, 'eval'), '--quiet', 'eval-sae', '--sae', join(run, 'saes', 'topk-w48-k4'), '--source', 'model', '--model', model, '--text', text, '--batches', '2', '--batch-size', '32');
    expect(evaluated.stderr).toBe('');
    expect(evaluated.code).toBe(0);
    const metrics = JSON.parse(await readFile(join(await onlyRun(join(root, 'eval'), '-eval-sae'), 'eval.json'), 'utf8'));
    expect(metrics.l0).toBeGreaterThan(0);
    expect(metrics.l0).toBeLessThanOrEqual(4);
  });

  it('takes --context-size', async () => {
    const sae = glassbox('--out', join(root, 'sae-8'), '--quiet', 'train-sae', '--source', 'model', '--model', model, '--hook', HOOK, '--text', text, '--context-size', '8', '--d-sae', '16', '--k', '2', '--steps', '2', '--batch-size', '16');
    expect(sae.stderr).toBe('');
    expect(sae.code).toBe(0);
    const cfg = JSON.parse(await readFile(join(await onlyRun(join(root, 'sae-8'), '-train-sae'), 'saes', 'topk-w16-k2', 'cfg.json'), 'utf8'));
    expect(cfg.metadata).toMatchObject({ context_size: 8, prepend_bos: true });
  });

  // The missing file and --text with --tokens are covered beside the plugin code (text-tokens.test.ts).
  it('says when the model has no tokenizer or the text is too short', async () => {
    const args = (...more: string[]) => glassbox('--out', join(root, 'failed'), '--quiet', 'train-sae', '--source', 'model', '--hook', HOOK, '--steps', '1', '--batch-size', '8', ...more);

    const noTokenizer = args('--model', GPT2_TINY, '--text', text);
    expect(noTokenizer.code).not.toBe(0);
    expect(noTokenizer.stderr).toMatch(/no tokenizer.*--text/);

    const short = join(root, 'short.txt');
    await writeFile(short, 'the cat sat.');
    const count = (await loadTokenizer(model)).encode('the cat sat.').length;
    const tooShort = args('--model', model, '--text', short);
    expect(tooShort.code).not.toBe(0);
    // 16 positions less the BOS: 15 text tokens make one sequence.
    expect(tooShort.stderr).toContain(`at least 15 tokens`);
    expect(tooShort.stderr).toContain(`${count} tokens in ${short}`);
  });
});
