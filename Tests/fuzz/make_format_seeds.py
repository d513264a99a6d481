"""Writes the seed corpora of the format fuzzers (Tests/fuzz/corpus/{gguf,pickle,protobuf}/):
the small committed fixtures of Tests/fixtures/formats (real gguf-py, torch.save and onnx files)
and hand-made near-valid inputs, one per file, named by what they show. Deterministic; needs only
the Python standard library. Rerun after editing, commit the files.

    python3 Tests/fuzz/make_format_seeds.py

The pickle target reads a mode byte first: 0 (even) then a whole archive, 1 (odd) then a data.pkl
run against storages "0" (64 bytes), "1" (7), "2" (0) and "3" (256) — see PickleFuzz.swift.
"""
import os
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "formats")
MAX_LEN = 16384


def fixture(*path):
    with open(os.path.join(FIXTURES, *path), "rb") as f:
        return f.read()


# GGUF, spelled from ggml's docs/gguf.md.
def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def gguf(kvs, tensors=(), version=3, alignment=32, data=b""):
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    for name, ne, gtype, offset in tensors:
        out += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", gtype, offset)
    out += b"\0" * (-len(out) % alignment)
    return out + data


def gguf_seeds():
    for name in ["metadata.gguf", "metadata.v2.gguf", "llama_qk.gguf", "quants.gguf"]:
        yield "fixture_" + name.replace(".", "_"), fixture("gguf", name)
    arch = kv("general.architecture", 8, s("llama"))
    heads = kv("llama.attention.head_count", 4, struct.pack("<I", 2))
    q8 = bytes([0, 0x3c]) + bytes(range(32))                               # d = 1.0
    yield "llama_q8_0_permuted", gguf([arch, heads], [("blk.0.attn_q.weight", [32, 4], 8, 0)], data=q8 * 4)
    yield "every_value_type", gguf([kv("u8", 0, b"\x01"), kv("i8", 1, b"\xff"), kv("u16", 2, b"\x01\x00"),
                                    kv("i16", 3, b"\xff\xff"), kv("u32", 4, b"\x01\0\0\0"), kv("i32", 5, b"\xff" * 4),
                                    kv("f32", 6, struct.pack("<f", 1.5)), kv("bool", 7, b"\x01"), kv("str", 8, s("é")),
                                    kv("u64", 10, b"\x01" + b"\0" * 7), kv("i64", 11, b"\xff" * 8), kv("f64", 12, struct.pack("<d", -2.5))])
    yield "arrays", gguf([kv("empty", 9, struct.pack("<IQ", 4, 0)),
                          kv("strings", 9, struct.pack("<IQ", 8, 2) + s("a") + s("bc")),
                          kv("nested", 9, struct.pack("<IQ", 9, 2) + struct.pack("<IQ", 0, 1) + b"\x07" + struct.pack("<IQ", 0, 0))])
    yield "alignment_64_two_tensors", gguf([kv("general.alignment", 4, struct.pack("<I", 64))],
                                           [("a", [4], 0, 0), ("b", [2, 2], 1, 64)], alignment=64, data=b"\x00" * 72)
    yield "k_quant_block", gguf([], [("k", [256], 12, 0)], data=bytes(144))
    yield "unsupported_iq", gguf([], [("iq", [256], 16, 0)], data=bytes(66))
    yield "zero_dimension", gguf([], [("z", [0, 3], 0, 0)])
    yield "huge_counts", b"GGUF" + struct.pack("<IQQ", 3, 1 << 62, 1 << 62)
    yield "version_1", b"GGUF" + struct.pack("<IQQ", 1, 0, 0)
    yield "big_endian", b"GGUF" + struct.pack(">IQQ", 3, 0, 0)


# torch.save archives and data.pkl programs.
def pkl_str(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def rebuild(name, storage_type, key, numel, offset, size, stride):
    def ints(v):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in v) + b"t"
    return (pkl_str(name) + b"ctorch._utils\n_rebuild_tensor_v2\n(" + b"(" + pkl_str("storage")
            + f"ctorch\n{storage_type}\n".encode() + pkl_str(key) + pkl_str("cpu") + b"J" + struct.pack("<i", numel)
            + b"tQ" + b"J" + struct.pack("<i", offset) + ints(size) + ints(stride)
            + b"\x89ccollections\nOrderedDict\n)RtR")


def state_dict(*entries):
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + b"".join(entries) + b"u."


def pickle_seeds():
    for name in ["state.bin", "checkpoint.pt", "deflated.bin", "legacy.bin"]:
        yield "archive_" + name.replace(".", "_"), b"\x00" + fixture("torch", name)
    with zipfile.ZipFile(os.path.join(FIXTURES, "torch", "state.bin")) as z:
        yield "pickle_of_state_bin", b"\x01" + z.read("state/data.pkl")
    for name in sorted(os.listdir(os.path.join(FIXTURES, "torch", "malicious"))):
        yield "archive_malicious_" + name.replace(".", "_"), b"\x00" + fixture("torch", "malicious", name)
    yield "pickle_views", b"\x01" + state_dict(
        rebuild("w", "FloatStorage", "0", 16, 0, [4, 4], [4, 1]),
        rebuild("w.t", "FloatStorage", "0", 16, 0, [4, 4], [1, 4]),
        rebuild("col", "FloatStorage", "0", 16, 1, [4], [4]),
        rebuild("bytes", "ByteStorage", "1", 7, 2, [5], [1]),
        rebuild("empty", "FloatStorage", "2", 0, 0, [0, 3], [3, 1]),
        rebuild("half", "HalfStorage", "3", 128, 0, [8, 16], [16, 1]),
        rebuild("expand", "HalfStorage", "3", 128, 5, [3, 4], [0, 1]))
    yield "pickle_memo_and_tuples", b"\x01" + b"\x80\x02}q\x00(" + pkl_str("a") + b"K\x01K\x02\x86q\x01" + pkl_str("b") + b"h\x01u."
    yield "pickle_protocol0", b"\x01" + b"(dp0\nS'k'\np1\nI42\nsS'f'\nF1.5\ns."
    yield "pickle_stack_global_frame", b"\x01" + b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93)R."


# ONNX ModelProto, spelled from the protobuf wire format.
def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def field(n, payload):
    return varint(n << 3 | 2) + varint(len(payload)) + payload


def fint(n, v):
    return varint(n << 3) + varint(v & ((1 << 64) - 1))


def protobuf_seeds():
    for name in ["initializers.onnx", "linear.onnx", "linear_qdq_channel.onnx", "linear_qdq_tensor.onnx", "castmul.onnx"]:
        yield "fixture_" + name.replace(".", "_"), fixture("onnx", name)
    tensor = field(1, varint(2) + varint(3)) + fint(2, 3) + field(8, b"w") + field(9, bytes(range(6)))
    scale = field(1, varint(2)) + fint(2, 1) + field(8, b"s") + field(9, struct.pack("<2f", 0.5, 0.25))
    node = field(1, b"w") + field(1, b"s") + field(2, b"W") + field(4, b"DequantizeLinear") + field(5, field(1, b"axis") + fint(3, 0))
    yield "dequantize_per_axis", fint(1, 8) + field(7, field(1, node) + field(5, tensor) + field(5, scale))
    typed = field(1, varint(3)) + fint(2, 3) + field(8, b"i8") + field(5, varint(1) + varint((1 << 64) - 1) + varint(127))
    external = (field(1, varint(4)) + fint(2, 1) + field(8, b"e") + field(13, field(1, b"location") + field(2, b"w.bin"))
                + field(13, field(1, b"offset") + field(2, b"16")) + fint(14, 1))
    yield "typed_and_external", fint(1, 8) + field(7, field(5, typed) + field(5, external))
    yield "nested_messages", field(1, field(1, field(1, field(1, field(1, b"")))))
    yield "every_wire_type", fint(1, 1) + varint(2 << 3 | 1) + bytes(8) + varint(3 << 3 | 5) + bytes(4) + field(4, b"x")


def write(target, seeds):
    """make_seeds.py's writer, after checking that each seed fits libFuzzer's -max_len."""
    sys.path.insert(0, HERE)
    import make_seeds
    seeds = list(seeds)
    for name, data in seeds:
        assert len(data) <= MAX_LEN, (name, len(data))
    make_seeds.write(target, seeds)


if __name__ == "__main__":
    write("gguf", gguf_seeds())
    write("pickle", pickle_seeds())
    write("protobuf", protobuf_seeds())
