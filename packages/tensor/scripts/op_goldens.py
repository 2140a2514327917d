#!/usr/bin/env python3
"""PyTorch forward and gradient goldens for every public op of @glassbox/tensor.

Writes src/fixtures/op-goldens.json, which src/conformance/ops.conformance.test.ts checks every
backend against. Each case records its inputs (float32 or int32), the op's attributes in the
TypeScript API's own names, the forward outputs, one random cotangent per float output, and the
gradient of sum(output * cotangent) with respect to every float input.

Precision: inputs are float32 values. The reference runs in float64 on those exact values and
rounds the results to float32 once, so each golden is the correctly rounded answer; the
tolerances in src/conformance/op-cases.ts then measure only the engine's own float32 error.
A float input that gets no gradient in PyTorch (it does not reach a float output) has a zero
gradient golden; an input PyTorch cannot differentiate (integers) has none, and neither has any
input of a forward-only case (see the non-finite section).

Deterministic: each case draws from its own generator, seeded with the CRC-32 of its name, so
adding or removing a case changes no other. Non-finite numbers are written as the strings
"NaN", "Infinity" and "-Infinity".

Run from anywhere with PyTorch installed: python3 packages/tensor/scripts/op_goldens.py
"""

import json
import math
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'fixtures', 'op-goldens.json')

CASES = []


class Draw:
    """Random float32 and int32 inputs from one case's own generator."""

    def __init__(self, name):
        self.g = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def randn(self, *shape):
        return torch.randn(shape, generator=self.g, dtype=torch.float64).float()

    def uniform(self, lo, hi, *shape):
        return (lo + (hi - lo) * torch.rand(shape, generator=self.g, dtype=torch.float64)).float()

    def randint(self, lo, hi, *shape):
        return torch.randint(lo, hi, shape, generator=self.g, dtype=torch.int64).int()

    def distinct(self, *shape):
        """Well-separated values in random order: no ties for topk, max and argmax."""
        n = int(np.prod(shape)) if shape else 1
        values = torch.arange(n, dtype=torch.float64) * 0.37 - 0.37 * n / 2
        return values[torch.randperm(n, generator=self.g)].reshape(shape).float()


def f32(values):
    return torch.tensor(values, dtype=torch.float32)


def i32(values):
    return torch.tensor(values, dtype=torch.int32)


def case(name, inputs, fn, attrs=None, grads=True):
    """inputs: a function of a Draw giving float32/int32 tensors; fn maps the float64/int64 inputs to
    outputs. grads=False keeps only the forward golden."""
    CASES.append((name, inputs(Draw(name)), fn, attrs or {}, grads))


def f64(x):
    return x if x.dtype == torch.float64 else x.double()


def axes_arg(x, attrs):
    """The attrs' axes as a torch dim tuple; every axis when absent."""
    axes = attrs.get('axes')
    if axes is None:
        return tuple(range(x.dim()))
    return (axes,) if isinstance(axes, int) else tuple(axes)


# ---------------------------------------------------------------- elementwise: unary

UNARY = {
    'neg': torch.neg,
    'exp': torch.exp,
    'log': torch.log,
    'sqrt': torch.sqrt,
    'rsqrt': torch.rsqrt,
    'tanh': torch.tanh,
    'sigmoid': torch.sigmoid,
    'relu': torch.relu,
    'erf': torch.erf,
    'abs': torch.abs,
    'sign': torch.sign,
    'square': lambda x: x * x,
}
POSITIVE = {'log', 'sqrt', 'rsqrt'}

for op, f in UNARY.items():
    # Integer inputs stay integer where PyTorch and Glassbox keep them so; the rest promote.
    fn = lambda xs, a, f=f, keep=op in ('neg', 'abs', 'sign', 'relu', 'square'): f(xs[0] if keep else f64(xs[0]))
    if op in POSITIVE:
        case(f'{op}/matrix', lambda d: [d.uniform(0.1, 4.0, 3, 4)], fn)
        case(f'{op}/scalar', lambda d: [f32(2.25)], fn)
    else:
        case(f'{op}/matrix', lambda d: [d.randn(3, 4) * 2], fn)
        case(f'{op}/scalar', lambda d: [f32(-0.75)], fn)
    case(f'{op}/empty', lambda d: [torch.zeros(0, 3)], fn)

case('relu/zeros', lambda d: [f32([-1.5, -0.0, 0.0, 0.25, 3.0])], lambda xs, a: torch.relu(xs[0]))
case('abs/zeros', lambda d: [f32([-1.5, 0.0, 2.0])], lambda xs, a: torch.abs(xs[0]))
case('sign/zeros', lambda d: [f32([-1.5, 0.0, 2.0])], lambda xs, a: torch.sign(xs[0]))
case('sigmoid/saturated', lambda d: [f32([-40.0, -12.0, 0.0, 12.0, 40.0])], lambda xs, a: torch.sigmoid(xs[0]))
case('tanh/saturated', lambda d: [f32([-20.0, -5.0, 5.0, 20.0])], lambda xs, a: torch.tanh(xs[0]))
case('exp/int', lambda d: [i32([[-2, 0], [1, 3]])], lambda xs, a: torch.exp(f64(xs[0])))
case('neg/int', lambda d: [i32([[-2, 0], [1, 3]])], lambda xs, a: torch.neg(xs[0]))
case('abs/int', lambda d: [i32([-2, 0, 5])], lambda xs, a: torch.abs(xs[0]))
case('log/zero', lambda d: [f32([0.0, 1.0, 2.0])], lambda xs, a: torch.log(xs[0]))
case('erf/small', lambda d: [f32([-3.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 3.0])], lambda xs, a: torch.erf(xs[0]))

for approximate in ('none', 'tanh'):
    g = lambda xs, a: F.gelu(xs[0], approximate=a['approximate'])
    case(f'gelu/{approximate}-matrix', lambda d: [d.randn(3, 5) * 2], g, {'approximate': approximate})
    case(f'gelu/{approximate}-wide', lambda d: [f32([-8.0, -3.0, -1.0, -0.1, 0.0, 0.1, 1.0, 3.0, 8.0])], g, {'approximate': approximate})
    case(f'gelu/{approximate}-scalar', lambda d: [f32(0.6)], g, {'approximate': approximate})
    case(f'gelu/{approximate}-empty', lambda d: [torch.zeros(2, 0)], g, {'approximate': approximate})
case('gelu/default', lambda d: [d.randn(4)], lambda xs, a: F.gelu(xs[0]))


# ---------------------------------------------------------------- elementwise: binary


def operands(xs, a):
    """Binary operands, with a plain number in place of one tensor when attrs say so."""
    if 'lhs' in a:
        return a['lhs'], xs[0]
    if 'rhs' in a:
        return xs[0], a['rhs']
    return xs[0], xs[1]


def as_tensors(x, y):
    """Numbers as 0-d tensors, for the torch functions that take only tensors."""
    anchor = x if torch.is_tensor(x) else y
    wrap = lambda v: v if torch.is_tensor(v) else torch.tensor(v, dtype=anchor.dtype if isinstance(v, int) or anchor.is_floating_point() else torch.float64)
    return wrap(x), wrap(y)


BINARY = {
    'add': torch.add,
    'sub': torch.sub,
    'mul': torch.mul,
    'div': lambda x, y: torch.div(f64(x) if torch.is_tensor(x) else x, f64(y) if torch.is_tensor(y) else y),
    'maximum': lambda x, y: torch.maximum(*as_tensors(x, y)),
    'minimum': lambda x, y: torch.minimum(*as_tensors(x, y)),
}

for op, f in BINARY.items():
    fn = lambda xs, a, f=f: f(*operands(xs, a))
    nonzero = op == 'div'
    second = (lambda d, *s: d.uniform(0.5, 2.0, *s) * torch.sign(d.randn(*s))) if nonzero else (lambda d, *s: d.randn(*s))
    case(f'{op}/same-shape', lambda d: [d.randn(2, 3), second(d, 2, 3)], fn)
    case(f'{op}/broadcast', lambda d: [d.randn(2, 1, 3), second(d, 4, 1)], fn)
    case(f'{op}/scalar-tensor', lambda d: [d.randn(2, 3), second(d)], fn)
    case(f'{op}/tensor-scalar-left', lambda d: [second(d), d.randn(3)], fn)
    case(f'{op}/empty', lambda d: [d.randn(0, 3), second(d, 3)], fn)
    case(f'{op}/number-rhs', lambda d: [d.randn(2, 2)], fn, {'rhs': 1.5})
    case(f'{op}/number-lhs', lambda d: [second(d, 3)], fn, {'lhs': -2.5})
    case(f'{op}/float-int', lambda d: [d.randn(2, 3), d.randint(1, 4, 3)], fn)
    if op != 'div':
        case(f'{op}/int-int', lambda d: [d.randint(-5, 5, 2, 3), d.randint(-5, 5, 3)], fn)
    else:
        case(f'{op}/int-int', lambda d: [d.randint(-5, 5, 2, 3), i32([1, -2, 4])], fn)

case('maximum/ties', lambda d: [f32([1.0, 2.0, 2.0, -1.0]), f32([2.0, 1.0, 2.0, -1.0])], lambda xs, a: torch.maximum(xs[0], xs[1]))
case('minimum/ties', lambda d: [f32([1.0, 2.0, 2.0, -1.0]), f32([2.0, 1.0, 2.0, -1.0])], lambda xs, a: torch.minimum(xs[0], xs[1]))
case('div/by-zero', lambda d: [f32([1.0, -1.0, 0.0]), f32([0.0, 0.0, 2.0])], lambda xs, a: xs[0] / xs[1])

pw = lambda xs, a: torch.pow(*operands(xs, a))
case('pow/positive-base', lambda d: [d.uniform(0.2, 3.0, 2, 3), d.randn(2, 3)], pw)
case('pow/broadcast', lambda d: [d.uniform(0.2, 3.0, 3, 1), d.uniform(-2.0, 2.0, 1, 4)], pw)
case('pow/scalar-exponent', lambda d: [d.uniform(0.2, 3.0, 4), f32(2.5)], pw)
case('pow/zero-base', lambda d: [f32([0.0, 0.0, 2.0]), f32([1.0, 2.0, 3.0])], pw)
case('pow/square-number', lambda d: [d.randn(2, 3)], pw, {'rhs': 2})
case('pow/cube-number', lambda d: [d.randn(5)], pw, {'rhs': 3})
case('pow/sqrt-number', lambda d: [d.uniform(0.2, 3.0, 4)], pw, {'rhs': 0.5})
case('pow/number-base', lambda d: [d.randn(4)], pw, {'lhs': 2.0})
case('pow/int-int', lambda d: [i32([2, 3, -2, 5]), i32([3, 2, 3, 0])], pw)
case('pow/empty', lambda d: [d.uniform(0.2, 3.0, 0, 2), d.randn(2)], pw)


# ---------------------------------------------------------------- comparisons, where, clamp, cast

COMPARE = {'eq': torch.eq, 'ne': torch.ne, 'lt': torch.lt, 'le': torch.le, 'gt': torch.gt, 'ge': torch.ge}
for op, f in COMPARE.items():
    fn = lambda xs, a, f=f: f(*operands(xs, a))
    case(f'{op}/ties-broadcast', lambda d: [f32([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), f32([1.0, 2.0, 2.0])], fn)
    case(f'{op}/scalar', lambda d: [f32([-1.0, 0.0, 0.5, 1.0]), f32(0.5)], fn)
    case(f'{op}/number', lambda d: [i32([[0, 1], [2, 3]])], fn, {'rhs': 2})
    case(f'{op}/int-float', lambda d: [i32([1, 2, 3]), f32([1.5, 2.0, 2.5])], fn)
    case(f'{op}/empty', lambda d: [torch.zeros(0, 2), torch.zeros(2)], fn)

wh = lambda xs, a: torch.where(xs[0] != 0, xs[1], a['rhs'] if 'rhs' in a else xs[2])
case('where/same-shape', lambda d: [d.randint(0, 2, 2, 3), d.randn(2, 3), d.randn(2, 3)], wh)
case('where/broadcast', lambda d: [i32([[1], [0]]), d.randn(1, 3), d.randn()], wh)
case('where/float-condition', lambda d: [f32([0.0, 2.5, -1.0, 0.0]), d.randn(4), d.randn(4)], wh)
case('where/number', lambda d: [i32([1, 0, 1]), d.randn(2, 3)], wh, {'rhs': 0})
case('where/empty', lambda d: [torch.zeros(0, 3, dtype=torch.int32), d.randn(3), d.randn(0, 1)], wh)

cl = lambda xs, a: torch.clamp(xs[0], a.get('min'), a.get('max'))
case('clamp/both', lambda d: [f32([[-2.0, -1.0, -0.5], [0.0, 0.5, 1.0], [1.5, 2.0, 3.0]])], cl, {'min': -1.0, 'max': 1.0})
case('clamp/min-only', lambda d: [d.randn(2, 4)], cl, {'min': 0.0})
case('clamp/max-only', lambda d: [d.randn(2, 4)], cl, {'max': 0.25})
case('clamp/scalar', lambda d: [f32(3.0)], cl, {'min': 0.0, 'max': 2.0})
case('clamp/int', lambda d: [i32([-3, 0, 2, 7])], cl, {'min': -1, 'max': 5})
case('clamp/empty', lambda d: [torch.zeros(0)], cl, {'min': 0.0, 'max': 1.0})

DTYPES = {'float32': torch.float64, 'int32': torch.int64}
ct = lambda xs, a: xs[0].to(DTYPES[a['dtype']])
case('cast/float-to-int', lambda d: [f32([[-2.7, -1.5, -0.2], [0.0, 0.9, 3.99]])], ct, {'dtype': 'int32'})
case('cast/int-to-float', lambda d: [i32([-3, 0, 7])], ct, {'dtype': 'float32'})
case('cast/same-dtype', lambda d: [d.randn(2, 2)], ct, {'dtype': 'float32'})
case('cast/empty', lambda d: [torch.zeros(0, 2)], ct, {'dtype': 'int32'})


# ---------------------------------------------------------------- reductions


def reduce_fn(f):
    def run(xs, a):
        x = xs[0]
        return f(x, axes_arg(x, a), a.get('keepDim', False)) if x.dim() > 0 else x.clone()

    return run


REDUCE = {
    'sum': lambda x, dims, k: torch.sum(x, dims, keepdim=k),
    'mean': lambda x, dims, k: torch.mean(f64(x), dims, keepdim=k),
    'max': lambda x, dims, k: torch.amax(x, dims, keepdim=k),
    'min': lambda x, dims, k: torch.amin(x, dims, keepdim=k),
    'logsumexp': lambda x, dims, k: torch.logsumexp(x, dims, keepdim=k),
}
for op, f in REDUCE.items():
    fn = reduce_fn(f)
    make = (lambda d: [d.distinct(2, 3, 4)]) if op in ('max', 'min') else (lambda d: [d.randn(2, 3, 4)])
    case(f'{op}/all', make, fn)
    case(f'{op}/axis', make, fn, {'axes': 1})
    case(f'{op}/negative-axis-keepdim', make, fn, {'axes': -1, 'keepDim': True})
    case(f'{op}/two-axes', make, fn, {'axes': [0, 2]})
    case(f'{op}/two-axes-keepdim', make, fn, {'axes': [2, 0], 'keepDim': True})
    case(f'{op}/all-keepdim', lambda d: [d.randn(2, 3)], fn, {'keepDim': True})
    case(f'{op}/scalar', lambda d: [f32(1.25)], fn)
    case(f'{op}/empty-kept-axis', lambda d: [torch.zeros(0, 3)], fn, {'axes': 1})

case('sum/empty-axis', lambda d: [torch.zeros(2, 0)], reduce_fn(REDUCE['sum']), {'axes': 1})
case('sum/int', lambda d: [d.randint(-5, 5, 3, 4)], reduce_fn(REDUCE['sum']), {'axes': 0})
case('mean/empty-axis', lambda d: [torch.zeros(0, 3)], reduce_fn(REDUCE['mean']), {'axes': 0})
case('mean/int', lambda d: [d.randint(-5, 5, 3, 4)], reduce_fn(REDUCE['mean']), {'axes': 1})
case('logsumexp/large', lambda d: [f32([[100.0, 101.0, 99.0], [-100.0, -101.0, -99.0]])], reduce_fn(REDUCE['logsumexp']), {'axes': 1})
case('logsumexp/empty-axis', lambda d: [torch.zeros(2, 0)], reduce_fn(REDUCE['logsumexp']), {'axes': 1})
for op in ('max', 'min'):
    fn = reduce_fn(REDUCE[op])
    ties = f32([[1.0, 3.0, 3.0, -2.0], [-2.0, 0.5, -2.0, 3.0], [3.0, 3.0, 3.0, -2.0]])
    case(f'{op}/ties-axis', lambda d: [ties], fn, {'axes': 1})
    case(f'{op}/ties-all', lambda d: [ties], fn)
    case(f'{op}/ties-axis0', lambda d: [ties], fn, {'axes': 0, 'keepDim': True})
    case(f'{op}/int', lambda d: [d.randint(-9, 9, 3, 4)], fn, {'axes': 1})


def arg_fn(f):
    def run(xs, a):
        x = xs[0]
        axis = a.get('axis')
        if x.dim() == 0:
            return torch.zeros((), dtype=torch.int64)
        return f(x, axis, keepdim=a.get('keepDim', False)) if axis is not None else f(x)

    return run


for op, f in (('argmax', torch.argmax), ('argmin', torch.argmin)):
    fn = arg_fn(f)
    case(f'{op}/axis', lambda d: [d.distinct(3, 4)], fn, {'axis': 1})
    case(f'{op}/axis0-keepdim', lambda d: [d.distinct(3, 4)], fn, {'axis': 0, 'keepDim': True})
    case(f'{op}/flat', lambda d: [d.distinct(3, 4)], fn)
    case(f'{op}/ties-first', lambda d: [f32([[2.0, 5.0, 5.0, -1.0], [-1.0, -1.0, 0.0, 5.0]])], fn, {'axis': 1})
    case(f'{op}/negative-axis-3d', lambda d: [d.distinct(2, 3, 4)], fn, {'axis': -2})
    case(f'{op}/int', lambda d: [i32([[4, 1, 4], [0, 7, 2]])], fn, {'axis': 1})
    case(f'{op}/scalar', lambda d: [f32(3.0)], fn)
    case(f'{op}/empty-batch', lambda d: [torch.zeros(0, 3)], fn, {'axis': 1})


def var_fn(xs, a):
    x = f64(xs[0])
    return torch.var(x, axes_arg(x, a), correction=a.get('correction', 1), keepdim=a.get('keepDim', False))


case('variance/all', lambda d: [d.randn(3, 4)], var_fn)
case('variance/axis', lambda d: [d.randn(3, 4) + 10], var_fn, {'axes': 1})
case('variance/population-keepdim', lambda d: [d.randn(2, 3, 4)], var_fn, {'axes': [0, 2], 'correction': 0, 'keepDim': True})
case('variance/correction-2', lambda d: [d.randn(2, 5)], var_fn, {'axes': -1, 'correction': 2})
case('variance/int', lambda d: [i32([[1, 2, 4], [3, 3, 3]])], var_fn, {'axes': 1})


def norm_fn(xs, a):
    x = xs[0]
    p = math.inf if a['p'] == 'inf' else a['p']
    return torch.linalg.vector_norm(x, p, axes_arg(x, a), keepdim=a.get('keepDim', False))


for p in (1, 2, 'inf'):
    attrs = {'p': p}
    case(f'norm/p{p}-all', lambda d: [d.randn(3, 4)], norm_fn, attrs)
    case(f'norm/p{p}-axis', lambda d: [d.randn(3, 4)], norm_fn, {**attrs, 'axes': 1})
    case(f'norm/p{p}-axes-keepdim', lambda d: [d.randn(2, 3, 4)], norm_fn, {**attrs, 'axes': [0, 2], 'keepDim': True})
    case(f'norm/p{p}-zero-row', lambda d: [f32([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]])], norm_fn, {**attrs, 'axes': 1})
case('norm/pinf-ties', lambda d: [f32([[2.0, -2.0, 1.0], [0.5, -3.0, 3.0]])], norm_fn, {'p': 'inf', 'axes': 1})
case('norm/p2-empty', lambda d: [torch.zeros(2, 0)], norm_fn, {'p': 2, 'axes': 1})

cs = lambda xs, a: torch.cumsum(xs[0], a['axis']) if xs[0].dim() > 0 else xs[0].clone()
case('cumsum/axis1', lambda d: [d.randn(3, 4)], cs, {'axis': 1})
case('cumsum/axis0', lambda d: [d.randn(3, 4)], cs, {'axis': 0})
case('cumsum/negative-axis-3d', lambda d: [d.randn(2, 3, 4)], cs, {'axis': -2})
case('cumsum/int', lambda d: [d.randint(-5, 5, 2, 5)], cs, {'axis': 1})
case('cumsum/scalar', lambda d: [f32(2.0)], cs, {'axis': 0})
case('cumsum/empty', lambda d: [torch.zeros(0, 3)], cs, {'axis': 0})


# ---------------------------------------------------------------- softmax family

for op, f in (('softmax', torch.softmax), ('logSoftmax', torch.log_softmax)):
    fn = lambda xs, a, f=f: f(f64(xs[0]), a.get('axis', -1))
    case(f'{op}/last-axis', lambda d: [d.randn(3, 5) * 3], fn, {'axis': -1})
    case(f'{op}/axis0', lambda d: [d.randn(3, 5)], fn, {'axis': 0})
    case(f'{op}/middle-axis', lambda d: [d.randn(2, 3, 4)], fn, {'axis': 1})
    case(f'{op}/default-axis', lambda d: [d.randn(2, 4)], fn)
    case(f'{op}/large', lambda d: [f32([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]])], fn, {'axis': 1})
    case(f'{op}/masked', lambda d: [f32([[0.5, -math.inf, 1.5], [2.0, 0.0, -math.inf]])], fn, {'axis': 1})
    case(f'{op}/scalar', lambda d: [f32(0.3)], fn, {'axis': 0})
    case(f'{op}/empty', lambda d: [torch.zeros(0, 4)], fn, {'axis': -1})
    case(f'{op}/int', lambda d: [i32([[1, 2, 3]])], fn, {'axis': -1})


# ---------------------------------------------------------------- matmul and einsum

mm = lambda xs, a: torch.matmul(f64(xs[0]), f64(xs[1]))
case('matmul/vector-vector', lambda d: [d.randn(5), d.randn(5)], mm)
case('matmul/vector-matrix', lambda d: [d.randn(3), d.randn(3, 4)], mm)
case('matmul/matrix-vector', lambda d: [d.randn(4, 3), d.randn(3)], mm)
case('matmul/matrix-matrix', lambda d: [d.randn(3, 4), d.randn(4, 2)], mm)
case('matmul/batched', lambda d: [d.randn(2, 3, 4), d.randn(2, 4, 5)], mm)
case('matmul/batch-broadcast', lambda d: [d.randn(2, 1, 3, 4), d.randn(3, 4, 2)], mm)
case('matmul/vector-batched', lambda d: [d.randn(4), d.randn(2, 4, 3)], mm)
case('matmul/batched-vector', lambda d: [d.randn(2, 3, 4), d.randn(4)], mm)
case('matmul/inner-8', lambda d: [d.randn(2, 8), d.randn(8, 3)], mm)
case('matmul/empty-inner', lambda d: [torch.zeros(2, 0), torch.zeros(0, 3)], mm)
case('matmul/empty-rows', lambda d: [torch.zeros(0, 3), d.randn(3, 2)], mm)
case('matmul/int', lambda d: [i32([[1, 2], [3, 4]]), i32([[1, 0], [-1, 2]])], mm)

es = lambda xs, a: torch.einsum(a['equation'], *[f64(x) for x in xs])
case('einsum/matmul', lambda d: [d.randn(3, 4), d.randn(4, 2)], es, {'equation': 'ij,jk->ik'})
case('einsum/attention-scores', lambda d: [d.randn(2, 3, 2, 4), d.randn(2, 5, 2, 4)], es, {'equation': 'bqhd,bkhd->bhqk'})
case('einsum/attention-mix', lambda d: [d.randn(2, 2, 3, 5), d.randn(2, 5, 2, 4)], es, {'equation': 'bhqk,bkhd->bqhd'})
case('einsum/transpose', lambda d: [d.randn(3, 4)], es, {'equation': 'ij->ji'})
case('einsum/row-dot', lambda d: [d.randn(3, 4), d.randn(3, 4)], es, {'equation': 'bi,bi->b'})
case('einsum/outer', lambda d: [d.randn(3), d.randn(4)], es, {'equation': 'i,j->ij'})
case('einsum/total', lambda d: [d.randn(3, 4)], es, {'equation': 'ij->'})
case('einsum/implicit', lambda d: [d.randn(3, 4), d.randn(4, 2)], es, {'equation': 'ij,jk'})
case('einsum/sum-out', lambda d: [d.randn(2, 3, 4), d.randn(4, 5)], es, {'equation': 'bij,jk->bk'})


# ---------------------------------------------------------------- movement

case('reshape/infer', lambda d: [d.randn(2, 3, 4)], lambda xs, a: xs[0].reshape(a['shape']), {'shape': [4, -1]})
case('reshape/to-scalar', lambda d: [f32([1.5])], lambda xs, a: xs[0].reshape(a['shape']), {'shape': []})
case('reshape/from-scalar', lambda d: [f32(1.5)], lambda xs, a: xs[0].reshape(a['shape']), {'shape': [1, 1]})
case('reshape/empty', lambda d: [torch.zeros(0, 6)], lambda xs, a: xs[0].reshape(a['shape']), {'shape': [3, 0, 2]})
case('reshape/after-transpose', lambda d: [d.randn(3, 4)], lambda xs, a: xs[0].t().reshape(a['shape']), {'shape': [2, 6], 'transposeFirst': True})
case('contiguous/permuted', lambda d: [d.randn(2, 3, 4)], lambda xs, a: xs[0].permute(a['order']).contiguous(), {'order': [2, 0, 1]})
case('contiguous/already', lambda d: [d.randn(2, 3)], lambda xs, a: xs[0].contiguous(), {})
case('permute/3d', lambda d: [d.randn(2, 3, 4)], lambda xs, a: xs[0].permute(a['order']), {'order': [2, 0, 1]})
case('permute/negative', lambda d: [d.randn(2, 3, 4)], lambda xs, a: xs[0].permute([o % 3 for o in a['order']]), {'order': [-1, -3, -2]})
case('permute/empty', lambda d: [torch.zeros(2, 0, 3)], lambda xs, a: xs[0].permute(a['order']), {'order': [1, 2, 0]})
tr = lambda xs, a: xs[0].transpose(a.get('axis0', -2), a.get('axis1', -1))
case('transpose/default', lambda d: [d.randn(2, 3, 4)], tr)
case('transpose/outer', lambda d: [d.randn(2, 3, 4)], tr, {'axis0': 0, 'axis1': 2})


def squeeze_fn(xs, a):
    x = xs[0]
    axes = a.get('axes')
    if axes is None:
        return x.squeeze()
    for axis in sorted([axes] if isinstance(axes, int) else [d % x.dim() for d in axes], reverse=True):
        x = x.squeeze(axis)
    return x


case('squeeze/all', lambda d: [d.randn(1, 3, 1, 2)], squeeze_fn)
case('squeeze/one', lambda d: [d.randn(1, 3, 1, 2)], squeeze_fn, {'axes': 2})
case('squeeze/list-with-non-unit', lambda d: [d.randn(1, 3, 1, 2)], squeeze_fn, {'axes': [0, 1, -2]})
case('squeeze/to-scalar', lambda d: [d.randn(1, 1)], squeeze_fn)
case('unsqueeze/front', lambda d: [d.randn(2, 3)], lambda xs, a: xs[0].unsqueeze(a['axis']), {'axis': 0})
case('unsqueeze/back', lambda d: [d.randn(2, 3)], lambda xs, a: xs[0].unsqueeze(a['axis']), {'axis': -1})
case('unsqueeze/scalar', lambda d: [f32(2.0)], lambda xs, a: xs[0].unsqueeze(a['axis']), {'axis': 0})
fl = lambda xs, a: torch.flatten(xs[0], a.get('startAxis', 0), a.get('endAxis', -1))
case('flatten/all', lambda d: [d.randn(2, 3, 4)], fl)
case('flatten/middle', lambda d: [d.randn(2, 3, 4, 2)], fl, {'startAxis': 1, 'endAxis': 2})
case('flatten/scalar', lambda d: [f32(2.0)], fl)
case('flatten/empty', lambda d: [torch.zeros(2, 0, 3)], fl, {'startAxis': 1})
ex = lambda xs, a: xs[0].expand(a['shape'])
case('expand/unit-dims', lambda d: [d.randn(3, 1)], ex, {'shape': [3, 4]})
case('expand/new-leading', lambda d: [d.randn(1, 4)], ex, {'shape': [2, 3, -1]})
case('expand/scalar', lambda d: [f32(2.0)], ex, {'shape': [2, 2]})
case('expand/empty', lambda d: [d.randn(1, 3)], ex, {'shape': [0, 3]})


def slice_fn(xs, a):
    index = tuple(slice(None) if r is None else slice(*(list(r) + [None] * (3 - len(r)))) for r in a['ranges'])
    return xs[0][index]


case('slice/ranges', lambda d: [d.randn(4, 5)], slice_fn, {'ranges': [[1, 3], None]})
case('slice/steps', lambda d: [d.randn(5, 6)], slice_fn, {'ranges': [[0, None, 2], [1, 6, 3]]})
case('slice/negative', lambda d: [d.randn(4, 5)], slice_fn, {'ranges': [[-3, -1], [None, -2, 2]]})
case('slice/clamped', lambda d: [d.randn(3, 4)], slice_fn, {'ranges': [[1, 10], [-10, 2]]})
case('slice/empty-result', lambda d: [d.randn(3, 4)], slice_fn, {'ranges': [[2, 2]]})
case('slice/3d-partial', lambda d: [d.randn(2, 4, 3)], slice_fn, {'ranges': [None, [1, None, 2]]})
nr = lambda xs, a: torch.narrow(xs[0], a['axis'], a['start'], a['length'])
case('narrow/axis1', lambda d: [d.randn(3, 5)], nr, {'axis': 1, 'start': 1, 'length': 3})
case('narrow/negative-axis', lambda d: [d.randn(2, 4, 3)], nr, {'axis': -2, 'start': 2, 'length': 2})
case('narrow/empty', lambda d: [d.randn(3, 5)], nr, {'axis': 0, 'start': 1, 'length': 0})
cc = lambda xs, a: torch.cat(list(xs), a.get('axis', 0))
case('concat/axis0', lambda d: [d.randn(2, 3), d.randn(1, 3), d.randn(3, 3)], cc, {'axis': 0})
case('concat/axis1', lambda d: [d.randn(2, 3), d.randn(2, 1)], cc, {'axis': 1})
case('concat/with-empty', lambda d: [d.randn(2, 3), torch.zeros(0, 3), d.randn(1, 3)], cc, {'axis': -2})
case('concat/single', lambda d: [d.randn(2, 2)], cc, {'axis': 0})
case('concat/float-int', lambda d: [d.randn(2), i32([3, -1])], cc, {'axis': 0})
st = lambda xs, a: torch.stack(list(xs), a.get('axis', 0))
case('stack/axis0', lambda d: [d.randn(2, 3), d.randn(2, 3)], st, {'axis': 0})
case('stack/last', lambda d: [d.randn(2, 3), d.randn(2, 3), d.randn(2, 3)], st, {'axis': -1})
case('stack/scalars', lambda d: [f32(1.0), f32(2.0)], st, {'axis': 0})
sp = lambda xs, a: list(torch.split(xs[0], a['sizes'], a.get('axis', 0)))
case('split/sizes', lambda d: [d.randn(5, 2)], sp, {'sizes': [2, 0, 3], 'axis': 0})
case('split/even', lambda d: [d.randn(2, 6)], sp, {'sizes': 2, 'axis': 1})
case('split/uneven', lambda d: [d.randn(2, 5)], sp, {'sizes': 2, 'axis': -1})


def pad_fn(xs, a):
    x = xs[0]
    pads = a['pads'] + [[0, 0]] * (x.dim() - len(a['pads']))
    flat = [p for pair in reversed(pads) for p in pair]
    return F.pad(x, flat, value=a.get('value', 0.0))


case('pad/both-axes', lambda d: [d.randn(2, 3)], pad_fn, {'pads': [[1, 0], [2, 1]]})
case('pad/value', lambda d: [d.randn(2, 3)], pad_fn, {'pads': [[0, 2]], 'value': -1.5})
case('pad/3d-partial', lambda d: [d.randn(2, 2, 2)], pad_fn, {'pads': [[0, 0], [1, 1]]})
case('pad/empty', lambda d: [torch.zeros(0, 2)], pad_fn, {'pads': [[1, 1], [0, 1]]})
fp = lambda xs, a: torch.flip(xs[0], [a['axes']] if isinstance(a['axes'], int) else a['axes'])
case('flip/one', lambda d: [d.randn(3, 4)], fp, {'axes': 1})
case('flip/two', lambda d: [d.randn(2, 3, 4)], fp, {'axes': [0, -1]})
case('flip/empty', lambda d: [torch.zeros(0, 3)], fp, {'axes': [0, 1]})


# ---------------------------------------------------------------- indexing

ga = lambda xs, a: torch.gather(xs[0], a['axis'], xs[1].long())
case('gather/axis1', lambda d: [d.randn(3, 4), i32([[0, 3], [1, 1], [2, 0]])], ga, {'axis': 1})
case('gather/axis0', lambda d: [d.randn(3, 4), i32([[2, 0, 1, 2], [0, 0, 0, 0]])], ga, {'axis': 0})
case('gather/3d-smaller-index', lambda d: [d.randn(2, 3, 4), d.randint(0, 3, 2, 2, 3)], ga, {'axis': -2})
case('gather/empty-index', lambda d: [d.randn(3, 4), torch.zeros(3, 0, dtype=torch.int32)], ga, {'axis': 1})
sa = lambda xs, a: torch.scatter_add(xs[0], a['axis'], xs[1].long(), xs[2])
case('scatterAdd/duplicates', lambda d: [d.randn(3, 4), i32([[0, 0, 3], [1, 2, 1]]), d.randn(2, 3)], sa, {'axis': 1})
case('scatterAdd/axis0', lambda d: [d.randn(3, 2), i32([[2, 0], [2, 2]]), d.randn(2, 2)], sa, {'axis': 0})
case('scatterAdd/empty-index', lambda d: [d.randn(2, 3), torch.zeros(2, 0, dtype=torch.int32), torch.zeros(2, 0)], sa, {'axis': 1})
isel = lambda xs, a: torch.index_select(xs[0], a['axis'], xs[1].long())
case('indexSelect/axis0', lambda d: [d.randn(4, 3), i32([3, 0, 3])], isel, {'axis': 0})
case('indexSelect/axis1', lambda d: [d.randn(2, 4, 3), i32([2, 2, 0, 1, 3])], isel, {'axis': 1})
case('indexSelect/empty', lambda d: [d.randn(4, 3), torch.zeros(0, dtype=torch.int32)], isel, {'axis': 0})
ia = lambda xs, a: torch.index_add(xs[0], a['axis'], xs[1].long(), xs[2])
case('indexAdd/duplicates', lambda d: [d.randn(4, 3), i32([1, 3, 1]), d.randn(3, 3)], ia, {'axis': 0})
case('indexAdd/axis1', lambda d: [d.randn(2, 4, 2), i32([0, 0, 2]), d.randn(2, 3, 2)], ia, {'axis': 1})
em = lambda xs, a: F.embedding(xs[1].long(), xs[0])
case('embedding/repeated', lambda d: [d.randn(5, 3), i32([[1, 4, 1], [0, 1, 2]])], em)
case('embedding/flat', lambda d: [d.randn(4, 2), i32([3, 3, 0])], em)
case('embedding/scalar-id', lambda d: [d.randn(4, 2), i32(2)], em)
oh = lambda xs, a: F.one_hot(xs[0].long(), a['numClasses'])
case('oneHot/matrix', lambda d: [i32([[0, 3], [2, 2]])], oh, {'numClasses': 4})
case('oneHot/scalar', lambda d: [i32(1)], oh, {'numClasses': 3})
case('oneHot/empty', lambda d: [torch.zeros(0, dtype=torch.int32)], oh, {'numClasses': 3})
for op, f in (('triu', torch.triu), ('tril', torch.tril)):
    fn = lambda xs, a, f=f: f(xs[0], a.get('diagonal', 0))
    case(f'{op}/square', lambda d: [d.randn(4, 4)], fn)
    case(f'{op}/wide-above', lambda d: [d.randn(3, 5)], fn, {'diagonal': 1})
    case(f'{op}/batched-below', lambda d: [d.randn(2, 4, 3)], fn, {'diagonal': -1})
    case(f'{op}/int', lambda d: [d.randint(1, 9, 3, 3)], fn)


def topk_fn(xs, a):
    values, indices = torch.topk(xs[0], a['k'], a.get('axis', -1), a.get('largest', True), sorted=True)
    return [values, indices]


case('topk/last-axis', lambda d: [d.distinct(3, 6)], topk_fn, {'k': 3})
case('topk/smallest', lambda d: [d.distinct(3, 6)], topk_fn, {'k': 2, 'largest': False})
case('topk/axis0', lambda d: [d.distinct(5, 3)], topk_fn, {'k': 2, 'axis': 0})
case('topk/middle-axis', lambda d: [d.distinct(2, 5, 3)], topk_fn, {'k': 4, 'axis': 1})
case('topk/all', lambda d: [d.distinct(4)], topk_fn, {'k': 4})
case('topk/none', lambda d: [d.distinct(2, 4)], topk_fn, {'k': 0})


# ---------------------------------------------------------------- normalisation and losses


def layer_norm_fn(xs, a):
    x, rest = xs[0], list(xs[1:])
    w = rest.pop(0) if a['hasWeight'] else None
    b = rest.pop(0) if a['hasBias'] else None
    return F.layer_norm(x, [x.shape[-1]], w, b, a['eps'])


ln = lambda d, *shape: [d.randn(*shape) * 2 + 1]
case('layerNorm/affine', lambda d: ln(d, 3, 5) + [d.randn(5), d.randn(5)], layer_norm_fn, {'eps': 1e-5, 'hasWeight': True, 'hasBias': True})
case('layerNorm/plain', lambda d: ln(d, 2, 3, 4), layer_norm_fn, {'eps': 1e-5, 'hasWeight': False, 'hasBias': False})
case('layerNorm/weight-only', lambda d: ln(d, 4, 6) + [d.randn(6)], layer_norm_fn, {'eps': 1e-3, 'hasWeight': True, 'hasBias': False})
case('layerNorm/bias-only', lambda d: ln(d, 3, 4) + [d.randn(4)], layer_norm_fn, {'eps': 1e-5, 'hasWeight': False, 'hasBias': True})
case('layerNorm/vector', lambda d: ln(d, 7) + [d.randn(7), d.randn(7)], layer_norm_fn, {'eps': 1e-5, 'hasWeight': True, 'hasBias': True})
case('layerNorm/offset-rows', lambda d: [d.randn(2, 8) * 0.1 + 50, d.randn(8), d.randn(8)], layer_norm_fn, {'eps': 1e-5, 'hasWeight': True, 'hasBias': True})
case('layerNorm/empty-batch', lambda d: [torch.zeros(0, 4), d.randn(4), d.randn(4)], layer_norm_fn, {'eps': 1e-5, 'hasWeight': True, 'hasBias': True})


def rms_norm_fn(xs, a):
    x = xs[0]
    out = x * torch.rsqrt(torch.mean(x * x, -1, keepdim=True) + a['eps'])
    return out * xs[1] if a['hasWeight'] else out


case('rmsNorm/weight', lambda d: ln(d, 3, 5) + [d.randn(5)], rms_norm_fn, {'eps': 1e-5, 'hasWeight': True})
case('rmsNorm/plain', lambda d: ln(d, 2, 3, 4), rms_norm_fn, {'eps': 1e-6, 'hasWeight': False})
case('rmsNorm/vector', lambda d: ln(d, 6) + [d.randn(6)], rms_norm_fn, {'eps': 1e-5, 'hasWeight': True})
case('rmsNorm/empty-batch', lambda d: [torch.zeros(0, 3), d.randn(3)], rms_norm_fn, {'eps': 1e-5, 'hasWeight': True})


def cross_entropy_fn(xs, a):
    logits, targets = xs[0], xs[1].long()
    classes = logits.shape[-1]
    loss = F.cross_entropy(
        logits.reshape(-1, classes),
        targets.reshape(-1),
        ignore_index=a.get('ignoreIndex', -100),
        reduction=a.get('reduction', 'mean'),
    )
    return loss.reshape(targets.shape) if a.get('reduction') == 'none' else loss


for reduction in ('mean', 'sum', 'none'):
    attrs = {'reduction': reduction}
    case(f'crossEntropy/{reduction}', lambda d: [d.randn(4, 5) * 2, i32([1, 0, 4, 1])], cross_entropy_fn, attrs)
    case(f'crossEntropy/{reduction}-ignored', lambda d: [d.randn(4, 5) * 2, i32([1, -100, 4, -100])], cross_entropy_fn, attrs)
    case(f'crossEntropy/{reduction}-custom-ignore', lambda d: [d.randn(4, 3), i32([2, 0, 2, 1])], cross_entropy_fn, {**attrs, 'ignoreIndex': 2})
    case(f'crossEntropy/{reduction}-3d', lambda d: [d.randn(2, 3, 4), d.randint(0, 4, 2, 3)], cross_entropy_fn, attrs)
case('crossEntropy/default', lambda d: [d.randn(3, 4), i32([3, 0, 2])], cross_entropy_fn)
case('crossEntropy/large-logits', lambda d: [f32([[1000.0, 0.0, -1000.0], [50.0, 51.0, 52.0]]), i32([2, 0])], cross_entropy_fn, {'reduction': 'none'})
case('crossEntropy/empty-sum', lambda d: [torch.zeros(0, 3), torch.zeros(0, dtype=torch.int32)], cross_entropy_fn, {'reduction': 'sum'})


# ---------------------------------------------------------------- non-finite values

# Gradients at NaN inputs are left out where PyTorch's value is an accident of how its backward
# formula is written (relu and maximum pass the gradient on, abs drops it). sign(NaN) is left out
# altogether: PyTorch returns 0 (pytorch/pytorch#41245); Glassbox returns NaN, as NumPy does.
NAN, INF = math.nan, math.inf
for op in ('relu', 'abs', 'sigmoid', 'tanh', 'exp', 'neg'):
    case(f'{op}/nan', lambda d: [f32([NAN, -INF, INF, 1.0])], lambda xs, a, f=UNARY[op]: f(xs[0]), grads=False)
for op in ('relu', 'abs', 'sign', 'sigmoid', 'tanh', 'exp', 'neg'):
    case(f'{op}/infinite', lambda d: [f32([-INF, INF, 0.5])], lambda xs, a, f=UNARY[op]: f(xs[0]))
case('log/negative', lambda d: [f32([-1.0, 0.0, INF])], lambda xs, a: torch.log(xs[0]))
case('sqrt/zero', lambda d: [f32([0.0, 4.0])], lambda xs, a: torch.sqrt(xs[0]))
case('rsqrt/zero', lambda d: [f32([0.0, 4.0])], lambda xs, a: torch.rsqrt(xs[0]))
case('div/zero-by-zero', lambda d: [f32([0.0, 1.0]), f32([0.0, 0.0])], lambda xs, a: xs[0] / xs[1])
case('pow/negative-base', lambda d: [f32([-2.0, -2.0, 0.0]), f32([0.5, 2.0, -1.0])], pw)
case('maximum/nan', lambda d: [f32([NAN, 1.0, NAN]), f32([1.0, NAN, NAN])], lambda xs, a: torch.maximum(xs[0], xs[1]), grads=False)
case('minimum/nan', lambda d: [f32([NAN, 1.0, NAN]), f32([1.0, NAN, NAN])], lambda xs, a: torch.minimum(xs[0], xs[1]), grads=False)
case('clamp/nan', lambda d: [f32([NAN, -2.0, 2.0])], cl, {'min': -1.0, 'max': 1.0})
case('max/nan', lambda d: [f32([[1.0, NAN, 3.0], [1.0, 2.0, 3.0]])], reduce_fn(REDUCE['max']), {'axes': 1})
case('min/nan', lambda d: [f32([[1.0, NAN, 3.0], [1.0, 2.0, 3.0]])], reduce_fn(REDUCE['min']), {'axes': 1})
case('max/infinite', lambda d: [f32([[-INF, -INF], [INF, 1.0]])], reduce_fn(REDUCE['max']), {'axes': 1})
case('argmax/nan', lambda d: [f32([[1.0, NAN, 3.0], [3.0, 2.0, NAN]])], arg_fn(torch.argmax), {'axis': 1})
case('argmin/nan', lambda d: [f32([[1.0, NAN, 0.0], [3.0, 2.0, NAN]])], arg_fn(torch.argmin), {'axis': 1})
case('eq/nan', lambda d: [f32([NAN, 1.0, INF]), f32([NAN, NAN, INF])], lambda xs, a: torch.eq(xs[0], xs[1]))
case('ne/nan', lambda d: [f32([NAN, 1.0, INF]), f32([NAN, NAN, INF])], lambda xs, a: torch.ne(xs[0], xs[1]))
case('where/nan-unselected', lambda d: [i32([1, 0]), f32([1.0, NAN]), f32([NAN, 2.0])], wh)
case('softmax/all-masked', lambda d: [f32([[-INF, -INF], [0.0, 1.0]])], lambda xs, a: torch.softmax(xs[0], a['axis']), {'axis': 1})
case('logsumexp/all-masked', lambda d: [f32([[-INF, -INF], [0.0, 1.0]])], reduce_fn(REDUCE['logsumexp']), {'axes': 1})
case('logsumexp/infinite', lambda d: [f32([[INF, 1.0], [0.0, 1.0]])], reduce_fn(REDUCE['logsumexp']), {'axes': 1})
case('crossEntropy/mean-all-ignored', lambda d: [d.randn(2, 3), i32([-100, -100])], cross_entropy_fn, {'reduction': 'mean'})
case('cumsum/non-finite', lambda d: [f32([1.0, INF, -INF, 2.0])], cs, {'axis': 0})
case('topk/nan', lambda d: [f32([[1.0, NAN, 3.0, 0.0]])], topk_fn, {'k': 2})


# ---------------------------------------------------------------- evaluation and output


def encode_value(v, dtype):
    if dtype == 'int32':
        return int(v)
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    # The shortest decimal that rounds back to the same float32 (numpy's repr of a float32).
    return float(repr(np.float32(v)))


def encode(t):
    t = t.detach()
    dtype = 'float32' if t.is_floating_point() else 'int32'
    values = t.reshape(-1).tolist()
    if dtype == 'float32':
        values = [float(np.float32(v)) for v in values]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': [encode_value(v, dtype) for v in values]}


def run(name, inputs, fn, attrs, with_grads):
    torch_inputs = []
    for x in inputs:
        if x.is_floating_point():
            torch_inputs.append(x.double().requires_grad_(with_grads))
        else:
            torch_inputs.append(x.long())
    outs = fn(torch_inputs, attrs)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    draw = Draw(name + '#cotangent')
    cotangents = [draw.randn(*o.shape) if o.is_floating_point() and with_grads else None for o in outs]
    loss = None
    for o, c in zip(outs, cotangents):
        if c is not None and o.requires_grad:
            term = (o * c.double()).sum()
            loss = term if loss is None else loss + term
    floats = [t for t in torch_inputs if t.requires_grad]
    grads = torch.autograd.grad(loss, floats, allow_unused=True) if loss is not None else [None] * len(floats)
    any_float_output = any(c is not None for c in cotangents)
    by_input = iter(grads)
    encoded_grads = []
    for t in torch_inputs:
        if not t.requires_grad or not any_float_output:
            encoded_grads.append(None)
            continue
        g = next(by_input)
        encoded_grads.append(encode(g if g is not None else torch.zeros_like(t)))
    return {
        'name': name,
        'op': name.split('/')[0],
        'attrs': attrs,
        'inputs': [encode(x) for x in inputs],
        'outputs': [encode(o) for o in outs],
        'cotangents': [encode(c) if c is not None else None for c in cotangents],
        'grads': encoded_grads,
    }


def main():
    names = [c[0] for c in CASES]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates
    results = [run(*c) for c in CASES]
    header = {
        'generator': 'packages/tensor/scripts/op_goldens.py',
        'torch': torch.__version__.split('+')[0],
        'precision': 'float32 inputs; reference computed in float64 and rounded to float32 once',
    }
    lines = [json.dumps(r, separators=(',', ':'), allow_nan=False) for r in results]
    with open(OUT, 'w') as f:
        f.write(json.dumps(header, separators=(',', ':'))[:-1] + ',"cases":[\n' + ',\n'.join(lines) + '\n]}\n')
    print(f'{len(results)} cases, {os.path.getsize(OUT)} bytes -> {os.path.relpath(OUT)}')


if __name__ == '__main__':
    main()
