#!/usr/bin/env python3
"""Build examples/formats_zoo/: issue 11's mixed-format collection, made by the ecosystem's tools.

    python examples/make_formats_zoo.py [--out DIR] [--quick]

One tiny Llama base (safetensors F32), its GGUF exports F16 / Q8_0 / Q4_0 / Q4_K_M (gguf-py, as
convert_hf_to_gguf.py + llama-quantize write them, q/k rows permuted), two full fine-tunes of the
base (one saved by torch.save as pytorch_model.bin), an F32 ONNX export of the base (torch.onnx)
and an int8 ONNX export of the .bin fine-tune (onnxruntime's quantizer). The model list is
`typed/zoo_specs.py:formats()`; every step is the typed zoo generator's (make_typed_zoo.py), so
this script only picks the list, measures the distances issue 11 asks for and writes the files.

Deterministic like the typed zoos (one thread, deterministic torch algorithms, fixed seeds,
PYTHONHASHSEED=0); make_log.json records the environment and the SHA-256 of every file.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import make_typed_zoo as mtz  # noqa: E402
from typed import formats_readme, texts, zoo_specs  # noqa: E402


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output folder (default examples/formats_zoo)")
    ap.add_argument("--quick", action="store_true", help="1/20 of the training steps (a smoke test, not the zoo)")
    args = ap.parse_args()
    spec = zoo_specs.formats()
    out = os.path.abspath(args.out or os.path.join(HERE, spec["name"]))

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    from transformers.utils import logging as tlog
    tlog.disable_progress_bar()
    tlog.set_verbosity_error()

    tmp = out + ".tmp"
    for d in (tmp, tmp + ".withheld"):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(tmp)
    t_start = time.time()
    zoo = mtz.Zoo(spec, tmp, args.quick)
    zoo.build()
    truth = mtz.build_truth(zoo)
    mtz.check_distinct(zoo, truth)
    measured = mtz.measure(zoo, truth)
    measured["tensors"] = formats_readme.tensor_distances(zoo, truth)
    for name, obj, kw in (("truth.json", truth, {}), ("inventory.json", zoo.inventory, {"sort_keys": True}),
                          ("facts.json", measured, {})):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(obj, f, indent=1, **kw)
            f.write("\n")
    formats_readme.write(os.path.join(tmp, "README.md"), zoo, truth, measured, mtz.environment())
    log = {"zoo": "formats", "quick": args.quick, "environment": mtz.environment(), "corpora": texts.sources(),
           "arch": spec["arch"], "train_shape": zoo_specs.TRAIN_SHAPE, "steps": zoo.steps,
           "seconds_total": round(time.time() - t_start, 1), "cpu_seconds": round(time.process_time(), 1),
           "files_sha256": mtz.file_hashes(tmp)}
    with open(os.path.join(tmp, "make_log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    shutil.rmtree(tmp + ".withheld", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"wrote {len(zoo.inventory)} models to {out} in {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
