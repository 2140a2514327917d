import { zerosLike } from '../creation.ts';
import {
  add,
  cast,
  cumsum,
  div,
  eq,
  erf,
  exp,
  expand,
  flip,
  gather,
  ge,
  gt,
  indexAdd,
  indexSelect,
  le,
  log,
  lt,
  matmul,
  mean,
  mul,
  narrow,
  neg,
  oneHot,
  permute,
  pow,
  reshape,
  scatterAdd,
  sign,
  slice,
  sliceScatter,
  softmax,
  sqrt,
  sub,
  sum,
  tanh,
  transpose,
  where,
} from '../ops/index.ts';
import type { Tensor } from '../tensor.ts';
import type { OpAttrs, OpName } from './op-attrs.ts';

export interface GradContext<K extends OpName> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** d(loss)/d(output), same shape as the output. */
  readonly grad: Tensor;
  readonly attrs: OpAttrs[K];
}

/** Returns d(loss)/d(input) for each input, in order; null where an input gets no gradient. */
export type GradRule<K extends OpName> = (ctx: GradContext<K>) => ReadonlyArray<Tensor | null>;

/** Keyed by every op of the tape: a new op without a rule here does not compile. */
export type GradientTable = { [K in OpName]: GradRule<K> | 'not-differentiable' };

const input = (ctx: { inputs: readonly Tensor[] }, i = 0): Tensor => ctx.inputs[i]!;

/** Sums a gradient over the axes that were broadcast, back to the input's shape. */
function unbroadcast(grad: Tensor, shape: readonly number[]): Tensor {
  const lead = grad.rank - shape.length;
  const axes = grad.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
  return reshape(sum(grad, axes), shape);
}

/** Puts back the reduced axes as size 1, so a reduced gradient broadcasts over the input. */
function restoreAxes(t: Tensor, inputShape: readonly number[], axes: readonly number[]): Tensor {
  return reshape(
    t,
    inputShape.map((d, i) => (axes.includes(i) ? 1 : d)),
  );
}

/** max/min share the gradient equally among every element equal to the extreme. */
function extremeGrad({ inputs, output, grad, attrs }: GradContext<'max' | 'min'>): Tensor[] {
  const x = input({ inputs });
  const hit = cast(eq(x, restoreAxes(output, x.shape, attrs.axes)), 'float32');
  const share = div(hit, sum(hit, attrs.axes, true));
  return [mul(share, restoreAxes(grad, x.shape, attrs.axes))];
}

/** Gradient of maximum/minimum: all of it to the winner, half each on a tie (as PyTorch). */
function pickGrad({ grad, inputs: [a, b] }: GradContext<'maximum' | 'minimum'>, wins: (a: Tensor, b: Tensor) => Tensor): Tensor[] {
  const share = add(cast(wins(a!, b!), 'float32'), mul(cast(eq(a!, b!), 'float32'), 0.5));
  return [mul(grad, share), mul(grad, sub(1, share))];
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const gradients: GradientTable = {
  neg: ({ grad }) => [neg(grad)],
  exp: ({ grad, output }) => [mul(grad, output)],
  log: (ctx) => [div(ctx.grad, input(ctx))],
  sqrt: ({ grad, output }) => [div(grad, mul(output, 2))],
  rsqrt: ({ grad, output }) => [mul(grad, mul(mul(output, mul(output, output)), -0.5))],
  tanh: ({ grad, output }) => [mul(grad, sub(1, mul(output, output)))],
  sigmoid: ({ grad, output }) => [mul(grad, mul(output, sub(1, output)))],
  relu: (ctx) => [mul(ctx.grad, cast(gt(input(ctx), 0), 'float32'))],
  gelu: (ctx) => {
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    const x = input(ctx);
    const cdf = mul(add(erf(div(x, Math.SQRT2)), 1), 0.5);
    const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [mul(ctx.grad, add(cdf, mul(x, pdf)))];
  },
  geluTanh: (ctx) => {
    const x = input(ctx);
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), SQRT_2_OVER_PI);
    const t = tanh(inner);
    const dInner = mul(add(mul(mul(x, x), 3 * 0.044715), 1), SQRT_2_OVER_PI);
    const d = add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), dInner));
    return [mul(ctx.grad, d)];
  },
  erf: (ctx) => {
    const x = input(ctx);
    return [mul(ctx.grad, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  abs: (ctx) => [mul(ctx.grad, sign(input(ctx)))],
  // sign is flat almost everywhere: zero gradient, as in PyTorch.
  sign: (ctx) => [zerosLike(input(ctx))],
  add: ({ grad }) => [grad, grad],
  sub: ({ grad }) => [grad, neg(grad)],
  mul: ({ grad, inputs: [a, b] }) => [mul(grad, b!), mul(grad, a!)],
  div: ({ grad, inputs: [a, b] }) => [div(grad, b!), neg(div(mul(grad, a!), mul(b!, b!)))],
  pow: ({ grad, output, inputs: [a, b] }) => {
    const base = a!;
    const exponent = b!;
    const dBase = mul(grad, mul(exponent, pow(base, sub(exponent, 1))));
    // d/db a^b = a^b·log(a); defined as 0 where a = 0 and b >= 0, as PyTorch does.
    const dExponent = where(mul(eq(base, 0), ge(exponent, 0)), 0, mul(grad, mul(output, log(base))));
    return [dBase, dExponent];
  },
  maximum: (ctx) => pickGrad(ctx, gt),
  minimum: (ctx) => pickGrad(ctx, lt),
  eq: 'not-differentiable',
  ne: 'not-differentiable',
  lt: 'not-differentiable',
  le: 'not-differentiable',
  gt: 'not-differentiable',
  ge: 'not-differentiable',
  where: ({ grad, inputs: [cond] }) => [null, where(cond!, grad, 0), where(cond!, 0, grad)],
  clamp: ({ grad, attrs, inputs: [x] }) => [mul(grad, cast(mul(ge(x!, attrs.min), le(x!, attrs.max)), 'float32'))],
  // With float32 and int32 the only dtypes, every recorded cast crosses between float and integer,
  // where PyTorch records no gradient (truncation is flat almost everywhere). A second float dtype
  // would bring back a pass-through rule for float-to-float casts.
  cast: 'not-differentiable',
  sum: ({ grad, attrs, inputs: [x] }) => [expand(restoreAxes(grad, x!.shape, attrs.axes), x!.shape)],
  max: extremeGrad,
  min: extremeGrad,
  argmax: 'not-differentiable',
  argmin: 'not-differentiable',
  cumsum: ({ grad, attrs }) => [flip(cumsum(flip(grad, attrs.axis), attrs.axis), attrs.axis)],
  softmax: ({ grad, output, attrs }) => [mul(output, sub(grad, sum(mul(grad, output), attrs.axis, true)))],
  logSoftmax: ({ grad, output, attrs }) => [sub(grad, mul(exp(output), sum(grad, attrs.axis, true)))],
  matmul: ({ grad, inputs: [a, b] }) => [matmul(grad, transpose(b!)), matmul(transpose(a!), grad)],
  reshape: ({ grad, inputs: [x] }) => [reshape(grad, x!.shape)],
  permute: ({ grad, attrs }) => {
    const inverse = new Array<number>(attrs.order.length);
    attrs.order.forEach((axis, i) => {
      inverse[axis] = i;
    });
    return [permute(grad, inverse)];
  },
  expand: ({ grad, inputs: [x] }) => [unbroadcast(grad, x!.shape)],
  slice: ({ grad, attrs, inputs: [x] }) => [sliceScatter(grad, x!.shape, attrs.spec)],
  flip: ({ grad, attrs }) => [flip(grad, attrs.axes)],
  contiguous: ({ grad }) => [grad],
  concat: ({ grad, attrs, inputs }) => {
    let start = 0;
    return inputs.map((t) => {
      const piece = narrow(grad, attrs.axis, start, t.shape[attrs.axis]!);
      start += t.shape[attrs.axis]!;
      return piece;
    });
  },
  pad: ({ grad, attrs, inputs: [x] }) => [slice(grad, attrs.pads.map(([before], i) => [before, before + x!.shape[i]!]))],
  gather: ({ grad, attrs, inputs: [x, index] }) => [scatterAdd(zerosLike(x!), attrs.axis, index!, grad), null],
  scatterAdd: ({ grad, attrs, inputs: [, index] }) => [grad, null, gather(grad, attrs.axis, index!)],
  indexSelect: ({ grad, attrs, inputs: [x, index] }) => [indexAdd(zerosLike(x!), attrs.axis, index!, grad), null],
  indexAdd: ({ grad, attrs, inputs: [, index] }) => [grad, null, indexSelect(grad, attrs.axis, index!)],
  topkIndices: 'not-differentiable',
  layerNorm: ({ grad, attrs, inputs }) => {
    const x = inputs[0]!;
    const weight = attrs.hasWeight ? inputs[1]! : null;
    // Centre twice: the second pass removes the float32 rounding of the first mean, which would
    // otherwise cost digits on rows whose mean is large against their spread.
    const roughly = sub(x, mean(x, -1, true));
    const centered = sub(roughly, mean(roughly, -1, true));
    const rstd = div(1, sqrt(add(mean(mul(centered, centered), -1, true), attrs.eps)));
    const xhat = mul(centered, rstd);
    const dxhat = weight ? mul(grad, weight) : grad;
    // dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂))
    const dx = mul(rstd, sub(sub(dxhat, mean(dxhat, -1, true)), mul(xhat, mean(mul(dxhat, xhat), -1, true))));
    const leading = x.shape.slice(0, -1).map((_, i) => i);
    const out: Array<Tensor | null> = [dx];
    if (attrs.hasWeight) out.push(sum(mul(grad, xhat), leading));
    if (attrs.hasBias) out.push(sum(grad, leading));
    return out;
  },
  rmsNorm: ({ grad, attrs, inputs }) => {
    const x = inputs[0]!;
    const weight = attrs.hasWeight ? inputs[1]! : null;
    const rrms = div(1, sqrt(add(mean(mul(x, x), -1, true), attrs.eps)));
    const xhat = mul(x, rrms);
    const dxhat = weight ? mul(grad, weight) : grad;
    // dx = rrms · (dx̂ − x̂ · mean(dx̂ · x̂))
    const dx = mul(rrms, sub(dxhat, mul(xhat, mean(mul(dxhat, xhat), -1, true))));
    return weight ? [dx, sum(mul(grad, xhat), x.shape.slice(0, -1).map((_, i) => i))] : [dx];
  },
  crossEntropy: ({ grad, attrs, inputs: [logits, targets] }) => {
    // d/dlogits = (softmax − onehot(target)) · g, zero on ignored rows.
    const classes = logits!.shape[1]!;
    const ignored = eq(targets!, attrs.ignoreIndex);
    const hot = cast(oneHot(where(ignored, 0, targets!), classes), 'float32');
    // Select rather than multiply by a mask: with every target ignored the mean's gradient is
    // Inf, and Inf · 0 would put NaN on rows that PyTorch gives exactly zero.
    const rowScale = reshape(where(ignored, 0, grad), [-1, 1]);
    return [mul(sub(softmax(logits!, 1), hot), rowScale), null];
  },
};
