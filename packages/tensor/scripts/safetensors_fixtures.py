#!/usr/bin/env python3
"""Writes src/fixtures/mixed-dtypes.safetensors and src/fixtures/mixed-dtypes.json.

The safetensors file holds small tensors of several dtypes, written by hand in the safetensors
format from PyTorch tensors' raw bytes (so the safetensors package is not needed). The JSON holds
what a reader should produce: float32 bit patterns for floating dtypes (exact, NaN included) and
int32 values for integer dtypes, or "overflow" for tensors that do not fit in int32.

Run from anywhere: python3 packages/tensor/scripts/safetensors_fixtures.py
"""

import json
import os
import struct
import sys

import torch

DTYPE_NAMES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}

SPECIALS = [0.0, -0.0, 1.0, -2.0, 0.5, float("inf"), float("-inf"), float("nan")]


def tensors():
    gen = torch.Generator().manual_seed(1234)
    return {
        "f32_scalar": torch.tensor(3.5, dtype=torch.float32),
        "f16_specials": torch.tensor(SPECIALS + [65504.0, 6e-8, 6.1e-5, 3.0e-5, -1e-7], dtype=torch.float16),
        "f16_matrix": torch.randn(2, 3, generator=gen).to(torch.float16),
        "f16_empty": torch.zeros(0, 3, dtype=torch.float16),
        "bf16_specials": torch.tensor(SPECIALS + [3.0e38, 1e-40, -1.2e-38, 0.1], dtype=torch.bfloat16),
        "bf16_matrix": torch.randn(3, 2, generator=gen).to(torch.bfloat16),
        "f64_values": torch.tensor([1.0 / 3.0, -1e-300, 1e300, 2.0**-149, 123456789.123], dtype=torch.float64),
        "i64_values": torch.tensor([[0, -1], [2**31 - 1, -(2**31)], [42, -42]], dtype=torch.int64),
        "i64_overflow": torch.tensor([1, 2**31], dtype=torch.int64),
        "i32_values": torch.tensor([7, -7, 2**31 - 1], dtype=torch.int32),
        "i16_values": torch.tensor([-32768, 32767, -1], dtype=torch.int16),
        "i8_values": torch.tensor([-128, 127, 0, -5], dtype=torch.int8),
        "u8_values": torch.tensor([[0, 1, 127], [128, 200, 255]], dtype=torch.uint8),
        "bool_values": torch.tensor([True, False, True, True], dtype=torch.bool),
    }


def raw_bytes(t):
    # Flatten first so 0-d tensors work; a uint8 view of contiguous memory is its raw bytes.
    return bytes(t.contiguous().reshape(-1).view(torch.uint8).tolist())


def expected(t):
    entry = {"shape": list(t.shape)}
    if t.dtype.is_floating_point:
        bits = t.to(torch.float32).reshape(-1).view(torch.int32).tolist()
        entry["dtype"] = "float32"
        entry["float32Bits"] = [b & 0xFFFFFFFF for b in bits]
    else:
        values = t.to(torch.int64).reshape(-1).tolist()
        entry["dtype"] = "int32"
        if all(-(2**31) <= v < 2**31 for v in values):
            entry["values"] = values
        else:
            entry["overflow"] = True
    return entry


def main():
    assert sys.byteorder == "little", "raw tensor bytes must be little-endian"
    items = sorted(tensors().items())
    header = {"__metadata__": {"format": "pt", "source": "safetensors_fixtures.py"}}
    data = bytearray()
    for name, t in items:
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad with spaces to a multiple of 8, as the reference implementation does.
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)

    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.normpath(os.path.join(here, "..", "src", "fixtures"))
    with open(os.path.join(fixtures, "mixed-dtypes.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        f.write(data)
    golden = {
        "description": "Expected decoding of mixed-dtypes.safetensors, from scripts/safetensors_fixtures.py",
        "torch": torch.__version__,
        "metadata": header["__metadata__"],
        "fileDtypes": {name: DTYPE_NAMES[t.dtype] for name, t in items},
        "tensors": {name: expected(t) for name, t in items},
    }
    with open(os.path.join(fixtures, "mixed-dtypes.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("wrote", fixtures)


if __name__ == "__main__":
    main()
