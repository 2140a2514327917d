/**
 * The vector loops under the sparse SAE kernels: axpy, dot and a threshold scan over contiguous
 * float32 runs, in a small SIMD WebAssembly module assembled here, byte by byte, with plain
 * JavaScript versions where WebAssembly SIMD is missing. A caller copies its operands into the
 * kernel memory (`reserve`, then `f32.set`), runs the loops on element offsets, and copies results
 * out. The memory is one per process and reused; kernels are synchronous and never nested.
 */

export interface VectorKernels {
  /** Float32 view of the kernel memory; renewed by reserve(). */
  f32: Float32Array;
  /** Int32 view of the same memory. */
  i32: Int32Array;
  /** Makes room for `elements` 4-byte elements from offset 0 (old contents may go). */
  reserve(elements: number): void;
  /** m[dst + i] += a · m[src + i] for i < n. */
  axpy(dst: number, src: number, a: number, n: number): void;
  /** Σ m[a + i] · m[b + i] for i < n. */
  dot(a: number, b: number, n: number): number;
  /**
   * Writes to i32[out..] each i < n with m[src + i] ≥ t, in increasing order, and returns how
   * many; i32[out .. out + n) must be free (entries past the count may be written too).
   */
  collectAtLeast(src: number, n: number, t: number, out: number): number;
}

// WebAssembly binary encoding: just what three loops need.
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const utf8 = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i32 = (n: number) => [0x41, ...sleb(n)];
const [add, and, shl, shrU, geU] = [[0x6a], [0x71], [0x74], [0x76], [0x4f]];
const [f32load, f32store, i32store] = [[0x2a, 2, 0], [0x38, 2, 0], [0x36, 2, 0]];
const [f32add, f32mul, f32ge] = [[0x92], [0x94], [0x60]];
const [vload, vstore] = [[0xfd, 0, 0, 0], [0xfd, 0x0b, 0, 0]];
const [splat, vadd, vmul, vge, bitmask] = [[0xfd, 0x13], [0xfd, 0xe4, 0x01], [0xfd, 0xe6, 0x01], [0xfd, 0x46], [0xfd, 0xa4, 0x01]];
const lane = (i: number) => [0xfd, 0x1f, i];
/** while (get(i) < get(stop)) { body } as block/loop. */
const whileBelow = (i: number, stop: number, body: number[]) => [0x02, 0x40, 0x03, 0x40, ...get(i), ...get(stop), ...geU, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
const ifThen = (body: number[]) => [0x04, 0x40, ...body, 0x0b];
/** Element offset to byte address, in place. */
const toBytes = (i: number) => [...get(i), ...i32(2), ...shl, ...set(i)];
const bump = (i: number, by: number) => [...get(i), ...i32(by), ...add, ...set(i)];

// axpy(dst, src, a, n): locals 4 stop4, 5 stop, 6 splat(a).
const axpyBody = [
  ...toBytes(0),
  ...toBytes(1),
  ...[...get(0), ...get(3), ...i32(-4), ...and, ...i32(2), ...shl, ...add, ...set(4)],
  ...[...get(0), ...get(3), ...i32(2), ...shl, ...add, ...set(5)],
  ...[...get(2), ...splat, ...set(6)],
  ...whileBelow(0, 4, [...get(0), ...get(0), ...vload, ...get(6), ...get(1), ...vload, ...vmul, ...vadd, ...vstore, ...bump(0, 16), ...bump(1, 16)]),
  ...whileBelow(0, 5, [...get(0), ...get(0), ...f32load, ...get(2), ...get(1), ...f32load, ...f32mul, ...f32add, ...f32store, ...bump(0, 4), ...bump(1, 4)]),
];
// dot(a, b, n) -> f32: locals 3 stop4, 4 stop, 5 acc (v128), 6 sum (f32).
const dotBody = [
  ...toBytes(0),
  ...toBytes(1),
  ...[...get(0), ...get(2), ...i32(-4), ...and, ...i32(2), ...shl, ...add, ...set(3)],
  ...[...get(0), ...get(2), ...i32(2), ...shl, ...add, ...set(4)],
  ...whileBelow(0, 3, [...get(5), ...get(0), ...vload, ...get(1), ...vload, ...vmul, ...vadd, ...set(5), ...bump(0, 16), ...bump(1, 16)]),
  ...[...get(5), ...lane(0), ...get(5), ...lane(1), ...f32add, ...get(5), ...lane(2), ...f32add, ...get(5), ...lane(3), ...f32add, ...set(6)],
  ...whileBelow(0, 4, [...get(6), ...get(0), ...f32load, ...get(1), ...f32load, ...f32mul, ...f32add, ...set(6), ...bump(0, 4), ...bump(1, 4)]),
  ...get(6),
];
// collectAtLeast(src, n, t, out) -> count: locals 4 i, 5 count, 6 n4, 7 splat(t), 8 j, 9 lane mask.
const checkOne = [
  ...[...get(0), ...get(8), ...i32(2), ...shl, ...add, ...f32load, ...get(2), ...f32ge],
  ...ifThen([...get(3), ...get(5), ...i32(2), ...shl, ...add, ...get(8), ...i32store, ...bump(5, 1)]),
  ...bump(8, 1),
];
/** Branch-free within a block of four that has a hit: every lane's index is stored, and the count moves past the hits only. */
const keepLane = (l: number) => [
  ...[...get(3), ...get(5), ...i32(2), ...shl, ...add, ...get(4), ...i32(l), ...add, ...i32store],
  ...[...get(5), ...get(9), ...i32(l), ...shrU, ...i32(1), ...and, ...add, ...set(5)],
];
const collectBody = [
  ...toBytes(0),
  ...toBytes(3),
  ...[...get(1), ...i32(-4), ...and, ...set(6)],
  ...[...get(2), ...splat, ...set(7)],
  ...whileBelow(4, 6, [
    ...[...get(0), ...get(4), ...i32(2), ...shl, ...add, ...vload, ...get(7), ...vge, ...bitmask, ...tee(9)],
    ...ifThen([...keepLane(0), ...keepLane(1), ...keepLane(2), ...keepLane(3)]),
    ...bump(4, 4),
  ]),
  ...[...get(4), ...set(8)],
  ...whileBelow(8, 1, checkOne),
  ...get(5),
];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const locals = (groups: Array<[number, number]>) => vec(groups.map(([count, type]) => [...uleb(count), type]));
  const body = (groups: Array<[number, number]>, code: number[]) => {
    const bytes = [...locals(groups), ...code, 0x0b];
    return [...uleb(bytes.length), ...bytes];
  };
  const types = vec([
    [0x60, ...vec([[I32], [I32], [F32], [I32]]), ...vec([])],
    [0x60, ...vec([[I32], [I32], [I32]]), ...vec([[F32]])],
    [0x60, ...vec([[I32], [I32], [F32], [I32]]), ...vec([[I32]])],
  ]);
  const memoryImport = vec([[...utf8('env'), ...utf8('memory'), 0x02, 0x00, 0x01]]);
  const exports = vec([
    [...utf8('axpy'), 0x00, 0],
    [...utf8('dot'), 0x00, 1],
    [...utf8('collectAtLeast'), 0x00, 2],
  ]);
  const code = vec([
    body([[2, I32], [1, V128]], axpyBody),
    body([[2, I32], [1, V128], [1, F32]], dotBody),
    body([[3, I32], [1, V128], [2, I32]], collectBody),
  ]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, types),
    ...section(2, memoryImport),
    ...section(3, vec([[0], [1], [2]])),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

const PAGE = 65536;

function wasmKernels(): VectorKernels | null {
  if (typeof WebAssembly === 'undefined') return null;
  const bytes = moduleBytes();
  if (!WebAssembly.validate(bytes)) return null;
  const memory = new WebAssembly.Memory({ initial: 1 });
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  } catch {
    // Synchronous compilation can be refused (some browsers' main threads, strict content policies).
    return null;
  }
  const fns = instance.exports as unknown as {
    axpy: (dst: number, src: number, a: number, n: number) => void;
    dot: (a: number, b: number, n: number) => number;
    collectAtLeast: (src: number, n: number, t: number, out: number) => number;
  };
  const kernels: VectorKernels = {
    f32: new Float32Array(memory.buffer),
    i32: new Int32Array(memory.buffer),
    reserve(elements) {
      // 16 bytes of slack: nothing reads past a run, but offsets stay valid at the very end.
      const need = Math.ceil((elements * 4 + 16) / PAGE) - memory.buffer.byteLength / PAGE;
      if (need > 0) memory.grow(need);
      if (kernels.f32.buffer !== memory.buffer) {
        kernels.f32 = new Float32Array(memory.buffer);
        kernels.i32 = new Int32Array(memory.buffer);
      }
    },
    axpy: fns.axpy,
    dot: fns.dot,
    collectAtLeast: fns.collectAtLeast,
  };
  return kernels;
}

function jsKernels(): VectorKernels {
  const kernels: VectorKernels = {
    f32: new Float32Array(0),
    i32: new Int32Array(0),
    reserve(elements) {
      if (kernels.f32.length >= elements) return;
      const buffer = new ArrayBuffer(elements * 4);
      kernels.f32 = new Float32Array(buffer);
      kernels.i32 = new Int32Array(buffer);
    },
    axpy(dst, src, a, n) {
      const m = kernels.f32;
      for (let i = 0; i < n; i++) m[dst + i] = m[dst + i]! + a * m[src + i]!;
    },
    dot(a, b, n) {
      const m = kernels.f32;
      let s = 0;
      for (let i = 0; i < n; i++) s += m[a + i]! * m[b + i]!;
      return s;
    },
    collectAtLeast(src, n, t, out) {
      const m = kernels.f32;
      let count = 0;
      for (let i = 0; i < n; i++) if (m[src + i]! >= t) kernels.i32[out + count++] = i;
      return count;
    },
  };
  return kernels;
}

let instance: VectorKernels | undefined;

/** The process's kernels: SIMD WebAssembly where it compiles, else plain JavaScript. */
export function vectorKernels(): VectorKernels {
  instance ??= wasmKernels() ?? jsKernels();
  return instance;
}

/** Plain JavaScript kernels, whatever the platform: the reference the WebAssembly ones are tested against. */
export function referenceVectorKernels(): VectorKernels {
  return jsKernels();
}
