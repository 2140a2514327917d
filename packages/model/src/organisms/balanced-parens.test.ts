import { describe, expect, test } from 'vitest';
import { balancedParensData, isBalanced, parensText } from './balanced-parens.ts';

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
});
