import { describe, expect, it } from 'vitest';
import { terminalProgress } from './progress.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WritableStream & { isTTY: boolean } };
}

describe('terminalProgress', () => {
  it('shows percentage, throughput and ETA from the elapsed time', () => {
    let t = 0;
    const { writes, stream } = fakeStream(false);
    const progress = terminalProgress({ stream, interval: 0, now: () => t });
    progress.start('train', 100, { unit: 'step' });
    t = 2000;
    progress.tick(50, { loss: 1.5 });
    expect(writes.at(-1)).toMatch(/train .* 50% 50\/100 · 25 step\/s · ETA 0:02 · 0:02 elapsed · loss 1\.5000/);
  });

  it('counts throughput from where a resumed run started', () => {
    let t = 0;
    const { writes, stream } = fakeStream(false);
    const progress = terminalProgress({ stream, interval: 0, now: () => t });
    progress.start('train', 100, { done: 80 });
    t = 1000;
    progress.tick(10);
    expect(writes.at(-1)).toMatch(/90\/100 · 10 it\/s · ETA 0:01/);
  });

  it('redraws one line on a terminal', () => {
    const { writes, stream } = fakeStream(true);
    const progress = terminalProgress({ stream, interval: 0, now: () => 0 });
    progress.start('x', 2);
    progress.tick();
    expect(writes.every((w) => w.startsWith('\r'))).toBe(true);
  });
});
