"""Issue 13: would an int8 embedder be faster? Quantises the pinned
fr_feature.onnx with onnxruntime's own tools (dynamic, and static QOperator
with per-channel weights) and times one 112x112 inference of each against the
float model, one thread, as the engine runs it. Only a faster model would be
worth the held-out accuracy check (`tanu biometrics eval`); on the machine of
the README's figures neither is faster, so the float model stays.

    python3 -m venv /tmp/qenv && /tmp/qenv/bin/pip install onnxruntime==1.31.1 onnx==1.23.2 numpy==2.4.6
    /tmp/qenv/bin/python ops/bench/quantize.py [ops/vendor/models/fr_feature.onnx]
"""
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

src = sys.argv[1] if len(sys.argv) > 1 else "ops/vendor/models/fr_feature.onnx"
name = ort.InferenceSession(src).get_inputs()[0].name
rng = np.random.default_rng(7)


class Calibration(CalibrationDataReader):
    """Timing only: the ranges of random inputs (accuracy is not judged here)."""

    def __init__(self):
        self.left = 8

    def get_next(self):
        self.left -= 1
        return None if self.left < 0 else {name: rng.random((1, 3, 112, 112), dtype=np.float32)}


def timed(path, n=100):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    x = rng.random((1, 3, 112, 112), dtype=np.float32)
    for _ in range(10):
        s.run(None, {name: x})
    t = time.perf_counter()
    for _ in range(n):
        s.run(None, {name: x})
    return (time.perf_counter() - t) / n * 1000


with tempfile.TemporaryDirectory() as d:
    dynamic, static = os.path.join(d, "dynamic.onnx"), os.path.join(d, "static.onnx")
    quantize_dynamic(src, dynamic, weight_type=QuantType.QInt8)
    quantize_static(src, static, Calibration(), quant_format=QuantFormat.QOperator, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    for label, path in [("float32 (in use)", src), ("int8 dynamic", dynamic), ("int8 static QOperator", static)]:
        print(f"{label}: {timed(path):.2f} ms per embedding")
