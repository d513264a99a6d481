"""The streaming pass's speed on GGUF Q8_0 and Q4_K input next to BF16 safetensors (issue 11):
the same family of Llama-shaped models written three ways, each recovered by modeltree-cli with
the same options, interleaved run by run so that the three share the machine's conditions. The
ratio of their times is the figure (the machine is shared: absolute times are not).

    python bench/formats_speed.py --cli .build-dist/release/modeltree-cli [--write]

Needs numpy and gguf-py (examples/typed/requirements.txt); the K-quants are made by
examples/typed/kquants.py (ggml's reference quantizer in numpy). Files go to
~/.cache/modeltree-bench/formats (or $MODELTREE_BENCH_CACHE/formats). --write puts the table into
BENCHMARKS.md between the formats markers.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as QT  # noqa: E402
from gguf import quants as gq  # noqa: E402

from typed import kquants  # noqa: E402
from typed.gguf_export import gguf_name, permute  # noqa: E402

HIDDEN, LAYERS, MLP, HEADS, MODELS = 1024, 4, 3072, 16, 8


def family(seed: int = 11) -> list[dict[str, np.ndarray]]:
    """A root with Laplace weights and children perturbed by 10 % of the spread (as bench/gen_family.py)."""
    rng = np.random.default_rng(seed)
    shapes = {}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        for m in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes[p + f"self_attn.{m}.weight"] = (HIDDEN, HIDDEN)
        shapes[p + "mlp.gate_proj.weight"] = (MLP, HIDDEN)
        shapes[p + "mlp.up_proj.weight"] = (MLP, HIDDEN)
        shapes[p + "mlp.down_proj.weight"] = (HIDDEN, MLP)
    root = {n: rng.laplace(0, 0.02, s).astype(np.float32) for n, s in shapes.items()}
    models = [root]
    for k in range(1, MODELS):
        parent = models[(k - 1) // 2]
        models.append({n: (w + rng.normal(0, 0.002, w.shape)).astype(np.float32) for n, w in parent.items()})
    return models


def bf16_bits(a: np.ndarray) -> np.ndarray:
    bits = a.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)   # round to nearest even


def write_bf16(path: str, tensors: dict[str, np.ndarray]) -> None:
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        b = bf16_bits(tensors[name]).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for c in chunks:
            f.write(c)


def write_gguf(path: str, tensors: dict[str, np.ndarray], qtype: str) -> None:
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(LAYERS)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(MLP)
    w.add_head_count(HEADS)
    w.add_head_count_kv(HEADS)
    for name, a in tensors.items():
        if name.endswith("q_proj.weight") or name.endswith("k_proj.weight"):
            a = permute(a, HEADS, HEADS)
        if qtype == "Q4_K":
            w.add_tensor(gguf_name(name, LAYERS), kquants.quantize(a, "Q4_K"), raw_dtype=QT.Q4_K)
        else:
            w.add_tensor(gguf_name(name, LAYERS), gq.quantize(a, QT.Q8_0), raw_dtype=QT.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make(cache: str) -> dict[str, str]:
    folders = {kind: os.path.join(cache, kind) for kind in ("BF16", "Q8_0", "Q4_K")}
    done = os.path.join(cache, "done")
    if os.path.exists(done):
        return folders
    for f in folders.values():
        os.makedirs(f, exist_ok=True)
    for k, m in enumerate(family()):
        write_bf16(os.path.join(folders["BF16"], f"m{k}.safetensors"), m)
        for q in ("Q8_0", "Q4_K"):
            write_gguf(os.path.join(folders[q], f"m{k}.gguf"), m, q)
    open(done, "w").close()
    return folders


def run(cli: str, folder: str) -> tuple[float, float, dict]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([cli, "recover", folder, "--quiet", "--format", "json", "--metric", "rms", "--include", "*"],
                         check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    cache = os.path.join(os.environ.get("MODELTREE_BENCH_CACHE", os.path.expanduser("~/.cache/modeltree-bench")), "formats")
    folders = make(cache)
    times = {k: ([], []) for k in folders}
    parents = {}
    load = os.getloadavg()[0]
    for _ in range(args.repeats):
        for kind, folder in folders.items():
            wall, cpu, doc = run(args.cli, folder)
            times[kind][0].append(wall)
            times[kind][1].append(cpu)
            parents[kind] = {e["child"].split(".")[0]: e["parent"].split(".")[0] for e in doc["edges"]}
    elements = MODELS * LAYERS * (4 * HIDDEN * HIDDEN + 3 * HIDDEN * MLP)
    size = {k: sum(os.path.getsize(os.path.join(f, n)) for n in os.listdir(f)) for k, f in folders.items()}
    base_wall, base_cpu = statistics.median(times["BF16"][0]), statistics.median(times["BF16"][1])
    rows = ["| input | files | median wall | median CPU | CPU ÷ BF16's | edges as BF16's |", "|---|---|---|---|---|---|"]
    for kind in folders:
        wall, cpu = statistics.median(times[kind][0]), statistics.median(times[kind][1])
        rows.append(f"| {kind} | {size[kind] / 2**20:.1f} MiB | {wall:.2f} s | {cpu:.2f} s | {cpu / base_cpu:.2f} | "
                    + ("yes" if parents[kind] == parents["BF16"] else "no") + " |")
    text = "\n".join([
        f"{MODELS} Llama-shaped models × {elements // MODELS / 1e6:.1f}M parameters ({LAYERS} layers, hidden {HIDDEN}, "
        f"MLP {MLP}, q/k rows permuted in the GGUF files as convert_hf_to_gguf.py does), every 2-D tensor compared "
        f"(`--include '*' --metric rms`), {args.repeats} runs of each interleaved; load average {load:.1f} before "
        "(the machine is shared: compare the ratios, not the times).", "", *rows, "",
        f"Command: `python bench/formats_speed.py --cli {os.path.relpath(args.cli, ROOT)}` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})."])
    print(text)
    if args.write:
        path = os.path.join(ROOT, "BENCHMARKS.md")
        doc = open(path).read()
        begin, end = "<!-- formats:begin -->", "<!-- formats:end -->"
        if begin not in doc:
            doc += f"\n## The pass on GGUF input\n\n{begin}\n{end}\n"
        doc = doc[: doc.index(begin)] + begin + "\n" + text + "\n" + end + doc[doc.index(end) + len(end):]
        open(path, "w").write(doc)


if __name__ == "__main__":
    main()
