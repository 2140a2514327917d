export { bfloat16ToFloat32, bfloat16ToFloat32Bits, float16ToFloat32, float16ToFloat32Bits } from './float16.ts';
export { DTYPE_SIZES, MAX_HEADER_LENGTH, type RawTensor, READABLE_DTYPES, type SafetensorsTensorInfo } from './safetensors.ts';
export { parseSafetensors, SafetensorsFile } from './safetensors-read.ts';
export { serializeSafetensors, writeSafetensors } from './safetensors-write.ts';
export { loadTensors, saveTensors } from './tensor-files.ts';
export { syncDirectory, temporarySibling, writeFileAtomic, writeJsonAtomic } from './atomic-write.ts';
export { pathExists } from './path-exists.ts';
