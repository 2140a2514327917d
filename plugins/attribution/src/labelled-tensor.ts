import { type Tensor, ValueError } from '@glassbox/tensor';

/** One axis of a labelled tensor: its name and a label for every index along it. */
export interface Axis {
  readonly name: string;
  readonly labels: readonly string[];
}

/**
 * A tensor whose axes carry names and per-index labels, as activation patching and attribution
 * return them: `values` [axes[0].labels.length, axes[1].labels.length, ...].
 */
export interface LabelledTensor {
  readonly values: Tensor;
  readonly axes: readonly Axis[];
}

/** Checks that the axes describe the values' shape, and returns the pair. */
export function labelled(values: Tensor, axes: readonly Axis[]): LabelledTensor {
  const fits = values.rank === axes.length && axes.every((a, i) => a.labels.length === values.shape[i]);
  if (!fits) {
    throw new ValueError('axes do not match the values', {
      op: 'labelled',
      arg: 'axes',
      expected: `${values.rank} axes of sizes [${values.shape.join(', ')}]`,
      given: `[${axes.map((a) => `${a.name}:${a.labels.length}`).join(', ')}]`,
    });
  }
  return { values, axes };
}

/** Labels 0 .. n − 1 as strings. */
export function indexLabels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

/** One entry of a labelled tensor: its value and the label on each axis. */
export interface LabelledEntry {
  readonly value: number;
  readonly index: readonly number[];
  readonly labels: Readonly<Record<string, string>>;
}

/** Every entry, in row-major order. */
export function entries(t: LabelledTensor): LabelledEntry[] {
  const data = t.values.data();
  const shape = t.values.shape;
  const out: LabelledEntry[] = [];
  for (let flat = 0; flat < data.length; flat++) {
    const index: number[] = new Array(shape.length);
    let rest = flat;
    for (let a = shape.length - 1; a >= 0; a--) {
      index[a] = rest % shape[a]!;
      rest = Math.floor(rest / shape[a]!);
    }
    const labels: Record<string, string> = {};
    t.axes.forEach((axis, a) => {
      labels[axis.name] = axis.labels[index[a]!]!;
    });
    out.push({ value: data[flat]!, index, labels });
  }
  return out;
}

/** The k entries of largest magnitude (or largest value with `signed`), best first. */
export function topEntries(t: LabelledTensor, k: number, options: { signed?: boolean } = {}): LabelledEntry[] {
  const key = (e: LabelledEntry) => (options.signed ? e.value : Math.abs(e.value));
  return entries(t)
    .sort((a, b) => key(b) - key(a))
    .slice(0, k);
}

/** A JSON-ready form: axes with labels, shape and the values as nested arrays. */
export function labelledToJSON(t: LabelledTensor): { axes: Axis[]; shape: number[]; values: unknown } {
  return { axes: t.axes.map((a) => ({ name: a.name, labels: [...a.labels] })), shape: [...t.values.shape], values: t.values.toArray() };
}
