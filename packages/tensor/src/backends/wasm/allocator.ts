/**
 * A range allocator over one linear address space, in 64-byte units (a cache line, and
 * enough alignment for any v128 access). Freed blocks coalesce with free neighbours, and a
 * free block that reaches the top lowers the top instead, so a loop that allocates and frees
 * the same sizes reuses the same addresses and the space it needs stays at its peak live size.
 *
 * Free blocks sit in size-class bins: one bin per exact size up to 64 units, then four bins per
 * power of two. Allocation takes the first fitting block of its own bin, else any block of the
 * next non-empty bin, splitting off the remainder.
 */

export const UNIT = 64;
const EXACT = 64;

function binOf(units: number): number {
  if (units < EXACT) return units;
  const octave = 31 - Math.clz32(units);
  const sub = (units >>> (octave - 2)) & 3;
  return EXACT + (octave - 6) * 4 + sub;
}

export interface AllocatorStats {
  /** Bytes in live blocks. */
  liveBytes: number;
  /** The top of the used range: the address space the allocator needs right now. */
  topBytes: number;
  /** The highest top so far. */
  peakTopBytes: number;
  liveBlocks: number;
  freeBlocks: number;
}

export class RangeAllocator {
  private top: number;
  private peakTop: number;
  private live = 0;
  private liveBlocks = 0;
  private readonly freeByStart = new Map<number, number>();
  private readonly freeByEnd = new Map<number, number>();
  private readonly bins: Array<Set<number>> = [];

  /**
   * @param base first usable byte (rounded up to a unit)
   * @param ensure called with the byte size the space must reach before an allocation is used
   */
  constructor(
    base: number,
    private readonly ensure: (bytes: number) => void,
  ) {
    this.top = Math.ceil(base / UNIT);
    this.peakTop = this.top;
  }

  /** A block of at least `bytes` bytes; returns its byte address. */
  alloc(bytes: number): number {
    const units = Math.max(1, Math.ceil(bytes / UNIT));
    this.live += units;
    this.liveBlocks++;
    const found = this.takeFree(units);
    if (found >= 0) return found * UNIT;
    const start = this.top;
    this.ensure((start + units) * UNIT);
    this.top = start + units;
    if (this.top > this.peakTop) this.peakTop = this.top;
    return start * UNIT;
  }

  /** Returns the block at `address` of the size it was allocated with. */
  free(address: number, bytes: number): void {
    let start = address / UNIT;
    let units = Math.max(1, Math.ceil(bytes / UNIT));
    this.live -= units;
    this.liveBlocks--;
    const left = this.freeByEnd.get(start);
    if (left !== undefined) {
      units += start - left;
      this.removeFree(left);
      start = left;
    }
    const rightSize = this.freeByStart.get(start + units);
    if (rightSize !== undefined) {
      this.removeFree(start + units);
      units += rightSize;
    }
    if (start + units === this.top) this.top = start;
    else this.addFree(start, units);
  }

  /** Bytes in live blocks (cheaper than stats()). */
  get liveBytes(): number {
    return this.live * UNIT;
  }

  stats(): AllocatorStats {
    return {
      liveBytes: this.live * UNIT,
      topBytes: this.top * UNIT,
      peakTopBytes: this.peakTop * UNIT,
      liveBlocks: this.liveBlocks,
      freeBlocks: this.freeByStart.size,
    };
  }

  private takeFree(units: number): number {
    const first = binOf(units);
    for (let b = first; b < this.bins.length; b++) {
      const bin = this.bins[b];
      if (!bin || bin.size === 0) continue;
      for (const start of bin) {
        const size = this.freeByStart.get(start)!;
        if (size < units) continue;
        this.removeFree(start);
        if (size > units) this.addFree(start + units, size - units);
        return start;
      }
    }
    return -1;
  }

  private addFree(start: number, units: number): void {
    this.freeByStart.set(start, units);
    this.freeByEnd.set(start + units, start);
    const b = binOf(units);
    while (this.bins.length <= b) this.bins.push(new Set());
    this.bins[b]!.add(start);
  }

  private removeFree(start: number): void {
    const units = this.freeByStart.get(start)!;
    this.freeByStart.delete(start);
    this.freeByEnd.delete(start + units);
    this.bins[binOf(units)]!.delete(start);
  }
}
