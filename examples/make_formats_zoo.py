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
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_typed_zoo as mtz  # noqa: E402
from typed import formats_readme, zoo_specs  # noqa: E402


def main() -> None:
    mtz.fix_hash_seed()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output folder (default examples/formats_zoo)")
    ap.add_argument("--quick", action="store_true", help="1/20 of the training steps (a smoke test, not the zoo)")
    args = ap.parse_args()
    spec = zoo_specs.formats()
    out = os.path.abspath(args.out or os.path.join(HERE, spec["name"]))
    mtz.make(spec, out, args.quick, "formats",
             lambda path, zoo, truth, measured: formats_readme.write(path, zoo, truth, measured, mtz.environment()),
             more_facts=lambda zoo, truth: {"tensors": formats_readme.tensor_distances(zoo, truth)})


if __name__ == "__main__":
    main()
