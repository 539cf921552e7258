#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/fuzz_chip_proto.c: one valid frame of
each kind in the target's input layout (selector byte, 4 shape bytes,
payload; docs/hardware.md has the frame formats).  Run from the repository
root: python3 fuzz/make_chip_seeds.py"""
import os
import struct

out = "fuzz/corpus/fuzz_chip_proto"
os.makedirs(out, exist_ok=True)


def f32(*xs):
    return b"".join(struct.pack("<f", x) for x in xs)


def put(name, case, sel, payload):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([case]) + bytes(sel) + payload)


# n_params = 1 + s0 % 8, input_size = 1 + s1 % 4, output_size = 1 + s2 % 3,
# s3: max_vars = s3 & 3, max_batch = (s3 >> 2) & 3 (0 = no limit)
sel = [3, 1, 0, 0]  # 4 parameters, 2 inputs, 1 output, no limits
put("header-eval", 0, sel, b"ZPCH" + struct.pack("<HHII", 3, 0, 7, 120))
put("header-error", 0, sel, b"ZPCH" + struct.pack("<HHII", 5, 0, 0, 20))
put("hello", 1, sel, struct.pack("<II", 1, 0))
compact = struct.pack("<QIIII", 41, 2, 3, 1, 0) + f32(0.5, -1.0, 2.0, 0.25)
compact += struct.pack("<QQfI", 0, 2, 0.5, 0) + struct.pack("<QQfI", 1, 3, -1.0, 0)
compact += f32(1.0, -2.0) + f32(0.1, 0.2, 0.3)
compact += f32(1, 2, 3, 4, 5, 6)
put("eval-compact", 2, sel, compact)
put("eval-compact-limits", 2, [3, 1, 0, 0b1010], compact)
full = struct.pack("<QIIII", 9, 2, 1, 2, 0) + f32(1, 2, 3, 4) + f32(-1, -0.0, 0, 8)
full += f32(0.5, 0.25)
put("eval-full", 3, sel, full)
name = b"zoptic-chipd"
info = struct.pack("<IIII", 1, 1, 1, 0) + struct.pack("<QQQ", 18, 4, 3)
info += struct.pack("<III", 16, 4, len(name)) + name
put("info", 4, sel, info)
put("output", 5, [1, 2, 0, 0], struct.pack("<II", 2, 3) + f32(1, 2, 3, 4, 5, 6))
msg = b"laser interlock open"
put("error", 6, sel, struct.pack("<iI", -3, len(msg)) + msg)
