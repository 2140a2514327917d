/**
 * Half-precision decoding. Conversions work on bit patterns, so signed zeros, subnormals,
 * infinities and NaN payloads come through exactly as a hardware widening would give them.
 */

// Scratch views for turning float32 bit patterns into numbers.
const bits32 = new Uint32Array(1);
const float32 = new Float32Array(bits32.buffer);

/** The float32 bit pattern of the IEEE binary16 value with bit pattern `h`. */
export function float16ToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let fraction = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (fraction << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (fraction << 13)) >>> 0;
  if (fraction === 0) return sign >>> 0;
  // Subnormal half: shift until the leading one reaches the implicit-bit position.
  let e = 113;
  while ((fraction & 0x400) === 0) {
    fraction <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((fraction & 0x3ff) << 13)) >>> 0;
}

/** The value of the IEEE binary16 bit pattern `h`. */
export function float16ToFloat32(h: number): number {
  bits32[0] = float16ToFloat32Bits(h);
  return float32[0]!;
}

/** The float32 bit pattern of the bfloat16 bit pattern `h`: bfloat16 is the top half of a float32. */
export function bfloat16ToFloat32Bits(h: number): number {
  return ((h & 0xffff) << 16) >>> 0;
}

/** The value of the bfloat16 bit pattern `h`. */
export function bfloat16ToFloat32(h: number): number {
  bits32[0] = bfloat16ToFloat32Bits(h);
  return float32[0]!;
}
