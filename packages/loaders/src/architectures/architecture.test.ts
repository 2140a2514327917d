import { describe, expect, it } from 'vitest';
import { transpose } from './architecture.ts';

describe('transpose', () => {
  it.each([
    [1, 1],
    [3, 5],
    [64, 64],
    [130, 67],
    [65, 200],
  ])('lays out [%i, %i] as its transpose, across tile edges', (rows, cols) => {
    const a = Float32Array.from({ length: rows * cols }, (_, i) => i * 0.5 - 7);
    const expected = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expected[c * rows + r] = a[r * cols + c]!;
    expect(transpose(a, rows, cols)).toEqual(expected);
  });
});
