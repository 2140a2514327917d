/**
 * Pieces of gpu.js kernel source. Kernels see every tensor as a flat float array; shapes, strides
 * and offsets are baked into the source as literals, so one compiled kernel serves one shape class.
 * Index arithmetic is done in floats (exact below 2^24) with a +0.5 guard on every division, so a
 * shader's approximate division can never round a quotient down past an integer.
 */

/** A float literal that gpu.js reads as a float in every target (GLSL, WGSL, wasm, JS). */
export function lit(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`no literal for ${x}`);
  let s = Math.abs(x) >= 1e21 || (x !== 0 && Math.abs(x) < 1e-6) ? x.toExponential() : String(x);
  if (!/[.e]/.test(s)) s += '.0';
  else if (!s.includes('.')) s = s.replace('e', '.0e');
  return x < 0 ? `(${s})` : s;
}

/**
 * Statements that split the flat index `flat` into coordinates `${name}0 ..` of `shape`, in
 * row-major order. Size-1 axes get the literal 0.
 */
export function splitIndex(flat: string, shape: readonly number[], name: string): string {
  const lines: string[] = [];
  let rest = flat;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const d = shape[axis]!;
    const c = `${name}${axis}`;
    if (axis === 0) {
      lines.push(`const ${c} = ${rest};`);
    } else if (d === 1) {
      lines.push(`const ${c} = 0.0;`);
    } else {
      const q = `${name}q${axis}`;
      lines.push(`const ${q} = Math.floor((${rest} + 0.5) / ${lit(d)});`, `const ${c} = ${rest} - ${q} * ${lit(d)};`);
      rest = q;
    }
  }
  return lines.join('\n');
}

/** `offset + Σ coord·stride`, skipping size-1 and stride-0 axes. `coords[axis]` names each coordinate. */
export function offsetExpr(shape: readonly number[], strides: readonly number[], offset: number, coords: (axis: number) => string): string {
  const terms = [lit(offset)];
  shape.forEach((d, axis) => {
    const s = strides[axis]!;
    if (d !== 1 && s !== 0) terms.push(`${coords(axis)} * ${lit(s)}`);
  });
  return terms.join(' + ');
}

/** Helper functions a snippet may call. */
export const HELPERS = {
  toInt: `function toInt(v) { return (v === v && Math.abs(v) < 2147483648.0) ? Math.trunc(v) : 0.0; }`,
  erf: `function erf(x) {
    const z = Math.abs(x);
    const t = 1.0 / (1.0 + 0.5 * z);
    const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? 1.0 - r : r - 1.0;
  }`,
  // tanh through exp of a non-positive argument: no overflow, and the sign restored.
  tanhSafe: `function tanhSafe(x) {
    const e = Math.exp(-2.0 * Math.abs(x));
    const t = (1.0 - e) / (1.0 + e);
    return x < 0.0 ? -t : t;
  }`,
} as const;

export type HelperName = keyof typeof HELPERS;
