#!/usr/bin/env python3
"""Runs the benchmark: generates (or reuses) the synthetic families, then on the same files runs
the bandwidth probe, modeltree-cli once per kernel set this CPU runs (MODELTREE_KERNEL=sse2, avx2,
avx512 or neon), the modeltree-cli of commit 69c3b17 (--baseline-cli, built by
`make bench`) and the Python baseline, and prints the table (with --write, puts it into
BENCHMARKS.md between the bench markers).

    python bench/run.py [--only SUBSTRING ...] [--targets] [--kernels SET,...] [--no-baseline]
                        [--baseline-cli PATH] [--callgrind] [--repeat N] [--write [--section NAME]]

--targets runs only the families issue 15's open speed targets are measured on (n = 8, 32 and
128 x 25M BF16: `make bench-targets`) and prints each target with its verdict; with --write it
fills the `bench-targets` section of BENCHMARKS.md, not the full table.

Timings are wall clock and CPU time (user + system) of whole processes under /usr/bin/time -v,
files warm in the page cache (each family is read once before anything is timed); peak memory is
the maximum resident set size. The CLI runs (every kernel set and the 69c3b17 binary) are
interleaved round by round, --repeat rounds: a run's time is its best round, its speed-up over the
69c3b17 binary the median over rounds of the ratio of the two times taken in the same round,
in wall clock and in CPU time (on a shared machine the CPU ratios hold where wall clock swings).
The Python baseline runs once.

--callgrind adds a table of instructions executed (valgrind --tool=callgrind; the whole process)
for the small families, which a busy machine does not disturb. Valgrind has no AVX-512: that set
is left out of the table.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
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
# Kernel sets, in the order of the table (MODELTREE_KERNEL's names).
KERNELS = ("sse2", "avx2", "avx512", "neon")
# The families --callgrind measures (small: a run under valgrind is ~50 times slower).
CALLGRIND_FAMILIES = ("-1M-",)
# The speed targets (issue 15): the whole run at this share of the probe's speed, and this
# speed-up over the 69c3b17 binary with the same edges.
PROBE_SHARE_TARGETS = {"full-n8-25M-BF16": 0.5, "full-n32-25M-BF16": 0.5}
SPEEDUP_TARGETS = {"full-n128-25M-BF16": 3.0, "lora-n64-4.7M-BF16": 2.0}
# --targets: the families of the targets still open.
TARGET_FAMILIES = ("full-n8-25M-BF16", "full-n32-25M-BF16", "full-n128-25M-BF16")


def family_dir(cache, kind, n, params, dtype):
    return os.path.join(cache, f"{kind}-n{n}-{params}-{dtype}")


def generate(cache, kind, n, params, dtype):
    out = family_dir(cache, kind, n, params, dtype)
    cmd = [sys.executable, os.path.join(HERE, "gen_family.py"), out, "--models", str(n), "--dtype", dtype, "--kind", kind]
    if kind == "full":
        cmd += ["--params", params]
    subprocess.run(cmd, check=True)
    return out


def timed(cmd, stdout_path, env=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, CPU seconds, peak RSS bytes)."""
    with open(stdout_path, "w") as out:
        p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=out, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, **(env or {})})
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
    parts = [float(x) for x in wall.split(":")]
    seconds = sum(v * 60 ** (len(parts) - 1 - i) for i, v in enumerate(parts))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): (\S+)", p.stderr).group(1)) for k in ("User", "System"))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    return seconds, cpu, rss


def kernel_sets(cli):
    """The kernel sets this CPU runs: those MODELTREE_KERNEL selects as asked (`--version` names
    the set in use; a set the CPU lacks falls back to another)."""
    found = []
    for k in KERNELS:
        out = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True,
                             env={**os.environ, "MODELTREE_KERNEL": k}).stdout
        m = re.search(r"\(kernels: (\w+)\)", out)
        if m and m.group(1) == k:
            found.append(k)
    return found


def default_kernel(cli):
    env = {k: v for k, v in os.environ.items() if k != "MODELTREE_KERNEL"}
    out = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True, env=env).stdout
    m = re.search(r"\(kernels: (\w+)\)", out)
    return m.group(1) if m else "?"


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


def edges_of(path):
    return sorted([e["parent"], e["child"]] for e in json.load(open(path))["edges"])


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


def callgrind_instructions(cli, folder, env, work, name):
    """Instructions the whole process executes (callgrind's total), on a copy of the binary
    without debug information (valgrind 3.19 cannot read Swift's DWARF 5)."""
    plain = os.path.join(work, os.path.basename(os.path.dirname(os.path.dirname(cli))) + "-" + os.path.basename(cli) + ".nodebug")
    if not os.path.exists(plain) or os.path.getmtime(plain) < os.path.getmtime(cli):
        subprocess.run(["strip", "--strip-debug", "-o", plain, cli], check=True)
    out = os.path.join(work, f"{name}.callgrind")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", plain, "recover", folder,
                    "--format", "json", "--quiet"], check=True, capture_output=True, env={**os.environ, **env})
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit(f"no instruction count in {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.environ.get("MODELTREE_BENCH_CACHE", os.path.expanduser("~/.cache/modeltree-bench")))
    ap.add_argument("--cli", default=os.path.join(ROOT, ".build-dist", "release", "modeltree-cli"))
    ap.add_argument("--baseline-cli", help="the modeltree-cli of commit 69c3b17, run beside the kernels")
    ap.add_argument("--probe", default=os.path.join(ROOT, ".build", "bench-probe"))
    ap.add_argument("--only", action="append", default=[], help="run the families whose name contains this")
    ap.add_argument("--targets", action="store_true",
                    help="only the families of the open speed targets (n8, n32, n128 x 25M BF16), no Python baseline")
    ap.add_argument("--kernels", help="comma-separated kernel sets to run (default: every set this CPU runs)")
    ap.add_argument("--section", help="the BENCHMARKS.md section --write fills (default: bench, or bench-targets with --targets)")
    ap.add_argument("--no-baseline", action="store_true", help="leave out the Python baseline")
    ap.add_argument("--callgrind", action="store_true", help="also count instructions on the small families")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    work = os.path.join(args.cache, "runs")
    os.makedirs(work, exist_ok=True)

    if args.targets:
        args.no_baseline = True
    sets = kernel_sets(args.cli)
    if args.kernels:
        wanted = args.kernels.split(",")
        sets = [k for k in sets if k in wanted]
    active = default_kernel(args.cli)
    baseline_name = "69c3b17"
    variants = ([(baseline_name, args.baseline_cli, {})] if args.baseline_cli else []) + \
        [(k, args.cli, {"MODELTREE_KERNEL": k}) for k in sets]

    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    rows, callgrind_rows, targets = [], [], []
    header = ("| family | models × params | weights read | probe | run | time | CPU | peak memory | of probe speed "
              f"| speed-up over {baseline_name} | pairs × elements / s | Python baseline | baseline peak "
              "| speed-up over Python | same edges | accuracy |")
    rule = "|" + "|".join(["---"] * (header.count("|") - 1)) + "|"
    print(header)
    print(rule)
    for kind, n, params, dtype in FAMILIES:
        name = f"{kind}-n{n}-{params}-{dtype}"
        if args.only and not any(o in name for o in args.only):
            continue
        if args.targets and name not in TARGET_FAMILIES:
            continue
        folder = generate(args.cache, kind, n, params, dtype)
        fs = files(folder)
        wbytes, elements = weight_bytes(folder)
        subprocess.run([args.probe] + fs, capture_output=True, check=True)     # warm the page cache
        probe = min((json.loads(subprocess.run([args.probe] + fs, capture_output=True, text=True, check=True).stdout)
                     for _ in range(max(1, args.repeat))), key=lambda r: r["seconds"])
        probe_rate = probe["bytes"] / probe["seconds"]
        # For the probe-share targets, the floor of a reader that never maps files: the same bytes
        # through pread, with descriptors kept open and opened around every read as
        # CheckpointFile does (bench/probe.c), as shares of the probe's speed.
        pread_floor = {}
        if name in PROBE_SHARE_TARGETS:
            for flag in ("--pread", "--pread-reopen"):
                best = min((json.loads(subprocess.run([args.probe, flag] + fs, capture_output=True, text=True,
                                                      check=True).stdout) for _ in range(max(1, args.repeat))),
                           key=lambda r: r["seconds"])
                pread_floor[flag] = probe["seconds"] / best["seconds"]

        # Every CLI run, interleaved round by round.
        truth = os.path.join(folder, "truth.json")
        outputs = {v: os.path.join(work, f"{name}.{v}.json") for v, _, _ in variants}
        times = {v: [] for v, _, _ in variants}
        for _ in range(max(1, args.repeat)):
            for v, cli, env in variants:
                times[v].append(timed([cli, "recover", folder, "--format", "json", "--quiet", "--truth", truth],
                                      outputs[v], env))

        # The Python baseline, once.
        base_cell, base_mem, base_edges, base_wall, lora_check = "not run", "", None, None, None
        best = active if active in times else (sets[-1] if sets else None)
        if kind == "lora":
            if not args.no_baseline and best:
                base_out = os.path.join(work, name + ".base.json")
                _, _, mem = timed([sys.executable, os.path.join(HERE, "baseline.py"), folder, "--rank-check", outputs[best],
                                   "--every", "4"], base_out)
                lora_check = json.load(open(base_out))
                base_wall = lora_check["estimated_all_pairs_seconds"]
                base_cell = f"{secs(base_wall)} (est.: {lora_check['pairs_checked']} pairs by SVD in {secs(lora_check['seconds'])})"
                base_mem = gib(mem)
        elif args.no_baseline:
            pass
        elif n * elements * 4 * 1.1 > BASELINE_MAX_BYTES:
            base_cell = f"not run (needs {gib(n * elements * 4)} resident)"
        else:
            base_out = os.path.join(work, name + ".base.json")
            base_wall, _, mem = timed([sys.executable, os.path.join(HERE, "baseline.py"), folder], base_out)
            base_edges = json.load(open(base_out))["edges"]
            base_cell, base_mem = secs(base_wall), gib(mem)

        reference = edges_of(outputs[baseline_name]) if args.baseline_cli else None
        family_rows = {}
        for i, (v, _, _) in enumerate(variants):
            wall = min(t[0] for t in times[v])
            cpu = min(t[1] for t in times[v])
            rss = max(t[2] for t in times[v])
            result = json.load(open(outputs[v]))
            edges = sorted([e["parent"], e["child"]] for e in result["edges"])
            accuracy = f"{result['score']['correct']}/{result['score']['total']}"
            if kind == "lora":
                accuracy += f", metric {result['metric']}"
            speedup, wall_ratio = "", None
            if args.baseline_cli and v != baseline_name:
                pairs = list(zip(times[baseline_name], times[v]))
                wall_ratio = statistics.median(b[0] / t[0] for b, t in pairs)
                speedup = (f"{wall_ratio:.2f}× "
                           f"(CPU {statistics.median(b[1] / max(t[1], 0.005) for b, t in pairs):.2f}×)")
            same = []
            if reference is not None and v != baseline_name:
                same.append(f"{baseline_name}: {'yes' if edges == reference else 'no'}")
            if base_edges is not None:
                same.append(f"Python: {'yes' if edges == base_edges else 'no'}")
            if lora_check is not None and v == best:
                same.append(f"ranks {lora_check['agree']}/{lora_check['pairs_checked']} = exact")
            first = i == 0
            row = (f"| {name} | {n} × {elements / 1e6:.1f}M | {gib(wbytes)} | {secs(probe['seconds'])} ({probe_rate / 1e9:.1f} GB/s) "
                   f"| {v} | {secs(wall)} | {secs(cpu)} | {gib(rss)} | {wbytes / wall / probe_rate:.2f} | {speedup} "
                   f"| {n * (n - 1) / 2 * elements / wall / 1e9:.1f} G "
                   f"| {base_cell if first else ''} | {base_mem if first else ''} "
                   f"| {f'{base_wall / wall:.0f}×' if base_wall else ''} | {'; '.join(same)} | {accuracy} |")
            print(row, flush=True)
            rows.append(row)
            family_rows[v] = (wall, speedup, edges == reference if reference is not None else None, wbytes / wall / probe_rate,
                              wall_ratio)

        # The speed targets this family carries, each with its verdict for the default set.
        kernels = [v for v, _, _ in variants if v != baseline_name]
        judged = active if active in kernels else (kernels[-1] if kernels else None)
        if name in PROBE_SHARE_TARGETS and judged:
            goal = PROBE_SHARE_TARGETS[name]
            share = family_rows[judged][3]
            targets.append(f"- {name}, whole run at ≥ {goal} of the probe's speed: "
                           + ", ".join(f"{k} {family_rows[k][3]:.2f}" for k in kernels)
                           + f" — {judged}: {'met' if share >= goal else 'NOT MET'} ({share:.2f})"
                           + f"; reading alone through pread reaches {pread_floor['--pread-reopen']:.2f} of the probe's speed "
                           f"opening each file around every read as CheckpointFile does, {pread_floor['--pread']:.2f} "
                           "with descriptors kept open (`bench/probe.c --pread-reopen`, `--pread`)")
        if name in SPEEDUP_TARGETS and args.baseline_cli and judged:
            goal = SPEEDUP_TARGETS[name]
            wall_ratio = family_rows[judged][4]
            same_edges = family_rows[judged][2]
            targets.append(f"- {name}, ≥ {goal:g}× faster than {baseline_name} with the same edges"
                           + (" and exact ranks" if kind == "lora" else "") + ": "
                           + ", ".join(f"{k} {family_rows[k][1]} ({'same edges' if family_rows[k][2] else 'OTHER EDGES'})"
                                       for k in kernels)
                           + (f"; ranks checked against the SVD: {lora_check['agree']}/{lora_check['pairs_checked']}"
                              if lora_check else "")
                           + f" — {judged}: {'met' if wall_ratio >= goal and same_edges else 'NOT MET'} ({wall_ratio:.2f}×)")

        if args.callgrind and any(c in name for c in CALLGRIND_FAMILIES):
            counted = [(v, cli, env) for v, cli, env in variants if v != "avx512"]
            counts = {v: callgrind_instructions(cli, folder, env, work, f"{name}.{v}") for v, cli, env in counted}
            for v, _, _ in counted:
                ratio = f"{counts[v] / counts[baseline_name]:.3f}" if baseline_name in counts else ""
                callgrind_rows.append(f"| {name} | {v} | {counts[v] / 1e9:.3f} G | {ratio} |")

    load_after = os.getloadavg()
    footer = [
        "",
        f"Machine: {machine()}; kernel sets it runs: {', '.join(sets)} (default {active}).",
        f"Run {started:%Y-%m-%d %H:%M} UTC; load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        "(the machine is shared: above its core count other jobs were competing for it).",
        "",
        ("Command: `make bench-targets` (the families of the open targets only)" if args.targets else
         "Command: `make bench` (all families) — or `make bench BENCH_ARGS=\"--only n32-25M\"` for some."),
    ]
    if targets:
        footer += ["", "The speed targets in this run:", ""] + targets
    if callgrind_rows:
        footer += ["", f"Instructions executed (callgrind, the whole process; valgrind has no AVX-512):", "",
                   f"| family | run | instructions | ratio to {baseline_name} |", "|---|---|---|---|"] + callgrind_rows
    print("\n".join(footer))
    if args.write:
        path = os.path.join(ROOT, "BENCHMARKS.md")
        text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n"
        section = args.section or ("bench-targets" if args.targets else "bench")
        begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
        if begin not in text:
            text += f"\n{begin}\n{end}\n"
        table = "\n".join([begin, header, rule] + rows + footer + [end])
        text = text[: text.index(begin)] + table + text[text.index(end) + len(end):]
        open(path, "w").write(text)


if __name__ == "__main__":
    main()
