"""Writes the large inputs behind FUZZING.md's "Limits" figures into OUT (not into git).

    python3 Tests/fuzz/make_limits.py OUT [headers] [shards] [tiny]     (default: all three)

headers:
  OUT/tensors-<n>.safetensors   n zero-sized F32 tensors, up to the most a header holds near the
                                100 MB cap (1.6 M with 8-byte names)
  OUT/shape-zeros.safetensors   one tensor whose shape is [0, 0, …] filling ~99 MB
  OUT/over-cap.safetensors      a header of 100,000,001 bytes (one past the cap)
shards:
  OUT/shards70k/                one model: 70,000 one-tensor shards and their index (more files
                                than Linux's default vm.max_map_count of 65,530 lets us map)
tiny (needs numpy):
  OUT/tiny-<n>/                 n models of two 64×64 F32 tensors, a random tree of fine-tunes
"""
import json
import os
import struct
import sys


def write(path, header, data=b""):
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        f.write(data)


def tensors(n):
    entries = ",".join('"t%07d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}' % i for i in range(n))
    return ("{" + entries + "}").encode()


def headers(out):
    for n in (10_000, 100_000, 1_000_000, 1_600_000):
        write(os.path.join(out, "tensors-%d.safetensors" % n), tensors(n))
    zeros = (99_000_000 - 64) // 2
    write(os.path.join(out, "shape-zeros.safetensors"),
          ('{"a":{"dtype":"F32","shape":[' + ",".join(["0"] * zeros) + '],"data_offsets":[0,0]}}').encode())
    write(os.path.join(out, "over-cap.safetensors"), b"{" + b" " * 99_999_999 + b"}")


def shards(out, n=70_000):
    folder = os.path.join(out, "shards70k")
    os.makedirs(folder, exist_ok=True)
    weight_map = {}
    for i in range(n):
        name = "s%06d.safetensors" % i
        header = json.dumps({"t%06d" % i: {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
        write(os.path.join(folder, name), header, b"\0\0\0\0")
        weight_map["t%06d" % i] = name
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": weight_map}, f)


def tiny(out):
    import numpy as np
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
    import st
    for n in (1024, 4096):
        folder = os.path.join(out, "tiny-%d" % n)
        os.makedirs(folder, exist_ok=True)
        rng = np.random.default_rng(1)
        models = [rng.laplace(0, 0.05, (2, 64, 64)).astype(np.float32)]
        for i in range(1, n):
            parent = models[int(rng.integers(0, i))]
            models.append((parent + rng.normal(0, 0.01, parent.shape)).astype(np.float32))
        for i, m in enumerate(models):
            st.write(os.path.join(folder, "m%05d.safetensors" % i), {"a": m[0], "b": m[1]})


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for what in sys.argv[2:] or ["headers", "shards", "tiny"]:
        {"headers": headers, "shards": shards, "tiny": tiny}[what](out)
