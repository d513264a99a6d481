"""Writes the fuzzers' seed corpora (Tests/fuzz/corpus/<target>/): small valid and near-valid
inputs, one per file, named by what they show. Deterministic; rerun after editing, commit the files.

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


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("safetensors", safetensors_seeds())
    write("index", index_seeds())
