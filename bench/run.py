#!/usr/bin/env python3
"""Runs the benchmark: generates (or reuses) the synthetic families, then on the same files runs
the bandwidth probe, modeltree-cli and the Python baseline, and prints the table (and, with
--write, puts it into BENCHMARKS.md between the bench markers).

    python bench/run.py [--only SUBSTRING ...] [--no-baseline] [--write]

Timings are wall clock of whole processes under /usr/bin/time -v, files warm in the page cache
(each family is read once before anything is timed); peak memory is the maximum resident set size.
modeltree-cli and the probe take the best of --repeat runs, the baseline runs once.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (kind, models, params per model, dtype); the LoRA family has 8 square 768x768 layers.
FAMILIES = [
    ("full", 8, "1M", "BF16"), ("full", 8, "1M", "F32"),
    ("full", 32, "1M", "BF16"), ("full", 32, "1M", "F32"),
    ("full", 128, "1M", "BF16"),
    ("full", 8, "25M", "BF16"), ("full", 8, "25M", "F32"),
    ("full", 32, "25M", "BF16"),
    ("full", 128, "25M", "BF16"),
    ("lora", 64, "4.7M", "BF16"),
]
# The baseline holds every model in float32: above this it is not run (n = 128 x 25M needs 12.8 GB).
BASELINE_MAX_BYTES = 4 * 10**9


def family_dir(cache, kind, n, params, dtype):
    return os.path.join(cache, f"{kind}-n{n}-{params}-{dtype}")


def generate(cache, kind, n, params, dtype):
    out = family_dir(cache, kind, n, params, dtype)
    cmd = [sys.executable, os.path.join(HERE, "gen_family.py"), out, "--models", str(n), "--dtype", dtype, "--kind", kind]
    if kind == "full":
        cmd += ["--params", params]
    subprocess.run(cmd, check=True)
    return out


def timed(cmd, stdout_path):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS bytes)."""
    with open(stdout_path, "w") as out:
        p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=out, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
    parts = [float(x) for x in wall.split(":")]
    seconds = sum(v * 60 ** (len(parts) - 1 - i) for i, v in enumerate(parts))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    return seconds, rss


def weight_bytes(folder):
    """Bytes and elements of the tensors a recovery compares (the square 2-D ones), all models."""
    total_bytes, elements, models = 0, 0, 0
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".safetensors"):
            continue
        models += 1
        with open(os.path.join(folder, f), "rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for k, v in header.items():
            if k != "__metadata__" and len(v["shape"]) == 2 and v["shape"][0] == v["shape"][1]:
                total_bytes += v["data_offsets"][1] - v["data_offsets"][0]
                elements += v["shape"][0] * v["shape"][1]
    return total_bytes, elements // max(1, models)


def files(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".safetensors"))


def gib(b):
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.0f} MiB"


def secs(s):
    return f"{s:.2f} s" if s < 100 else f"{s:.0f} s"


def machine():
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    return (f"{model}, {os.cpu_count()} vCPUs, {int(mem) / 2**20:.0f} GiB RAM, Linux {platform.release()}, "
            f"{swift[0] if swift else 'swift ?'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.environ.get("MODELTREE_BENCH_CACHE", os.path.expanduser("~/.cache/modeltree-bench")))
    ap.add_argument("--cli", default=os.path.join(ROOT, ".build-dist", "release", "modeltree-cli"))
    ap.add_argument("--probe", default=os.path.join(ROOT, ".build", "bench-probe"))
    ap.add_argument("--only", action="append", default=[], help="run the families whose name contains this")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    work = os.path.join(args.cache, "runs")
    os.makedirs(work, exist_ok=True)

    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    header = ("| family | models × params | weights read | probe | modeltree-cli | peak memory | of probe speed "
              "| pairs × elements / s | Python baseline | baseline peak | speed-up | same edges | accuracy |")
    rule = "|" + "|".join(["---"] * (header.count("|") - 1)) + "|"
    print(header)
    print(rule)
    for kind, n, params, dtype in FAMILIES:
        name = f"{kind}-n{n}-{params}-{dtype}"
        if args.only and not any(o in name for o in args.only):
            continue
        folder = generate(args.cache, kind, n, params, dtype)
        fs = files(folder)
        wbytes, elements = weight_bytes(folder)
        subprocess.run([args.probe] + fs, capture_output=True, check=True)     # warm the page cache
        probe = min((json.loads(subprocess.run([args.probe] + fs, capture_output=True, text=True, check=True).stdout)
                     for _ in range(max(1, args.repeat))), key=lambda r: r["seconds"])
        probe_rate = probe["bytes"] / probe["seconds"]

        cli_out = os.path.join(work, name + ".cli.json")
        cli = min((timed([args.cli, "recover", folder, "--format", "json", "--quiet", "--truth",
                          os.path.join(folder, "truth.json")], cli_out) for _ in range(max(1, args.repeat))))
        result = json.load(open(cli_out))
        cli_edges = sorted([e["parent"], e["child"]] for e in result["edges"])
        accuracy = f"{result['score']['correct']}/{result['score']['total']}"
        rate = wbytes / cli[0]
        pair_rate = n * (n - 1) / 2 * elements / cli[0]

        base_cell, base_mem, ratio, same = "not run", "", "", ""
        if kind == "lora":
            if not args.no_baseline:
                base_out = os.path.join(work, name + ".base.json")
                t, mem = timed([sys.executable, os.path.join(HERE, "baseline.py"), folder, "--rank-check", cli_out,
                                "--every", "4"], base_out)
                check = json.load(open(base_out))
                est = check["estimated_all_pairs_seconds"]
                base_cell = f"{secs(est)} (est.: {check['pairs_checked']} pairs by SVD in {secs(check['seconds'])})"
                base_mem = gib(mem)
                ratio = f"{est / cli[0]:.0f}× (est.)"
                same = f"ranks {check['agree']}/{check['pairs_checked']} edges = exact"
            accuracy += f", metric {result['metric']}"
        elif args.no_baseline:
            pass
        elif n * elements * 4 * 1.1 > BASELINE_MAX_BYTES:
            base_cell = f"not run (needs {gib(n * elements * 4)} resident)"
        else:
            base_out = os.path.join(work, name + ".base.json")
            t, mem = timed([sys.executable, os.path.join(HERE, "baseline.py"), folder], base_out)
            base_edges = json.load(open(base_out))["edges"]
            base_cell, base_mem = secs(t), gib(mem)
            ratio = f"{t / cli[0]:.1f}×"
            same = "yes" if base_edges == cli_edges else f"no ({len(set(map(tuple, base_edges)) ^ set(map(tuple, cli_edges)))} differ)"
        row = (f"| {name} | {n} × {elements / 1e6:.1f}M | {gib(wbytes)} | {secs(probe['seconds'])} ({probe_rate / 1e9:.1f} GB/s) "
               f"| {secs(cli[0])} | {gib(cli[1])} | {rate / probe_rate:.2f} | {pair_rate / 1e9:.1f} G "
               f"| {base_cell} | {base_mem} | {ratio} | {same} | {accuracy} |")
        print(row, flush=True)
        rows.append(row)

    load_after = os.getloadavg()
    footer = [
        "",
        f"Machine: {machine()}.",
        f"Run {started:%Y-%m-%d %H:%M} UTC; load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        "(the machine is shared: above 2 the other jobs were competing for its 2 cores).",
        "",
        "Command: `make bench` (all families) — or `python3 bench/run.py --only n32-25M` for some.",
    ]
    print("\n".join(footer))
    if args.write:
        path = os.path.join(ROOT, "BENCHMARKS.md")
        text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n"
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        table = "\n".join([begin, header, rule] + rows + footer + [end])
        text = text[: text.index(begin)] + table + text[text.index(end) + len(end):]
        open(path, "w").write(text)


if __name__ == "__main__":
    main()
