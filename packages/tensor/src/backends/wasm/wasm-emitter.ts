import { Op, Section, Simd, ValType } from './opcodes.ts';

/**
 * A small WebAssembly binary emitter: a module with one imported memory and exported
 * functions whose bodies are written as stack code through FunctionBuilder. The encoding
 * follows the core specification's binary format; SIMD instructions sit behind the 0xfd prefix.
 */

export function uleb(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
}

export function sleb(out: number[], value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

const f32Scratch = new DataView(new ArrayBuffer(8));

function name(out: number[], text: string): void {
  const bytes = new TextEncoder().encode(text);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

/** A branch target: the block or loop depth at which it was opened. */
export interface Label {
  readonly depth: number;
}

/** Any code that leaves one value on the stack. */
export type Emit = () => void;

/**
 * Writes one function body. Methods push instructions and return `this`, so stack code
 * reads left to right: `f.get(a).get(b).simd(Simd.f32x4Add).set(c)`.
 */
export class FunctionBuilder {
  readonly index: number;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  private readonly localTypes: ValType[] = [];
  private readonly code: number[] = [];
  private readonly prologue: number[] = [];
  private readonly constants = new Map<string, number>();
  private depth = 0;

  constructor(index: number, params: readonly ValType[], results: readonly ValType[]) {
    this.index = index;
    this.params = params;
    this.results = results;
  }

  /** Declares a local and returns its index (parameters come first). */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  simd(sub: number): this {
    this.code.push(0xfd);
    uleb(this.code, sub);
    return this;
  }

  get(local: number): this {
    this.code.push(Op.localGet);
    uleb(this.code, local);
    return this;
  }

  set(local: number): this {
    this.code.push(Op.localSet);
    uleb(this.code, local);
    return this;
  }

  tee(local: number): this {
    this.code.push(Op.localTee);
    uleb(this.code, local);
    return this;
  }

  i32(value: number): this {
    this.code.push(Op.i32Const);
    sleb(this.code, value);
    return this;
  }

  f32(value: number): this {
    this.code.push(Op.f32Const);
    f32Scratch.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.code.push(f32Scratch.getUint8(i));
    return this;
  }

  f64(value: number): this {
    this.code.push(Op.f64Const);
    f32Scratch.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) this.code.push(f32Scratch.getUint8(i));
    return this;
  }

  /** v128.const with four f32 lanes. */
  f32x4(a: number, b = a, c = a, d = a): this {
    this.simd(Simd.v128Const);
    for (const v of [a, b, c, d]) {
      f32Scratch.setFloat32(0, v, true);
      for (let i = 0; i < 4; i++) this.code.push(f32Scratch.getUint8(i));
    }
    return this;
  }

  /** v128.const with four i32 lanes. */
  i32x4(a: number, b = a, c = a, d = a): this {
    this.simd(Simd.v128Const);
    for (const v of [a, b, c, d]) {
      f32Scratch.setInt32(0, v, true);
      for (let i = 0; i < 4; i++) this.code.push(f32Scratch.getUint8(i));
    }
    return this;
  }

  /**
   * Pushes the v128 constant that `emit` writes (f32x4 or i32x4) from a local set once at function
   * entry, shared by every use of the same constant. V8 rebuilds a v128.const from immediates at
   * each use (three instructions on x64), which adds up inside a loop; a local is one register or
   * stack-slot read.
   */
  hoisted(emit: () => void): this {
    const start = this.code.length;
    emit();
    const bytes = this.code.splice(start);
    const key = bytes.join(',');
    let local = this.constants.get(key);
    if (local === undefined) {
      local = this.local(ValType.v128);
      this.constants.set(key, local);
      for (const b of bytes) this.prologue.push(b);
      this.prologue.push(Op.localSet);
      uleb(this.prologue, local);
    }
    return this.get(local);
  }

  /** A plain memory instruction with its memarg (alignment as log2 bytes, constant byte offset). */
  mem(opcode: number, align: number, offset = 0): this {
    this.code.push(opcode);
    uleb(this.code, align);
    uleb(this.code, offset);
    return this;
  }

  /** A SIMD memory instruction with its memarg. */
  simdMem(sub: number, align: number, offset = 0): this {
    this.simd(sub);
    uleb(this.code, align);
    uleb(this.code, offset);
    return this;
  }

  f32Load(offset = 0): this {
    return this.mem(Op.f32Load, 2, offset);
  }
  f32Store(offset = 0): this {
    return this.mem(Op.f32Store, 2, offset);
  }
  i32Load(offset = 0): this {
    return this.mem(Op.i32Load, 2, offset);
  }
  i32Store(offset = 0): this {
    return this.mem(Op.i32Store, 2, offset);
  }
  f64Load(offset = 0): this {
    return this.mem(Op.f64Load, 3, offset);
  }
  f64Store(offset = 0): this {
    return this.mem(Op.f64Store, 3, offset);
  }
  v128Load(offset = 0): this {
    return this.simdMem(Simd.v128Load, 4, offset);
  }
  v128Store(offset = 0): this {
    return this.simdMem(Simd.v128Store, 4, offset);
  }
  load32Splat(offset = 0): this {
    return this.simdMem(Simd.v128Load32Splat, 2, offset);
  }
  load32Zero(offset = 0): this {
    return this.simdMem(Simd.v128Load32Zero, 2, offset);
  }
  /** Stack: address, vector → vector with `lane` replaced by the f32 at address. */
  load32Lane(lane: number, offset = 0): this {
    this.simdMem(Simd.v128Load32Lane, 2, offset);
    this.code.push(lane);
    return this;
  }
  /** Stack: address, vector → stores `lane` at address. */
  store32Lane(lane: number, offset = 0): this {
    this.simdMem(Simd.v128Store32Lane, 2, offset);
    this.code.push(lane);
    return this;
  }
  lane(sub: number, lane: number): this {
    this.simd(sub);
    this.code.push(lane);
    return this;
  }
  shuffle(lanes: readonly number[]): this {
    this.simd(Simd.i8x16Shuffle);
    for (const l of lanes) this.code.push(l);
    return this;
  }

  private open(opcode: number, result: ValType | undefined, body: (label: Label) => void): this {
    this.code.push(opcode, result ?? 0x40);
    this.depth++;
    body({ depth: this.depth });
    this.depth--;
    this.code.push(Op.end);
    return this;
  }

  block(body: (label: Label) => void, result?: ValType): this {
    return this.open(Op.block, result, body);
  }

  loop(body: (label: Label) => void, result?: ValType): this {
    return this.open(Op.loop, result, body);
  }

  /** Pops an i32 condition and runs `then` when it is nonzero, else `otherwise`. */
  ifElse(then: () => void, otherwise?: () => void, result?: ValType): this {
    this.code.push(Op.if, result ?? 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.code.push(Op.else);
      otherwise();
    }
    this.depth--;
    this.code.push(Op.end);
    return this;
  }

  br(label: Label): this {
    this.code.push(Op.br);
    uleb(this.code, this.depth - label.depth);
    return this;
  }

  brIf(label: Label): this {
    this.code.push(Op.brIf);
    uleb(this.code, this.depth - label.depth);
    return this;
  }

  call(fn: FunctionBuilder | number): this {
    this.code.push(Op.call);
    uleb(this.code, typeof fn === 'number' ? fn : fn.index);
    return this;
  }

  /**
   * `for (i = start; i < end; i += step) body()` on i32 locals, with the test before the first
   * iteration. `end` is evaluated on every test, so pass a local or constant.
   */
  forRange(i: number, start: Emit, end: Emit, step: number, body: () => void): this {
    start();
    this.set(i);
    return this.block((exit) => {
      this.get(i);
      end();
      this.op(Op.i32GeS).brIf(exit);
      this.loop((top) => {
        body();
        this.get(i).i32(step).op(Op.i32Add).tee(i);
        end();
        this.op(Op.i32LtS).brIf(top);
      });
    });
  }

  /** The encoded body: local declarations (runs of equal types), the code, and end. */
  encode(): number[] {
    const out: number[] = [];
    const runs: Array<[number, ValType]> = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(out, runs.length);
    for (const [count, t] of runs) {
      uleb(out, count);
      out.push(t);
    }
    for (const b of this.prologue) out.push(b);
    for (const b of this.code) out.push(b);
    out.push(Op.end);
    const sized: number[] = [];
    uleb(sized, out.length);
    return sized.concat(out);
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  minPages: number;
  maxPages?: number;
  shared?: boolean;
}

/** A module: one optional imported memory, functions, and the exports of those given a name. */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly functions: Array<{ builder: FunctionBuilder; type: number; exportName: string | undefined }> = [];
  private memory: MemoryImport | undefined;

  importMemory(memory: MemoryImport): this {
    this.memory = memory;
    return this;
  }

  /** Adds a function; write its body through the returned builder before calling bytes(). */
  function(exportName: string | undefined, params: readonly ValType[], results: readonly ValType[] = []): FunctionBuilder {
    const encoded = [0x60, params.length, ...params, results.length, ...results].join(',');
    let type = this.types.indexOf(encoded);
    if (type < 0) type = this.types.push(encoded) - 1;
    const builder = new FunctionBuilder(this.functions.length, params, results);
    this.functions.push({ builder, type, exportName });
    return builder;
  }

  bytes(): Uint8Array {
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types: number[] = [];
    uleb(types, this.types.length);
    for (const t of this.types) for (const b of t.split(',')) types.push(Number(b));
    section(out, Section.type, types);
    if (this.memory) {
      const m = this.memory;
      const imports: number[] = [1];
      name(imports, m.module);
      name(imports, m.name);
      imports.push(0x02, (m.maxPages !== undefined ? 1 : 0) | (m.shared ? 2 : 0));
      uleb(imports, m.minPages);
      if (m.maxPages !== undefined) uleb(imports, m.maxPages);
      section(out, Section.import, imports);
    }
    const funcs: number[] = [];
    uleb(funcs, this.functions.length);
    for (const f of this.functions) uleb(funcs, f.type);
    section(out, Section.function, funcs);
    const exported = this.functions.filter((f) => f.exportName !== undefined);
    const exports: number[] = [];
    uleb(exports, exported.length);
    for (const f of exported) {
      name(exports, f.exportName!);
      exports.push(0x00);
      uleb(exports, f.builder.index);
    }
    section(out, Section.export, exports);
    const code: number[] = [];
    uleb(code, this.functions.length);
    for (const f of this.functions) for (const b of f.builder.encode()) code.push(b);
    section(out, Section.code, code);
    return new Uint8Array(out);
  }
}

export { Op, Simd, ValType };
