/**
 * Loads a random GPT-2-small-sized checkpoint (124M parameters, float32 safetensors written by
 * hf_fixtures.py --bench) and runs it on the wasm backend, against PyTorch CPU on the same folder in
 * the same run: load time, forward tokens/s on one 128-token sequence, and peak memory.
 *
 *     pnpm exec tsx packages/loaders/scripts/load-bench.ts [results.json]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableBackends, setBackend, tensor } from '@glassbox/tensor';
import { loadPretrained } from '../src/index.ts';

const POS = 128;
const REPS = 3;

const script = fileURLToPath(new URL('./hf_fixtures.py', import.meta.url));
const folder = await mkdtemp(join(tmpdir(), 'glassbox-load-bench-'));
try {
  const torch = JSON.parse(execFileSync('/usr/bin/python3', [script, '--bench', folder], { encoding: 'utf8' }).trim().split('\n').at(-1)!);

  const backend = availableBackends().includes('wasm') ? 'wasm' : 'js';
  setBackend(backend);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const before = process.memoryUsage().rss;
  let start = performance.now();
  const { model } = await loadPretrained(folder);
  const loadS = (performance.now() - start) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss);
  const loadPeakMb = peak / 2 ** 20;

  const ids = new Int32Array(POS);
  for (let i = 0; i < POS; i++) ids[i] = (i * 7919) % model.cfg.dVocab;
  const tokens = tensor(ids, { shape: [1, POS], dtype: 'int32' });
  model.forward(tokens).data();
  const times: number[] = [];
  for (let r = 0; r < REPS; r++) {
    start = performance.now();
    model.forward(tokens).data();
    times.push((performance.now() - start) / 1000);
  }
  clearInterval(sampler);
  times.sort((a, b) => a - b);
  const forwardS = times[Math.floor(times.length / 2)]!;
  const result = {
    model: 'random GPT-2 small (124M parameters, float32)',
    glassbox: {
      backend,
      loadS,
      forwardS,
      tokensPerS: POS / forwardS,
      rssBeforeMb: before / 2 ** 20,
      peakRssDuringLoadMb: loadPeakMb,
      peakRssMb: Math.max(peak, process.resourceUsage().maxRSS * 1024) / 2 ** 20,
    },
    torch: { threads: torch.threads, version: torch.torch, loadS: torch.load_s, forwardS: torch.forward_s, tokensPerS: torch.tokens_per_s, peakRssMb: torch.peak_rss_mb },
    weightsMb: (124_439_808 * 4) / 2 ** 20,
    sequence: POS,
  };
  console.log(JSON.stringify(result, null, 2));
  const out = process.argv[2];
  if (out) await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await rm(folder, { recursive: true, force: true });
}
