#!/usr/bin/env python3
"""INT8 probe (issue 13): is a static INT8 (QDQ, per-channel) copy of a shipped detector faster in ONNX
Runtime on this CPU? Converts the model to opset 13 (per-channel QDQ needs it), calibrates on 32 coco128
images with onnxruntime's quantize_static, and times FP32 against INT8 side by side (median of 40 runs,
three alternating rounds) at 1 and 2 intra-op threads. Forward time only; accuracy is not measured.

A build/test-time tool, not part of visearch (nothing at run time needs Python). Set up once:
  python3 -m venv /tmp/int8 && /tmp/int8/bin/pip install onnxruntime==1.32.0 onnx==1.16.2 \\
      ml_dtypes==0.7.0 numpy==2.4.6 pillow==13.0.0
Run:
  /tmp/int8/bin/python bench/int8_probe.py ../shared/models/yolox_nano/yolox_nano.onnx 416 bgr
  /tmp/int8/bin/python bench/int8_probe.py ../shared/models/picodet_s_416/picodet_s_416_coco_cv46.onnx 416 rgb
"""
import glob
import os
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import version_converter
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from PIL import Image


def main():
    source, size, order = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    shared = os.environ.get("SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    images = sorted(glob.glob(os.path.join(shared, "data", "coco128*", "**", "*.jpg"), recursive=True))[:32]
    if not images:
        sys.exit("no coco128 images under " + shared)
    work = tempfile.mkdtemp()
    fp32 = os.path.join(work, "fp32.onnx")
    int8 = os.path.join(work, "int8.onnx")
    onnx.save(version_converter.convert_version(onnx.load(source), 13), fp32)
    name = ort.InferenceSession(fp32, providers=["CPUExecutionProvider"]).get_inputs()[0].name

    def tensor(path):
        pixels = np.asarray(Image.open(path).convert("RGB").resize((size, size))).astype(np.float32)
        if order == "bgr":
            pixels = pixels[:, :, ::-1]
        return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{name: tensor(p)} for p in images])

        def get_next(self):
            return next(self.items, None)

    quantize_static(fp32, int8, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)

    def median_ms(path, threads):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        x = tensor(images[0])
        for _ in range(10):
            session.run(None, {name: x})
        times = []
        for _ in range(40):
            start = time.perf_counter()
            session.run(None, {name: x})
            times.append(time.perf_counter() - start)
        return 1000 * float(np.median(times))

    for threads in (1, 2):
        rounds = [(median_ms(fp32, threads), median_ms(int8, threads)) for _ in range(3)]
        a = float(np.median([r[0] for r in rounds]))
        b = float(np.median([r[1] for r in rounds]))
        print(f"{os.path.basename(source)} threads {threads}: fp32 {a:.2f} ms, int8 {b:.2f} ms, "
              f"speed-up {a / b:.2f}")


if __name__ == "__main__":
    main()
