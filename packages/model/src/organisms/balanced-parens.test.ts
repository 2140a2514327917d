import { describe, expect, test } from 'vitest';
import { balancedParensData, isBalanced, parensText, trainBalancedParens } from './balanced-parens.ts';

describe('balanced parentheses', () => {
  test('isBalanced', () => {
    expect(['', '()', '(())()', '((()))'].every(isBalanced)).toBe(true);
    expect([')(', '(()', '())(()', '('].some(isBalanced)).toBe(false);
  });

  test('the data set is seeded, labelled correctly, about half balanced, with hard negatives', () => {
    const data = balancedParensData({ length: 10, count: 400, seed: 3 });
    expect(data.tokens.shape).toEqual([400, 11]);
    const rows = data.tokens.toArray() as number[][];
    const labels = Array.from(data.labels.data());
    rows.forEach((row, i) => {
      expect(row[0]).toBe(0);
      expect(labels[i]).toBe(isBalanced(parensText(row)) ? 1 : 0);
    });
    const positive = labels.filter((l) => l === 1).length / labels.length;
    expect(positive).toBeGreaterThan(0.4);
    expect(positive).toBeLessThan(0.6);
    const hard = rows.filter((row, i) => labels[i] === 0 && parensText(row).split('(').length - 1 === 5);
    expect(hard.length).toBeGreaterThan(50);
    expect(balancedParensData({ length: 10, count: 400, seed: 3 }).tokens.toArray()).toEqual(rows);
    expect(() => balancedParensData({ length: 7, count: 1 })).toThrow(/even/);
  });

  test('a small classifier beats the majority class, and counting alone, on strings it never saw', async () => {
    const { train, test: heldOut, testAccuracy, baseline } = await trainBalancedParens({ length: 16, trainCount: 400, testCount: 600, steps: 120, nLayers: 1, seed: 0 });
    // Held out: no test string occurs in the training set.
    const seen = new Set((train.tokens.toArray() as number[][]).map((row) => parensText(row)));
    const rows = heldOut.tokens.toArray() as number[][];
    expect(rows.length).toBeGreaterThan(300);
    expect(rows.some((row) => seen.has(parensText(row)))).toBe(false);
    expect(baseline).toBeLessThan(0.65);
    // Equal counts of '(' and ')' label a quarter of the negatives (the hard ones) wrongly.
    const labels = Array.from(heldOut.labels.data());
    const byCounting = rows.filter((row, i) => (parensText(row).split('(').length - 1 === 8 ? 1 : 0) === labels[i]).length / rows.length;
    expect(byCounting).toBeLessThan(0.85);
    expect(testAccuracy).toBeGreaterThan(Math.max(baseline + 0.3, byCounting + 0.05));
  }, 120_000);
});
