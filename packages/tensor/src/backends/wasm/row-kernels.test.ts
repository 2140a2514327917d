import { describe, expect, it } from 'vitest';
import type { Backend } from '../../backend.ts';
import { tensor } from '../../creation.ts';
import { ValueError } from '../../errors.ts';
import { crossEntropy } from '../../ops/index.ts';
import { jsBackend } from '../js/index.ts';
import { wasmBackend } from './index.ts';
import { wasmMemoryStats } from './scope.ts';
import { mismatch, pair, readWasm, rng } from './test-views.ts';

/** The message of the ValueError that `run` throws, or null. */
function thrown(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(ValueError);
    return (e as Error).message;
  }
}

/** [rows, classes] logits and int32 targets as kernel views on both backends. */
function operands(rows: number, classes: number, targets: readonly number[]) {
  const logits = pair(rng(rows * 31 + classes), [rows, classes], 'contiguous', 'float32', 'normal');
  const t = pair(rng(1), [rows], 'contiguous', 'int32');
  const data = new Int32Array(t.js.handle.length);
  data.set(targets, t.js.offset);
  jsBackend.write(t.js.handle, data);
  wasmBackend.write(t.wasm.handle, data);
  return { logits, targets: t };
}

describe('wasm crossEntropy targets', () => {
  const CASES: Array<[number, number[], number]> = [
    [5, [0, 4, 5, 1], -100],
    [5, [0, -1, 2], -100],
    [3, [2, 2, 1, 70_000, -7], -100],
    [4, [-100, 3, -2], -1],
    [1, [0, 0, 1], -100],
    [130, [129, 130], -100],
  ];

  it('throws the op-level error of the js backend for a target outside [0, classes)', () => {
    for (const [classes, targets, ignoreIndex] of CASES) {
      const tag = `${classes} classes, targets ${JSON.stringify(targets)}, ignoreIndex ${ignoreIndex}`;
      const { logits, targets: t } = operands(targets.length, classes, targets);
      const onJs = (backend: Backend<unknown>) => {
        const l = tensor(new Float32Array(targets.length * classes), { shape: [targets.length, classes], backend });
        return crossEntropy(l, tensor(Int32Array.from(targets), { backend }), { ignoreIndex, reduction: 'none' });
      };
      const expected = thrown(() => onJs(jsBackend as Backend<unknown>));
      expect(expected, tag).toMatch(/target out of range/);
      const before = wasmMemoryStats()!.liveBytes;
      expect(thrown(() => wasmBackend.kernels.crossEntropy(logits.wasm, t.wasm, ignoreIndex)), tag).toBe(expected);
      // The output and any copies are freed before the throw.
      expect(wasmMemoryStats()!.liveBytes, tag).toBe(before);
      expect(thrown(() => onJs(wasmBackend as Backend<unknown>)), tag).toBe(expected);
    }
  });

  it('skips targets equal to ignoreIndex, also inside or outside the class range', () => {
    for (const [classes, targets, ignoreIndex] of [
      [4, [1, 2, 3, 2, 0], 2],
      [4, [1, 1000, 3, 1000], 1000],
      [6, [-5, 0, 5, -5], -5],
    ] as Array<[number, number[], number]>) {
      const { logits, targets: t } = operands(targets.length, classes, targets);
      const expected = jsBackend.kernels.crossEntropy(logits.js, t.js, ignoreIndex);
      const actual = readWasm(wasmBackend.kernels.crossEntropy(logits.wasm, t.wasm, ignoreIndex), 'float32', targets.length);
      const tag = `targets ${JSON.stringify(targets)}, ignoreIndex ${ignoreIndex}`;
      expect(mismatch(actual, expected, 1e-5, 2e-6), tag).toBeNull();
      targets.forEach((target, r) => {
        expect(actual[r] === 0, `${tag} row ${r}`).toBe(target === ignoreIndex);
      });
    }
  });
});
