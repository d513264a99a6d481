"""Tiny safetensors reader/writer on numpy (no dependency on the `safetensors` package).

Format: 8-byte little-endian header length N, N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, optional "__metadata__": {str: str}},
then the data section; offsets are relative to the start of the data section.

    read(path)         -> dict[name, np.ndarray]   (F64/F32/F16/BF16 and integer/bool types)
    read_metadata(path)-> dict[str, str]
    write(path, tensors, metadata=None)
    load_model(path)   -> dict[name, np.ndarray]   (a .safetensors file, a folder with
                          model.safetensors, or a folder with a sharded index)
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

# safetensors dtype -> numpy dtype (little-endian). BF16 is handled separately.
_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _read_header(f):
    raw = f.read(8)
    if len(raw) != 8:
        raise ValueError("file too short for a safetensors header")
    (n,) = struct.unpack("<Q", raw)
    if n > 100 * 1024 * 1024:
        raise ValueError(f"safetensors header too large: {n} bytes")
    header = json.loads(f.read(n).decode("utf-8"))
    return n, header


def read_metadata(path):
    with open(path, "rb") as f:
        _, header = _read_header(f)
    return dict(header.get("__metadata__") or {})


def read(path):
    """Read every tensor of one .safetensors file. BF16 is widened to float32."""
    with open(path, "rb") as f:
        n, header = _read_header(f)
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape = info["dtype"], tuple(int(s) for s in info["shape"])
        b, e = (int(x) for x in info["data_offsets"])
        if not (0 <= b <= e <= len(data)):
            raise ValueError(f"{name}: data_offsets {b},{e} outside data section of {len(data)} bytes")
        buf = data[b:e]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if dtype == "BF16":
            if len(buf) != 2 * count:
                raise ValueError(f"{name}: {len(buf)} bytes for {count} BF16 values")
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif dtype in _DTYPES:
            dt = _DTYPES[dtype]
            if len(buf) != dt.itemsize * count:
                raise ValueError(f"{name}: {len(buf)} bytes for {count} {dtype} values")
            arr = np.frombuffer(buf, dtype=dt).copy()
        else:
            raise ValueError(f"{name}: unsupported dtype {dtype}")
        out[name] = arr.reshape(shape)
    return out


def write(path, tensors, metadata=None):
    """Write tensors (name -> np.ndarray) in sorted-name order; header padded with spaces to 8."""
    header, chunks, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        key = np.dtype(dt.str.replace(">", "<").replace("=", "<"))
        if key not in _NAMES:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        b = a.astype(key, copy=False).tobytes()
        header[name] = {"dtype": _NAMES[key], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for c in chunks:
            f.write(c)


def load_model(path):
    """Load a model: a .safetensors file, a folder with model.safetensors, or a sharded folder
    (model.safetensors.index.json with a weight_map)."""
    if os.path.isfile(path):
        return read(path)
    index = os.path.join(path, "model.safetensors.index.json")
    single = os.path.join(path, "model.safetensors")
    if os.path.isfile(single):
        return read(single)
    if os.path.isfile(index):
        with open(index) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(wm.values())):
            part = read(os.path.join(path, shard))
            for name, arr in part.items():
                if wm.get(name) == shard:
                    out[name] = arr
        missing = set(wm) - set(out)
        if missing:
            raise ValueError(f"{path}: tensors in weight_map but not in shards: {sorted(missing)[:5]}")
        return out
    shards = sorted(p for p in os.listdir(path) if p.endswith(".safetensors"))
    if not shards:
        raise FileNotFoundError(f"{path}: no safetensors files")
    out = {}
    for s in shards:
        out.update(read(os.path.join(path, s)))
    return out


def write_sharded(folder, tensors, n_shards=2, metadata=None):
    """Split tensors (sorted by name) over n_shards files named like Hugging Face does."""
    names = sorted(tensors)
    total = sum(np.asarray(tensors[n]).nbytes for n in names)
    target, groups, cur, acc = total / n_shards, [], [], 0
    for n in names:
        cur.append(n)
        acc += np.asarray(tensors[n]).nbytes
        if acc >= target * (len(groups) + 1) and len(groups) < n_shards - 1:
            groups.append(cur)
            cur = []
    groups.append(cur)
    while len(groups) < n_shards:
        groups.append([])
    weight_map = {}
    for i, g in enumerate(groups, 1):
        fname = f"model-{i:05d}-of-{n_shards:05d}.safetensors"
        write(os.path.join(folder, fname), {n: tensors[n] for n in g}, metadata={"format": "pt"})
        for n in g:
            weight_map[n] = fname
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": dict(metadata or {}, total_size=total), "weight_map": weight_map}, f, indent=2)
