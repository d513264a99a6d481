"""Writes the large inputs behind FUZZING.md's "Limits" figures into OUT (not into git).

    python3 Tests/fuzz/make_limits.py OUT

OUT/tensors-<n>.safetensors   n zero-sized F32 tensors: the most tensors a header can hold
                              near the 100 MB cap (about 1.5 M), and smaller counts
OUT/shape-zeros.safetensors   one tensor whose shape is [0, 0, …] filling ~99 MB: the most JSON
                              values per header byte
OUT/over-cap.safetensors      a header of 100,000,001 bytes (one past the cap)
"""
import os
import struct
import sys


def write(path, header):
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)


def tensors(n):
    entries = ",".join('"t%07d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}' % i for i in range(n))
    return ("{" + entries + "}").encode()


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for n in (10_000, 100_000, 1_000_000, 1_600_000):
        h = tensors(n)
        if len(h) <= 100_000_000:
            write(os.path.join(out, "tensors-%d.safetensors" % n), h)
    zeros = (99_000_000 - 64) // 2
    write(os.path.join(out, "shape-zeros.safetensors"),
          ('{"a":{"dtype":"F32","shape":[' + ",".join(["0"] * zeros) + '],"data_offsets":[0,0]}}').encode())
    write(os.path.join(out, "over-cap.safetensors"), b"{" + b" " * 99_999_999 + b"}")
