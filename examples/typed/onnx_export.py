"""ONNX exports as torch and onnxruntime make them.

    export(state, arch, path, dtype)      torch.onnx.export (the dynamo exporter, opset 18) of the
                                          LM's logits; dtype "F32" or "F16" (model.half() first)
    quantize_qdq(fp32_path, path, calib)  onnxruntime.quantization.quantize_static: QDQ format,
                                          int8 weights per output channel, uint8 activations
    name_map(path, state)                 which initializer holds which Hugging Face tensor

The exporter's optimizer folds each Linear's weight transpose into a new initializer named by
value (`val_130`, shape [in, out]); embeddings and norms keep their module names
(`m.model.embed_tokens.weight`). The quantizer renames a weight W to `W_quantized` (int8) with
`W_scale` / `W_zero_point` and a DequantizeLinear node (axis 1 for MatMul weights, per tensor for
the Gather of the embedding). Node metadata (stack traces with local paths) is dropped before
saving so the files do not depend on where the script ran; initializers and graph are untouched.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from . import lm


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, input_ids):
        return self.m(input_ids=input_ids, use_cache=False).logits


def _strip(model: onnx.ModelProto) -> None:
    for node in model.graph.node:
        del node.metadata_props[:]
    del model.metadata_props[:]


def export(state: dict, arch: dict, path: str, dtype: str) -> None:
    from torch.export import Dim
    model = lm.model_from_state(arch, state).eval()
    model.config._attn_implementation = "eager"
    if dtype == "F16":
        model = model.half()
    x = torch.zeros((2, 16), dtype=torch.long)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "model.onnx")
        torch.onnx.export(_Logits(model), (x,), raw, input_names=["input_ids"], output_names=["logits"],
                          dynamic_shapes={"input_ids": {0: Dim("batch"), 1: Dim("seq", max=arch["ctx"])}},
                          dynamo=True, opset_version=18, external_data=False, verbose=False)
        proto = onnx.load(raw)
    _strip(proto)
    onnx.save(proto, path)


def quantize_qdq(fp32_path: str, path: str, calib: list[np.ndarray]) -> None:
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"input_ids": c.astype(np.int64)} for c in calib])

        def get_next(self):
            return next(self.it, None)

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "q.onnx")
        quantize_static(fp32_path, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        op_types_to_quantize=["MatMul", "Gather"])
        proto = onnx.load(out)
    _strip(proto)
    onnx.save(proto, path)


def name_map(path: str, state: dict) -> dict:
    """{initializer: {"tensor": hf_name, "transposed": bool}} for every float initializer of a
    float export whose values equal (to its precision) one tensor of `state`, found by content."""
    proto = onnx.load(path)
    out = {}
    for init in proto.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype not in (np.float32, np.float16) or a.ndim == 0 or a.size < 8:
            continue
        for name, t in state.items():
            t = np.asarray(t, dtype=np.float32)
            for transposed, cand in ((False, t), (True, t.T if t.ndim == 2 else None)):
                if cand is None or cand.shape != a.shape:
                    continue
                if np.array_equal(cand.astype(a.dtype), a):
                    out[init.name] = {"tensor": name, "transposed": transposed}
                    break
            if init.name in out:
                break
    return out
