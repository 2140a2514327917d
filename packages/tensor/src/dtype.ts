/** Element types. float32 for values, int32 for tokens, indices and masks. */
export type DType = 'float32' | 'int32';

export type TypedArray = Float32Array | Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'int32'];

export function allocArray(dtype: DType, size: number): TypedArray {
  return dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
}

export function dtypeOfArray(data: TypedArray): DType {
  return data instanceof Float32Array ? 'float32' : 'int32';
}

/** NumPy/PyTorch promotion for our two dtypes: any float operand makes the result float. */
export function promoteTypes(a: DType, b: DType): DType {
  return a === 'float32' || b === 'float32' ? 'float32' : 'int32';
}
