"""Writes the fuzzers' seed corpora (Tests/fuzz/corpus/<target>/): small valid and near-valid
inputs, one per file, named by what they show (for the abi target: programs of ABI calls). Deterministic; rerun after editing, commit the files.

    python3 Tests/fuzz/make_seeds.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
         "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def st(header, data=b"", declared=None):
    """A file image from a header (dict → compact JSON, or str/bytes verbatim) and a data section."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    if isinstance(header, str):
        header = header.encode("utf-8")
    n = len(header) if declared is None else declared
    return struct.pack("<Q", n) + header + data


def tensors(*specs, metadata=None):
    """specs: (name, dtype, shape) laid out back to back; data bytes are a counting pattern."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in specs:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    return header, bytes(i % 251 for i in range(offset))


def safetensors_seeds():
    h, d = tensors(("w", "F32", [2, 2]))
    yield "valid_f32_2x2", st(h, d)
    h, d = tensors(*[(f"t.{k}", k, [3]) for k in SIZES], metadata={"format": "pt"})
    yield "valid_every_dtype_metadata", st(h, d)
    h, d = tensors(("a", "F16", [0, 4]), ("b", "BF16", []), ("c", "F64", [1, 1, 2]))
    yield "valid_empty_and_scalar", st(h, d)
    yield "valid_no_tensors", st("{}")
    h, d = tensors(("w", "F32", [2]))
    yield "valid_padded_header", st(json.dumps(h, separators=(",", ":")) + "        ", d)
    yield "valid_unicode_escaped_names", st(
        '{"\\u00e9\\ud83d\\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        '"caf\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x01\x02")
    h, d = tensors(("layers.0.attn.q", "BF16", [4, 4]), ("layers.0.attn.k", "BF16", [4, 4]),
                   ("layers.0.mlp", "F16", [4, 8]), metadata={"a": "b", "c": ""})
    yield "valid_small_model", st(h, d)
    # Near-valid: each breaks one rule.
    yield "short_file", b"\x02\x00\x00"
    yield "header_past_end", st('{"a":1}', declared=4096)
    yield "header_over_cap", st("{}", declared=100_000_001)
    yield "not_an_object", st("[]")
    yield "gap", st('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x00")
    yield "overlap", st('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                        '"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x00")
    yield "trailing_bytes", st('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00\x00")
    yield "reversed_offsets", st('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', b"\x00")
    yield "wrong_byte_count", st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', b"\x00" * 4)
    yield "overflowing_shape", st('{"a":{"dtype":"F64","shape":[9007199254740992,9007199254740992],"data_offsets":[0,0]}}')
    yield "negative_and_fraction", st('{"a":{"dtype":"F32","shape":[-1,1.5e0],"data_offsets":[0,0]}}')
    yield "unknown_dtype", st('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', b"\x00" * 16)
    yield "duplicate_name", st('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                               '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x00")
    yield "metadata_not_strings", st('{"__metadata__":{"k":[1,{"x":null}]}}')
    yield "bad_utf8", st(b'{"\xc3\x28":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00")
    yield "deep_nesting", st("{" + '"a":' + "[" * 20 + "]" * 20 + "}")


def index_seeds():
    yield "valid_index", json.dumps({
        "metadata": {"total_size": 4096, "format": "pt"},
        "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                       "b.weight": "model-00002-of-00002.safetensors"}}, indent=2).encode()
    yield "valid_escapes_numbers", (
        b'{"metadata":{"n":-0.5e-3,"m":[true,false,null,1E+2,0],"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\ud834\\udd1e"},'
        b'"weight_map":{"\xc3\xa9":"x.safetensors"}}')
    yield "shard_leaves_folder", b'{"weight_map":{"a":"../b.safetensors","b":"/etc/x","c":"."}}'
    yield "empty_map", b'{"weight_map":{}}'
    yield "not_string", b'{"weight_map":{"a":1}}'
    yield "duplicate_key", b'{"weight_map":{"a":"x","a":"y"}}'
    yield "deep", b"[" * 70 + b"]" * 70
    yield "truncated", b'{"weight_map":{"a":"x.safet'
    yield "surrogates", b'["\\ud800", "\\udc00x", "\\ud800\\u0041"]'
    yield "trailing", b'{"weight_map":{"a":"x"}} x'


# The ABI target (Tests/fuzz/abi_fuzz.c) reads a program of operations; these helpers spell them.
F32, F64, F16, BF16 = 0, 1, 2, 3                  # dtype bytes (1 + b & 3); 0xf0.. are invalid values
CHAIN, LORA, RAW, CONST, SPECIALS, RANDOM, ZEROS = 0, 1, 2, 3, 4, 5, 6   # data modes


def batch(name, dtype, rows, cols, models, mode=CHAIN, param=2):
    """Tensor name slot `name`, shape [rows, cols], added to model slots 0..models-1."""
    return bytes([0x80, name, dtype, rows, cols, models - 1, mode, param])


def add(model, name, dtype, dims, size=0, mode=CHAIN, param=2, ndim=None):
    """One add_tensor: dims are dimension bytes (< 0xc0: the value & 63; 0xc0..0xfe: a special
    value; 0xff then 8 bytes: that value); size 0 is the right data_size."""
    nd = len(dims) if ndim is None else ndim
    return bytes([0x00, model, name, dtype, nd]) + bytes(dims) + bytes([size, mode, param])


def recover(flags=0, opts=True, size=0, metric=0, direction=0, lam=0, trees=0, include=(), exclude=(),
            progress=None, threads=0):
    """flags: 1 out NULL, 2 collection NULL, 4 opts NULL, 8 progress, 0x10 keep and renew, 0x20 keep.
    threads (the options' threads field): 0 unset, 1 one, 2 three, 3 + k the k-th of 8, 64, 65, 0,
    UINT32_MAX, 2, 1, 1000.
    include/exclude: pattern slots (0 '*', 1 'w1', 2 'w[0-3]', 3 '*1*', 4 '?', 5 '[', 6 '[!w]*',
    7 '\\*'). progress: (cancel at call k or 0, flags: 0-3 return value, 4 fail inside, 8 nested)."""
    if progress is not None:
        flags |= 8
    flags |= min(threads, 3) << 6
    head = bytes([0x90, flags]) + (bytes([threads - 3]) if threads >= 3 else b"")
    if not opts:
        return bytes([0x90, flags | 4]) + head[2:]
    out = head + bytes([size, metric, direction, lam, trees])
    out += bytes([len(include)]) + bytes(include) + bytes([len(exclude)]) + bytes(exclude)
    if progress is not None:
        out += bytes(progress)
    return out


def set_slot(op, slot, value):
    return bytes([op, slot, len(value)]) + value


def set_id(slot, value):
    return set_slot(0xa0, slot, value)


def set_name(slot, value):
    return set_slot(0xa8, slot, value)


def abi_seeds():
    family = batch(0, F32, 8, 8, 4) + batch(1, F32, 8, 8, 4, param=3)
    yield "chain_f32_4_models", family + recover()
    yield "chain_defaults_null_opts", family + recover(opts=False)
    yield "lora_16x16_auto", batch(0, F32, 16, 16, 4, LORA, 1) + batch(1, F32, 16, 16, 4, LORA, 1) + recover()
    yield "lora_rank_metric", batch(0, F32, 16, 16, 3, LORA, 1) + recover(metric=3)
    yield "two_families_8_models", batch(0, F32, 8, 8, 8, CHAIN, 0x12) + batch(2, F32, 8, 8, 8, CHAIN, 0x12) + recover()
    yield "two_trees_forced", batch(0, F32, 8, 8, 6, CHAIN, 0x12) + recover(trees=0x82, direction=2)
    yield "every_dtype", (batch(0, F64, 8, 8, 3) + batch(1, F16, 8, 8, 3) + batch(2, BF16, 8, 8, 3)
                          + batch(3, F32, 4, 8, 3) + recover(metric=2, direction=1))
    yield "rectangular_only", batch(0, F32, 4, 12, 3) + batch(1, F16, 12, 4, 3) + recover()
    yield "include_exclude", (batch(0, F32, 8, 8, 3) + batch(1, F32, 8, 8, 3) + batch(5, F32, 8, 0, 3)
                              + recover(include=(0, 2), exclude=(3,)))
    yield "progress_cancel_3", family + recover(progress=(3, 0))
    yield "progress_nested_fail_inside", family + recover(progress=(0, 0x0c))
    yield "keep_renew_thread", family + recover(flags=0x20) + bytes([0xc0, 0xd0, 0]) + family + recover(flags=0x10)
    yield "concurrent_recoveries", family + bytes([0xd0, 1]) + recover(flags=0x20) + bytes([0xd0, 1])
    yield "thread_counts", (batch(0, F32, 16, 16, 4) + recover(threads=1) + recover(threads=2)
                            + recover(threads=3) + recover(threads=3 + 5))
    yield "specials_and_constant", (batch(0, F32, 8, 8, 3, SPECIALS, 1) + batch(1, F32, 8, 8, 3, CONST, 0)
                                    + batch(2, F32, 8, 8, 3) + recover())
    yield "all_equal_models", batch(0, F32, 8, 8, 3, CONST, 8) + batch(1, F16, 8, 8, 3, ZEROS) + recover()
    yield "identical_models", batch(0, BF16, 8, 8, 3, CHAIN, 15) + recover()
    yield "unrelated_models", batch(0, F32, 8, 8, 3, RANDOM) + batch(1, F32, 8, 8, 3, RANDOM) + recover()
    yield "raw_bytes", (add(0, 0, F32, [2, 2], mode=RAW) + b"\x00\x00\x80\x3f" * 4
                        + add(1, 0, F32, [2, 2], mode=RAW) + bytes(range(16)) + recover())
    yield "single_model", batch(0, F32, 8, 8, 1) + recover()
    yield "no_shared_tensor", add(0, 0, F32, [4, 4]) + add(1, 1, F32, [4, 4]) + recover()
    yield "empty_collection", recover() + recover(flags=1) + recover(flags=2)
    yield "bad_options", (family + recover(size=0xf0) + recover(size=0xf1) + recover(metric=0xf0)
                          + recover(direction=0xf1) + recover(lam=0xc1))
    yield "bad_options_2", (family + recover(lam=0xff)[:6] + b"\x00" * 6 + b"\xf8\x7f" + bytes([0, 0, 0])
                            + recover(trees=0xf0) + recover(size=0xf3))
    yield "bad_patterns", family + recover(include=(5,)) + bytes([0x90, 0, 0, 0, 0, 0, 0, 0x06, 1, 0x12])
    yield "bad_tensors", (add(0, 0, 0xf4, [2, 2]) + add(0x80, 0, F32, [2, 2]) + add(0, 0x80, F32, [2, 2])
                          + add(0x40, 0, F32, [2, 2]) + add(0, 0, F32, [2, 2], size=0xc0) + add(0, 0, F32, [2, 2], size=0xc1)
                          + add(0, 0, F32, [2, 2], size=0xc3) + add(0, 0, F32, [2, 2], mode=0x80)
                          + add(0, 0, F32, [0xc0, 2]) + add(0, 0, F32, [0xc2, 0xc2])
                          + add(0, 0, F32, [0xff] + [0xff] * 8 + [1])
                          + add(0, 0, F32, [], ndim=0x80 | 2) + add(0, 0, F32, [1] * 65) + add(0, 0, F32, [0] * 70)
                          + add(0, 0, F32, [1] * 72, ndim=0x7b) + add(0, 0, F32, [2, 2]) + add(0, 0, F32, [2, 2]))
    yield "zero_sized_shapes", (add(0, 0, F32, [0, 0xc4, 4]) + add(0, 2, F32, []) + add(0, 3, BF16, [0, 0xc2])
                                + add(0, 4, F32, [0], mode=0x80))
    yield "odd_strings", (set_id(1, b"\xc3\x28") + set_id(2, b"") + set_id(3, b"a\x00b") + set_name(1, b"\xed\xa0\x80")
                          + set_name(2, b"") + set_name(3, b"x\ny") + add(1, 0, F32, [2, 2]) + add(2, 0, F32, [2, 2])
                          + add(3, 0, F32, [2, 2]) + add(0, 1, F32, [2, 2]) + add(0, 2, F32, [2, 2]) + add(0, 3, F32, [2, 2]))
    yield "unicode_equivalent_ids", (set_id(0, "\u00e9".encode()) + set_id(1, "e\u0301".encode())
                                     + set_id(2, "\u212a".encode()) + set_id(3, b"K") + set_name(0, "\u00e9.w".encode())
                                     + set_name(1, "e\u0301.w".encode()) + batch(0, F32, 4, 4, 4) + batch(1, F32, 4, 4, 4)
                                     + recover())
    yield "add_path_null", bytes([0xc8, 0, 0xc8, 1, 0xc8, 2, 0xc8, 5, 0xc8, 8])
    yield "add_after_recover", (family + recover() + batch(2, F32, 8, 8, 4) + add(7, 0, F32, [8, 8])
                                + recover(progress=(0, 0)))


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("safetensors", safetensors_seeds())
    write("index", index_seeds())
    write("abi", abi_seeds())
