import { type Tensor, tensor } from '@glassbox/tensor';
import fc from 'fast-check';

export interface ShapeConstraints {
  /** Fewest axes; 0 allows 0-d scalars. Default 0. */
  minRank?: number;
  /** Most axes. Default 4. */
  maxRank?: number;
  /** Largest dimension. Default 4. */
  maxDim?: number;
  /** Lets a dimension be 0 (an empty tensor) now and then. Default false. */
  allowEmpty?: boolean;
}

/**
 * One dimension in [1, maxDim], with extra weight on 1 (the broadcasting case) and, when
 * allowed, an occasional 0. Shrinks towards 1.
 */
export function dimArb({ maxDim = 4, allowEmpty = false }: Pick<ShapeConstraints, 'maxDim' | 'allowEmpty'> = {}): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.constant(1), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: Math.max(1, maxDim) }), weight: 5 },
    { arbitrary: fc.constant(0), weight: allowEmpty ? 1 : 0 },
  );
}

/** A shape: `[]` is a 0-d scalar when minRank is 0. */
export function shapeArb(constraints: ShapeConstraints = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 4 } = constraints;
  return fc.array(dimArb(constraints), { minLength: minRank, maxLength: Math.max(minRank, maxRank) });
}

/** Cuts `full` down to an operand that broadcasts to it: drops some leading axes and turns some dimensions into 1. */
function broadcastOperandArb(full: readonly number[]): fc.Arbitrary<number[]> {
  return fc
    .tuple(fc.integer({ min: 0, max: full.length }), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }))
    .map(([drop, ones]) => full.slice(drop).map((d, i) => (ones[drop + i] ? 1 : d)));
}

/**
 * Two shapes that broadcast together, NumPy style. Each is the common shape with some leading
 * axes dropped (all of them gives a 0-d scalar) and some dimensions set to 1; with allowEmpty,
 * a 0 in the common shape meets either 0 or 1.
 */
export function broadcastPairArb(constraints: Omit<ShapeConstraints, 'minRank'> = {}): fc.Arbitrary<[number[], number[]]> {
  return shapeArb({ ...constraints, minRank: 0 }).chain((full) => fc.tuple(broadcastOperandArb(full), broadcastOperandArb(full)));
}

export interface FloatConstraints {
  /** Smallest value. Default -3. */
  min?: number;
  /** Largest value. Default 3. */
  max?: number;
  /** Keeps every value at least `margin` away from 0: for relu, abs, sign, division. */
  avoidZero?: boolean;
  /** More points to keep `margin` away from, such as clamp bounds. */
  avoid?: readonly number[];
  /** Distance kept from 0 and from the `avoid` points. Default 0.1. */
  margin?: number;
  /**
   * Keeps every pair of values apart, so that max, min, sort and topk have no ties a small
   * perturbation could flip. `true` keeps them 0.1 apart; a number sets the gap.
   */
  avoidNearTies?: boolean | number;
}

type Interval = readonly [number, number];

/** [min, max] without the open windows of radius `margin` around each avoided point. */
function allowedIntervals(min: number, max: number, avoid: readonly number[], margin: number): Interval[] {
  let intervals: Interval[] = [[min, max]];
  for (const p of avoid) {
    intervals = intervals.flatMap(([lo, hi]): Interval[] => {
      if (p + margin <= lo || p - margin >= hi) return [[lo, hi]];
      const pieces: Interval[] = [
        [lo, p - margin],
        [p + margin, hi],
      ];
      return pieces.filter(([a, b]) => b > a);
    });
  }
  return intervals;
}

/** Maps u in [0, 1] onto the union of intervals, uniformly by length. */
function placeOnIntervals(intervals: readonly Interval[], total: number, u: number): number {
  let s = Math.min(Math.max(u, 0), 1) * total;
  for (const [lo, hi] of intervals) {
    if (s <= hi - lo) return lo + s;
    s -= hi - lo;
  }
  return intervals[intervals.length - 1]![1];
}

/**
 * `size` float32 values in [min, max], optionally kept away from 0, from given points and from
 * each other. Throws when the constraints leave no room (for example, more values than fit
 * `avoidNearTies` apart): widen the range or shrink the shapes.
 */
export function floatArrayArb(size: number, constraints: FloatConstraints = {}): fc.Arbitrary<Float32Array> {
  const { min = -3, max = 3, avoidZero = false, avoid = [], margin = 0.1, avoidNearTies = false } = constraints;
  if (!(min <= max)) throw new RangeError(`floatArrayArb: min ${min} is greater than max ${max}`);
  const intervals = allowedIntervals(min, max, avoidZero ? [0, ...avoid] : avoid, margin);
  const total = intervals.reduce((s, [lo, hi]) => s + hi - lo, 0);
  if (intervals.length === 0 || (total === 0 && size > 1 && avoidNearTies)) {
    throw new RangeError(`floatArrayArb: nothing in [${min}, ${max}] is ${margin} away from [${avoidZero ? [0, ...avoid] : avoid}]`);
  }
  const toFloats = (us: readonly number[]) => Float32Array.from(us, (u) => placeOnIntervals(intervals, total, u));
  if (size === 0) return fc.constant(null).map(() => new Float32Array(0));
  if (!avoidNearTies) {
    return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: size, maxLength: size }).map(toFloats);
  }
  // Distinct cells at least twice the gap wide, each value jittered by at most a quarter cell:
  // any two values are at least half a cell, so at least the gap, apart.
  const gap = avoidNearTies === true ? 0.1 : avoidNearTies;
  const cells = Math.floor(total / (2 * gap));
  if (cells < size) {
    throw new RangeError(`floatArrayArb: ${size} values ${gap} apart do not fit in [${min}, ${max}]; widen the range or shrink the shape`);
  }
  const cellIds = Array.from({ length: cells }, (_, i) => i);
  return fc
    .tuple(
      fc.shuffledSubarray(cellIds, { minLength: size, maxLength: size }),
      fc.array(fc.integer({ min: -25, max: 25 }), { minLength: size, maxLength: size }),
    )
    .map(([picked, jitter]) => toFloats(picked.map((cell, i) => (cell + 0.5 + jitter[i]! / 100) / cells)));
}

export interface TensorArbOptions extends FloatConstraints, ShapeConstraints {
  /** A fixed shape or an arbitrary of shapes; otherwise shapeArb(constraints). */
  shape?: readonly number[] | fc.Arbitrary<readonly number[]>;
  /** Marks the tensor as a leaf that needs gradients. */
  requiresGrad?: boolean;
}

/** Prints a generated tensor with its values, so a counterexample can be pasted into a test. */
function describeTensor(t: Tensor, data: Float32Array): void {
  const text = `tensor([${Array.from(data).join(', ')}], { shape: [${t.shape.join(', ')}] })`;
  Object.defineProperty(t, fc.toStringMethod, { value: () => text });
}

/** A float32 Glassbox tensor on the current backend, with values from floatArrayArb. */
export function tensorArb(options: TensorArbOptions = {}): fc.Arbitrary<Tensor> {
  const { shape, requiresGrad = false } = options;
  const shapes: fc.Arbitrary<readonly number[]> = shape === undefined ? shapeArb(options) : shape instanceof fc.Arbitrary ? shape : fc.constant(shape);
  return shapes.chain((s) =>
    floatArrayArb(
      s.reduce((a, b) => a * b, 1),
      options,
    ).map((data) => {
      const t = tensor(data, { shape: s, requiresGrad });
      describeTensor(t, data);
      return t;
    }),
  );
}
