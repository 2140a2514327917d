import { type FunctionBuilder, type ModuleBuilder, Op, Simd, ValType } from './wasm-emitter.ts';

/**
 * The float32 GEMM, C[m, n] = A[m, k] · B[k, n], generated as one module. A and B are read
 * through arbitrary element strides (so transposed and sliced operands need no copy): they are
 * packed into contiguous panels, B as kc×NR column panels and A as MR×kc row panels, both
 * k-major and zero-padded. The micro-kernel then holds an MR×NR tile of C in MR·NR/4 v128
 * accumulators and, per k, loads NR/4 vectors of B and broadcasts MR values of A.
 *
 * Loops follow Goto and van de Geijn: over column blocks of NC, depth blocks of KC (B block
 * packed once, streamed through L3/L2), row blocks of MC (A block packed, kept in L2), then
 * the NR column micro-panel of B (kept in L1) against each MR row micro-panel of A.
 */
export interface GemmConfig {
  /** Rows of the register tile (a multiple of 4 when B is broadcast). */
  mr: number;
  /** Columns of the register tile (a multiple of 4). */
  nr: number;
  /**
   * Which operand is splatted per k: 'a' keeps C rows in the accumulators (MR·NR/4 of them,
   * NR/4 vector loads of B and MR splats of A per k); 'b' keeps C columns (MR/4·NR accumulators,
   * MR/4 vector loads of A and NR splats of B per k) and transposes 4×4 blocks on the way out.
   */
  broadcast: 'a' | 'b';
  /** Unrolling of the k loop (packed depths are padded to a multiple of it). */
  unroll: number;
  kc: number;
  mc: number;
  nc: number;
  /** Use f32x4.relaxed_madd instead of mul then add. */
  fma: boolean;
}

export function gemmKey(c: GemmConfig): string {
  return `gemm:${c.mr}x${c.nr}${c.broadcast}:u${c.unroll}:k${c.kc}:m${c.mc}:n${c.nc}:${c.fma ? 'fma' : 'muladd'}`;
}

/** Bytes of scratch one thread needs: the packed A block, the packed B block and an edge tile. */
export function gemmScratchBytes(c: GemmConfig): { a: number; b: number; tile: number } {
  const kcp = Math.ceil(c.kc / c.unroll) * c.unroll;
  return { a: Math.ceil(c.mc / c.mr) * c.mr * kcp * 4, b: Math.ceil(c.nc / c.nr) * c.nr * kcp * 4, tile: c.mr * c.nr * 4 };
}

/** min(a, b) of two i32 locals, left on the stack. */
function minLocal(f: FunctionBuilder, a: () => void, b: () => void): void {
  const ta = f.local(ValType.i32);
  const tb = f.local(ValType.i32);
  a();
  f.set(ta);
  b();
  f.set(tb);
  f.get(ta).get(tb).get(ta).get(tb).op(Op.i32LtS).op(Op.select);
}

/** acc += x · y, by relaxed fused multiply-add or by mul then add. */
function madd(f: FunctionBuilder, fma: boolean, target: number, x: number, y: number): void {
  if (fma) f.get(x).get(y).get(target).simd(Simd.f32x4RelaxedMadd).set(target);
  else f.get(target).get(x).get(y).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(target);
}

/** Byte indices for i8x16.shuffle picking four f32 lanes (0-3 from the first operand, 4-7 from the second). */
function lanes(...picks: number[]): number[] {
  return picks.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
}

/** Stores `row` at address `at` + byte offset, adding what is there when `accumulate` is set. */
function storeRow(f: FunctionBuilder, at: number, offset: number, row: number, accumulate: number): void {
  f.get(accumulate).ifElse(() => {
    f.get(row).get(at).v128Load(offset).simd(Simd.f32x4Add).set(row);
  });
  f.get(at).get(row).v128Store(offset);
}

/** micro(a, b, c, ldc, kcp, accumulate): the MR×NR tile at c (row stride ldc bytes) = (or +=) Apanel · Bpanel. */
function buildMicro(f: FunctionBuilder, cfg: GemmConfig): void {
  const [a, b, c, ldc, kcp, accumulate] = [0, 1, 2, 3, 4, 5];
  const { mr, nr, unroll } = cfg;
  // Accumulators: rows × vectors across for 'a'; row groups × columns for 'b'.
  const outer = cfg.broadcast === 'a' ? mr : mr / 4;
  const inner = cfg.broadcast === 'a' ? nr / 4 : nr;
  const acc = Array.from({ length: outer }, () => Array.from({ length: inner }, () => f.local(ValType.v128)));
  const vec = Array.from({ length: cfg.broadcast === 'a' ? nr / 4 : mr / 4 }, () => f.local(ValType.v128));
  const splat = f.local(ValType.v128);
  const end = f.local(ValType.i32);
  const row = f.local(ValType.i32);
  f.get(a).get(kcp).i32(mr * 4).op(Op.i32Mul).op(Op.i32Add).set(end);
  f.block((done) => {
    f.get(kcp).op(Op.i32Eqz).brIf(done);
    f.loop((top) => {
      for (let u = 0; u < unroll; u++) {
        if (cfg.broadcast === 'a') {
          vec.forEach((v, j) => {
            f.get(b).v128Load((u * nr + 4 * j) * 4).set(v);
          });
          for (let i = 0; i < mr; i++) {
            f.get(a).load32Splat((u * mr + i) * 4).set(splat);
            vec.forEach((v, j) => {
              madd(f, cfg.fma, acc[i]![j]!, splat, v);
            });
          }
        } else {
          vec.forEach((v, i) => {
            f.get(a).v128Load((u * mr + 4 * i) * 4).set(v);
          });
          for (let j = 0; j < nr; j++) {
            f.get(b).load32Splat((u * nr + j) * 4).set(splat);
            vec.forEach((v, i) => {
              madd(f, cfg.fma, acc[i]![j]!, v, splat);
            });
          }
        }
      }
      f.get(b).i32(unroll * nr * 4).op(Op.i32Add).set(b);
      f.get(a).i32(unroll * mr * 4).op(Op.i32Add).tee(a).get(end).op(Op.i32LtU).brIf(top);
    });
  });
  f.get(c).set(row);
  if (cfg.broadcast === 'a') {
    for (let i = 0; i < mr; i++) {
      for (let j = 0; j < nr / 4; j++) storeRow(f, row, j * 16, acc[i]![j]!, accumulate);
      if (i < mr - 1) f.get(row).get(ldc).op(Op.i32Add).set(row);
    }
    return;
  }
  // Columns to rows: transpose each 4×4 block of accumulators with shuffles.
  const t = Array.from({ length: 4 }, () => f.local(ValType.v128));
  const rows = Array.from({ length: 4 }, () => f.local(ValType.v128));
  for (let g = 0; g < mr / 4; g++) {
    for (let j0 = 0; j0 < nr; j0 += 4) {
      const [c0, c1, c2, c3] = [0, 1, 2, 3].map((d) => acc[g]![j0 + d]!) as [number, number, number, number];
      f.get(c0).get(c1).shuffle(lanes(0, 4, 1, 5)).set(t[0]!);
      f.get(c0).get(c1).shuffle(lanes(2, 6, 3, 7)).set(t[1]!);
      f.get(c2).get(c3).shuffle(lanes(0, 4, 1, 5)).set(t[2]!);
      f.get(c2).get(c3).shuffle(lanes(2, 6, 3, 7)).set(t[3]!);
      f.get(t[0]!).get(t[2]!).shuffle(lanes(0, 1, 4, 5)).set(rows[0]!);
      f.get(t[0]!).get(t[2]!).shuffle(lanes(2, 3, 6, 7)).set(rows[1]!);
      f.get(t[1]!).get(t[3]!).shuffle(lanes(0, 1, 4, 5)).set(rows[2]!);
      f.get(t[1]!).get(t[3]!).shuffle(lanes(2, 3, 6, 7)).set(rows[3]!);
      for (let r = 0; r < 4; r++) {
        f.get(c).get(ldc).i32(4 * g + r).op(Op.i32Mul).op(Op.i32Add).set(row);
        storeRow(f, row, j0 * 4, rows[r]!, accumulate);
      }
    }
  }
}

/** edge(tile, c, ldc, rows, cols, accumulate): writes the valid rows×cols corner of a contiguous MR×NR tile into C. */
function buildEdge(f: FunctionBuilder, cfg: GemmConfig): void {
  const [tile, c, ldc, rows, cols, accumulate] = [0, 1, 2, 3, 4, 5];
  const nr = cfg.nr;
  const i = f.local(ValType.i32);
  const j = f.local(ValType.i32);
  const src = f.local(ValType.i32);
  const dst = f.local(ValType.i32);
  const v = f.local(ValType.f32);
  f.forRange(i, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(tile).get(i).i32(nr * 4).op(Op.i32Mul).op(Op.i32Add).set(src);
    f.get(c).get(i).get(ldc).op(Op.i32Mul).op(Op.i32Add).set(dst);
    f.forRange(j, () => f.i32(0), () => f.get(cols), 1, () => {
      f.get(src).f32Load().set(v);
      f.get(accumulate).ifElse(() => f.get(v).get(dst).f32Load().op(Op.f32Add).set(v));
      f.get(dst).get(v).f32Store();
      f.get(src).i32(4).op(Op.i32Add).set(src);
      f.get(dst).i32(4).op(Op.i32Add).set(dst);
    });
  });
}

/** Zero-fills `bytes` (a multiple of 16) at `dst`. */
function zeroFill(f: FunctionBuilder, dst: () => void, bytes: () => void): void {
  const p = f.local(ValType.i32);
  const end = f.local(ValType.i32);
  dst();
  f.tee(p);
  bytes();
  f.op(Op.i32Add).set(end);
  f.block((done) => {
    f.get(p).get(end).op(Op.i32GeU).brIf(done);
    f.loop((top) => {
      f.get(p).i32x4(0).v128Store();
      f.get(p).i32(16).op(Op.i32Add).tee(p).get(end).op(Op.i32LtU).brIf(top);
    });
  });
}

/**
 * pack(src, major, minor, count, kc, kcp, dst): panels of `width` along the `minor` stride,
 * k-major: dst[panel][p][i] = src[(panel·width + i)·minor + p·major], zero beyond count and kc.
 * For A, minor is the row stride and major the column stride; for B the other way round.
 */
function buildPack(f: FunctionBuilder, width: number): void {
  const [src, major, minor, count, kc, kcp, dst] = [0, 1, 2, 3, 4, 5, 6];
  const start = f.local(ValType.i32);
  const lanes = f.local(ValType.i32);
  const i = f.local(ValType.i32);
  const p = f.local(ValType.i32);
  const s = f.local(ValType.i32);
  const d = f.local(ValType.i32);
  const panelBytes = f.local(ValType.i32);
  f.get(kcp).i32(width * 4).op(Op.i32Mul).set(panelBytes);
  f.forRange(start, () => f.i32(0), () => f.get(count), width, () => {
    minLocal(
      f,
      () => f.i32(width),
      () => f.get(count).get(start).op(Op.i32Sub),
    );
    f.set(lanes);
    f.get(lanes).i32(width).op(Op.i32LtS).get(kc).get(kcp).op(Op.i32LtS).op(Op.i32Or).ifElse(() => {
      zeroFill(
        f,
        () => f.get(dst),
        () => f.get(panelBytes),
      );
    });
    // Contiguous full panels (B row-major, A column-major): one v128 per group of four lanes.
    f.get(lanes).i32(width).op(Op.i32Eq).get(minor).i32(4).op(Op.i32Eq).op(Op.i32And).ifElse(
      () => {
        f.get(src).get(start).i32(4).op(Op.i32Mul).op(Op.i32Add).set(s);
        f.get(dst).set(d);
        f.forRange(p, () => f.i32(0), () => f.get(kc), 1, () => {
          let v = 0;
          for (; v + 4 <= width; v += 4) f.get(d).get(s).v128Load(v * 4).v128Store(v * 4);
          for (; v < width; v++) f.get(d).get(s).f32Load(v * 4).f32Store(v * 4);
          f.get(s).get(major).op(Op.i32Add).set(s);
          f.get(d).i32(width * 4).op(Op.i32Add).set(d);
        });
      },
      () => {
        f.forRange(i, () => f.i32(0), () => f.get(lanes), 1, () => {
          f.get(src).get(start).get(i).op(Op.i32Add).get(minor).op(Op.i32Mul).op(Op.i32Add).set(s);
          f.get(dst).get(i).i32(4).op(Op.i32Mul).op(Op.i32Add).set(d);
          f.forRange(p, () => f.i32(0), () => f.get(kc), 1, () => {
            f.get(d).get(s).f32Load().f32Store();
            f.get(s).get(major).op(Op.i32Add).set(s);
            f.get(d).i32(width * 4).op(Op.i32Add).set(d);
          });
        });
      },
    );
    f.get(dst).get(panelBytes).op(Op.i32Add).set(dst);
  });
}

/**
 * gemm(a, aRow, aCol, b, bRow, bCol, c, ldc, m, k, n0, n1, packA, packB, tile): writes columns
 * [n0, n1) of C (row stride ldc) with k > 0. Strides are in bytes.
 */
function buildGemm(f: FunctionBuilder, cfg: GemmConfig, fns: { micro: FunctionBuilder; edge: FunctionBuilder; packA: FunctionBuilder; packB: FunctionBuilder }): void {
  const [a, aRow, aCol, b, bRow, bCol, c, ldc, m, k, n0, n1, bufA, bufB, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as const;
  const nr = cfg.nr;
  const local = () => f.local(ValType.i32);
  const [jc, nc, pc, kc, kcp, ic, mc, jr, ir, nrr, mrr, cp, ap, bp, acc] = [local(), local(), local(), local(), local(), local(), local(), local(), local(), local(), local(), local(), local(), local(), local()];
  f.forRange(jc, () => f.get(n0), () => f.get(n1), cfg.nc, () => {
    minLocal(
      f,
      () => f.i32(cfg.nc),
      () => f.get(n1).get(jc).op(Op.i32Sub),
    );
    f.set(nc);
    f.forRange(pc, () => f.i32(0), () => f.get(k), cfg.kc, () => {
      minLocal(
        f,
        () => f.i32(cfg.kc),
        () => f.get(k).get(pc).op(Op.i32Sub),
      );
      f.tee(kc).i32(cfg.unroll - 1).op(Op.i32Add).i32(-cfg.unroll).op(Op.i32And).set(kcp);
      f.get(pc).i32(0).op(Op.i32GtS).set(acc);
      f.get(b).get(pc).get(bRow).op(Op.i32Mul).op(Op.i32Add).get(jc).get(bCol).op(Op.i32Mul).op(Op.i32Add);
      f.get(bRow).get(bCol).get(nc).get(kc).get(kcp).get(bufB).call(fns.packB);
      f.forRange(ic, () => f.i32(0), () => f.get(m), cfg.mc, () => {
        minLocal(
          f,
          () => f.i32(cfg.mc),
          () => f.get(m).get(ic).op(Op.i32Sub),
        );
        f.set(mc);
        f.get(a).get(ic).get(aRow).op(Op.i32Mul).op(Op.i32Add).get(pc).get(aCol).op(Op.i32Mul).op(Op.i32Add);
        f.get(aCol).get(aRow).get(mc).get(kc).get(kcp).get(bufA).call(fns.packA);
        f.forRange(jr, () => f.i32(0), () => f.get(nc), nr, () => {
          minLocal(
            f,
            () => f.i32(nr),
            () => f.get(nc).get(jr).op(Op.i32Sub),
          );
          f.set(nrr);
          f.get(bufB).get(jr).get(kcp).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(bp);
          f.forRange(ir, () => f.i32(0), () => f.get(mc), cfg.mr, () => {
            minLocal(
              f,
              () => f.i32(cfg.mr),
              () => f.get(mc).get(ir).op(Op.i32Sub),
            );
            f.set(mrr);
            f.get(c).get(ic).get(ir).op(Op.i32Add).get(ldc).op(Op.i32Mul).op(Op.i32Add);
            f.get(jc).get(jr).op(Op.i32Add).i32(4).op(Op.i32Mul).op(Op.i32Add).set(cp);
            f.get(bufA).get(ir).get(kcp).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(ap);
            f.get(mrr).i32(cfg.mr).op(Op.i32Eq).get(nrr).i32(nr).op(Op.i32Eq).op(Op.i32And).ifElse(
              () => {
                f.get(ap).get(bp).get(cp).get(ldc).get(kcp).get(acc).call(fns.micro);
              },
              () => {
                f.get(ap).get(bp).get(tile).i32(nr * 4).get(kcp).i32(0).call(fns.micro);
                f.get(tile).get(cp).get(ldc).get(mrr).get(nrr).get(acc).call(fns.edge);
              },
            );
          });
        });
      });
    });
  });
}

export function buildGemmModule(m: ModuleBuilder, cfg: GemmConfig): void {
  const i32 = ValType.i32;
  const micro = m.function('micro', [i32, i32, i32, i32, i32, i32]);
  const edge = m.function(undefined, [i32, i32, i32, i32, i32, i32]);
  const packA = m.function('packA', [i32, i32, i32, i32, i32, i32, i32]);
  const packB = m.function('packB', [i32, i32, i32, i32, i32, i32, i32]);
  const gemm = m.function('gemm', Array<ValType>(15).fill(i32));
  buildMicro(micro, cfg);
  buildEdge(edge, cfg);
  buildPack(packA, cfg.mr);
  buildPack(packB, cfg.nr);
  buildGemm(gemm, cfg, { micro, edge, packA, packB });
}
