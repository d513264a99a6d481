"""Writes the large inputs behind FUZZING.md's "Limits of the format readers" into OUT (not into
git): files at and past each cap of the GGUF, torch.save and ONNX readers, made to cost the most
memory or time per byte a stranger can send. Needs only the Python standard library.

    python3 Tests/fuzz/make_format_limits.py OUT

Then, with the CLI (which reads each file as the library does):
    /usr/bin/time -f "%e s %U user %M KB" modeltree-cli inspect OUT/gguf-tensors-2400000.gguf

gguf-tensors-<n>.gguf   n empty tensor infos (40 bytes each): 1,000,000 is the limit, one more refused
gguf-scalars-<n>.gguf   n uint8 metadata entries (21 bytes each): the same limit
gguf-arrays-<n>.gguf    n one-element arrays (33 bytes each): the first 4 MiB of them (by their cost) kept
gguf-vocab.gguf         one array of 5.5 M strings (18 bytes each) near the cap: walked, not kept
gguf-over-cap.gguf      a 150,000,000-byte string in a 200 MB sparse file: refused at the cap
pickle-lists.bin        a data.pkl that makes 4,000,001 empty lists: refused at the live-value cap
pickle-state-<n>.bin    a state dict of n tensors, views of one storage (≈ 45 bytes of pickle each)
pickle-rebuilds-<n>.bin n unnamed scalar tensors rebuilt and popped (12 bytes each): the cheapest
                        tensors there are, stopped by the values cap
zip-entries-<n>.bin     data.pkl and n empty stored entries (≈ 110 bytes of directory and headers
                        each): the limit is 1,000,000 entries
onnx-initializers-<n>.onnx  n one-float raw initializers (≈ 23 bytes each): the limit is 1,000,000
onnx-typed-cap.onnx     one FLOAT tensor of 16,777,216 values in float_data: the 64 MiB typed cap
onnx-typed-over.onnx    one more value than the typed cap allows: refused from its dims
"""
import os
import struct
import sys


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(path, kvs, tensors, counts=None):
    n_t, n_kv = counts or (tensors, kvs)
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, n_t, n_kv))
        return f


def gguf_files(out):
    for n in (100_000, 1_000_000, 1_000_001):
        with open(os.path.join(out, f"gguf-tensors-{n}.gguf"), "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, n, 0))
            for i in range(n):
                f.write(s("t%07d" % i) + struct.pack("<IQIQ", 1, 0, 0, 0))
            f.write(b"\0" * (-f.tell() % 32))
    for n in (1_000_000, 1_000_001):
        with open(os.path.join(out, f"gguf-scalars-{n}.gguf"), "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, n))
            for i in range(n):
                f.write(s("k%07d" % i) + struct.pack("<IB", 0, 1))
    for n in (1_000_000,):
        with open(os.path.join(out, f"gguf-arrays-{n}.gguf"), "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, n))
            for i in range(n):
                f.write(s("a%07d" % i) + struct.pack("<IIQB", 9, 0, 1, 7))
    n = 5_500_000
    with open(os.path.join(out, "gguf-vocab.gguf"), "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, n))
        for i in range(n):
            f.write(s("tok%07d" % i))
    with open(os.path.join(out, "gguf-over-cap.gguf"), "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("chat_template") + struct.pack("<IQ", 8, 150_000_000))
        f.truncate(200_000_000)


def crc32(data):
    import zlib
    return zlib.crc32(data) & 0xFFFFFFFF


def zip_file(path, entries):
    """A stored zip of (name, bytes) entries, written by hand (no zipfile: it is slow at millions)."""
    with open(path, "wb") as f:
        directory = bytearray()
        for name, data in entries:
            offset, n = f.tell(), name.encode()
            header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc32(data), len(data), len(data), len(n), 0)
            f.write(header + n + data)
            directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc32(data), len(data),
                                     len(data), len(n), 0, 0, 0, 0, 0, offset) + n
        start = f.tell()
        f.write(directory)
        count = len(entries)
        if count > 0xFFFF or start > 0xFFFFFFFF:
            record = f.tell()
            f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(directory), start))
            f.write(struct.pack("<IIQI", 0x07064B50, 0, record, 1))
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), start, 0))


def pickle_files(out):
    lists = b"\x80\x02(" + b"]" * 4_000_001 + b"l."
    zip_file(os.path.join(out, "pickle-lists.bin"), [("archive/data.pkl", lists)])
    storage = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ\x00\x01\x00\x00tQ"
    for n in (100_000, 330_000, 340_000):
        body = bytearray(b"\x80\x02ccollections\nOrderedDict\n)R(")
        body += b"ctorch._utils\n_rebuild_tensor_v2\nq\x000" + storage + b"q\x010"
        for i in range(n):
            name = ("layers.%07d.w" % i).encode()
            body += b"X" + struct.pack("<I", len(name)) + name
            body += b"h\x00(h\x01J" + struct.pack("<i", i % 240) + b"K\x04K\x04\x86K\x04K\x01\x86\x89)tR"
            if i % 1000 == 999:
                body += b"u("
        body += b"u."
        zip_file(os.path.join(out, f"pickle-state-{n}.bin"), [("archive/data.pkl", bytes(body)), ("archive/data/0", b"\0" * 1024)])
    for n in (600_000, 700_000):
        head = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00" + storage + b"q\x010"
        body = head + b"h\x00(h\x01K\x00))\x89NtR0" * n + b"}."
        zip_file(os.path.join(out, f"pickle-rebuilds-{n}.bin"), [("archive/data.pkl", body), ("archive/data/0", b"\0" * 1024)])
    for n in (100_000, 999_999, 1_000_000):         # plus data.pkl: the last is one over the limit
        zip_file(os.path.join(out, f"zip-entries-{n}.bin"), [("archive/data.pkl", b"\x80\x02}."),
                                                             *[("archive/e%07d" % i, b"") for i in range(n)]])


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(n, payload):
    return varint(n << 3 | 2) + varint(len(payload)) + payload


def onnx_files(out):
    for n in (100_000, 1_000_000, 1_000_001):
        graph = bytearray()
        for i in range(n):
            graph += field(5, field(1, varint(1)) + b"\x10\x01" + field(8, b"w%07d" % i) + field(9, b"\0\0\x80\x3f"))
        with open(os.path.join(out, f"onnx-initializers-{n}.onnx"), "wb") as f:
            f.write(b"\x08\x08" + field(7, bytes(graph)))
    cap = 16 << 20
    for name, count in (("onnx-typed-cap.onnx", cap), ("onnx-typed-over.onnx", cap + 1)):
        tensor = field(1, varint(count)) + b"\x10\x01" + field(8, b"big") + field(4, b"\0\0\x80\x3f" * (cap if count == cap else 1))
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"\x08\x08" + field(7, field(5, tensor)))


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    gguf_files(out)
    pickle_files(out)
    onnx_files(out)
