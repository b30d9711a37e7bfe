#!/usr/bin/python3
"""Writes tiny ONNX graphs in the Ultralytics YOLOv5 and YOLOv8 export layouts
whose outputs we control, for decoder tests (no real weights exist here).

Each graph takes `images` [1,3,32,32] and returns a constant tensor (plus
0 * mean(images), so the input is really consumed). Run with Debian's
python3-onnx:  /usr/bin/python3 tools/make_test_models.py tests/data/models
The expected detections are written next to each model as <name>.expected.json.
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NUM_CLASSES = 3
SIZE = 32


def constant_graph(name, output_name, values):
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, list(values.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["const", "nothing"], [output_name]),
    ]
    inits = [numpy_helper.from_array(values.astype(np.float32), "const"),
             numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")]
    graph = helper.make_graph(nodes, name, [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="visearch-tests")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


# (cx, cy, w, h) in 32x32 input pixels, class scores, objectness (v5 only)
BOXES = [
    ((16.0, 16.0, 8.0, 8.0), [0.10, 0.90, 0.05], 0.95),   # class 1, strong
    ((16.5, 16.0, 8.0, 8.0), [0.10, 0.80, 0.05], 0.95),   # overlaps the first, same class -> suppressed
    ((16.0, 16.5, 8.0, 8.0), [0.70, 0.10, 0.05], 0.95),   # overlaps, other class -> kept unless agnostic
    ((6.0, 20.0, 4.0, 6.0), [0.05, 0.05, 0.60], 0.90),   # class 2
    ((26.0, 12.0, 4.0, 4.0), [0.20, 0.10, 0.05], 0.50),  # below a 0.3 threshold
]


def main(out_dir):
    # YOLOv8: [1, 4 + C, N], no objectness
    v8 = np.zeros((1, 4 + NUM_CLASSES, len(BOXES)), dtype=np.float32)
    for j, (box, cls, _obj) in enumerate(BOXES):
        v8[0, 0:4, j] = box
        v8[0, 4:, j] = cls
    onnx.save(constant_graph("yolov8_tiny", "output0", v8), f"{out_dir}/yolov8_tiny.onnx")
    # YOLOv5: [1, N, 5 + C]
    v5 = np.zeros((1, len(BOXES), 5 + NUM_CLASSES), dtype=np.float32)
    for j, (box, cls, obj) in enumerate(BOXES):
        v5[0, j, 0:4] = box
        v5[0, j, 4] = obj
        v5[0, j, 5:] = cls
    onnx.save(constant_graph("yolov5_tiny", "output0", v5), f"{out_dir}/yolov5_tiny.onnx")
    with open(f"{out_dir}/tiny_boxes.json", "w") as f:
        json.dump([{"cxcywh": b, "class_scores": c, "objectness": o} for b, c, o in BOXES], f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/models")
