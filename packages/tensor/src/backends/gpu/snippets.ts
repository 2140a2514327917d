import type { BinaryKernelOp, CompareKernelOp, UnaryKernelOp } from '../../backend.ts';
import type { MapSnippet } from './kernel-factory.ts';

// Elementwise kernels as snippets over the operand values, as tfjs-backend-webgl writes them.
// NaN handling follows the js reference where the target language keeps NaN (JS, wasm, GLSL on
// most drivers); WGSL may assume no NaN, so NaN inputs are outside the gpu tolerances.

export const unarySnippets: { [K in UnaryKernelOp]: MapSnippet } = {
  neg: { body: 'return -a;' },
  exp: { body: 'return Math.exp(a);' },
  log: { body: 'return Math.log(a);' },
  sqrt: { body: 'return Math.sqrt(a);' },
  rsqrt: { body: 'return 1.0 / Math.sqrt(a);' },
  tanh: { body: 'return tanhSafe(a);', helpers: ['tanhSafe'] },
  sigmoid: { body: 'if (a >= 0.0) { return 1.0 / (1.0 + Math.exp(-a)); }\nconst e = Math.exp(a);\nreturn e / (1.0 + e);' },
  relu: { body: 'return a !== a ? a : Math.max(a, 0.0);' },
  erf: { body: 'return erf(a);', helpers: ['erf'] },
  gelu: { body: 'return 0.5 * a * (1.0 + erf(a * 0.7071067811865476));', helpers: ['erf'] },
  geluTanh: { body: 'return 0.5 * a * (1.0 + tanhSafe(0.7978845608028654 * (a + 0.044715 * a * a * a)));', helpers: ['tanhSafe'] },
  abs: { body: 'return Math.abs(a);' },
  sign: { body: 'if (a > 0.0) { return 1.0; }\nif (a < 0.0) { return -1.0; }\nreturn a;' },
};

/**
 * pow with the cases GLSL's pow leaves undefined (a negative base, a zero base) spelled out, and
 * the common small integer exponents multiplied out for accuracy.
 */
const powBody = `if (b === 0.0) { return 1.0; }
if (b === 1.0) { return a; }
if (b === 2.0) { return a * a; }
if (b === 3.0) { return a * a * a; }
if (b === 0.5) { return Math.sqrt(a); }
if (b === -1.0) { return 1.0 / a; }
if (a < 0.0) {
  if (Math.floor(b) !== b) { return Math.sqrt(-1.0 - a * a); }
  const m = Math.pow(-a, b);
  const half = b * 0.5;
  return Math.floor(half) === half ? m : -m;
}
if (a === 0.0) { return b > 0.0 ? 0.0 : 1.0 / a; }
return Math.pow(a, b);`;

export const binarySnippets: { [K in BinaryKernelOp]: MapSnippet } = {
  add: { body: 'return a + b;' },
  sub: { body: 'return a - b;' },
  mul: { body: 'return a * b;' },
  div: { body: 'return a / b;' },
  pow: { body: powBody },
  maximum: { body: 'if (a !== a || b !== b) { return a + b; }\nreturn Math.max(a, b);' },
  minimum: { body: 'if (a !== a || b !== b) { return a + b; }\nreturn Math.min(a, b);' },
};

export const compareSnippets: { [K in CompareKernelOp]: MapSnippet } = {
  eq: { body: 'return a === b ? 1.0 : 0.0;' },
  ne: { body: 'return a !== b ? 1.0 : 0.0;' },
  lt: { body: 'return a < b ? 1.0 : 0.0;' },
  le: { body: 'return a <= b ? 1.0 : 0.0;' },
  gt: { body: 'return a > b ? 1.0 : 0.0;' },
  ge: { body: 'return a >= b ? 1.0 : 0.0;' },
};

export const whereSnippet: MapSnippet = { body: 'return a !== 0.0 ? b : c;' };
