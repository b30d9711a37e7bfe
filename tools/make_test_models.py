#!/usr/bin/python3
"""Writes tiny ONNX graphs whose outputs we control, for decoder tests (no real
weights exist here): the Ultralytics YOLOv5 and YOLOv8 export layouts, and the
end-to-end layouts (TensorFlow Object Detection API, torchvision, DETR-style
set predictions in one or two outputs, NMS-free YOLOv10 / YOLO26), and a
YOLOv8-layout grid graph whose outputs follow its input, with a dynamic batch,
a batch of 1 and a batch of 4 (batched tiling).

Each graph takes one input of the layout, type and (possibly dynamic) shape its
family's exports take, and returns constant tensors (plus 0 * mean(input) on
the float outputs, so the input is really consumed). Run with a python3 that
has the onnx package (Debian's python3-onnx):
  python3 tools/make_test_models.py tests/data/models
The boxes each graph encodes are listed in the comments below; the tests
(tests/unit/model/*_decoder_test.cpp, tests/golden/end_to_end_layouts_test.cpp)
state what they decode to in original-image pixels.
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NUM_CLASSES = 3
SIZE = 32


def constant_graph(name, output_name, values):
    return constant_outputs_graph(name, ("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE]), [(output_name, values)])


def constant_outputs_graph(name, graph_input, outputs):
    """A graph with one input (name, element type, shape; a string dimension is dynamic) and constant
    outputs [(name, numpy array)], in that order. Float outputs add 0 * mean(input)."""
    input_name, input_type, input_shape = graph_input
    inp = helper.make_tensor_value_info(input_name, input_type, input_shape)
    nodes = []
    mean_of = input_name
    if input_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [input_name], ["input_float"], to=TensorProto.FLOAT))
        mean_of = "input_float"
    nodes += [helper.make_node("ReduceMean", [mean_of], ["mean"], keepdims=0),
              helper.make_node("Mul", ["mean", "zero"], ["nothing"])]
    inits = [numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")]
    outs = []
    for i, (output_name, values) in enumerate(outputs):
        const = f"const{i}"
        inits.append(numpy_helper.from_array(values, const))
        if values.dtype == np.float32:
            nodes.append(helper.make_node("Add", [const, "nothing"], [output_name]))
        else:
            nodes.append(helper.make_node("Identity", [const], [output_name]))
        elem = helper.np_dtype_to_tensor_dtype(values.dtype) if hasattr(helper, "np_dtype_to_tensor_dtype") \
            else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[values.dtype]
        outs.append(helper.make_tensor_value_info(output_name, elem, list(values.shape)))
    graph = helper.make_graph(nodes, name, [inp], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="visearch-tests")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def f32(rows):
    return np.array(rows, dtype=np.float32)


def end_to_end_models(out_dir):
    """The end-to-end layouts. Labels are ["apple", "bottle", "cup"] in every spec."""
    # TensorFlow OD API (tf2onnx): uint8 NHWC of any size; (ymin, xmin, ymax, xmax) normalised; 1-based
    # class ids; rows from num_detections on are padding (the last one would be a full-image box).
    tf_rows = [  # (box, score, class id)
        ((0.25, 0.125, 0.75, 0.5), 0.90, 2),   # bottle
        ((0.25, 0.15, 0.75, 0.5), 0.85, 2),    # bottle again, overlapping: kept (no NMS)
        ((0.5, 0.5, 1.0, 0.75), 0.60, 3),      # cup
        ((0.1, 0.1, 0.2, 0.2), 0.20, 1),       # below a 0.3 threshold
        ((0.0, 0.0, 1.0, 1.0), 0.99, 1),       # padding past num_detections = 4
    ]
    onnx.save(constant_outputs_graph("tf_od_tiny", ("input_tensor", TensorProto.UINT8, [1, "height", "width", 3]), [
        ("detection_boxes", f32([[r[0] for r in tf_rows]])),
        ("detection_scores", f32([[r[1] for r in tf_rows]])),
        ("detection_classes", f32([[r[2] for r in tf_rows]])),
        ("num_detections", f32([4])),
    ]), f"{out_dir}/tf_od_tiny.onnx")

    # torchvision: float [3, H, W] of any size; (x1, y1, x2, y2) in the pixels of the tensor fed; int64
    # labels with 0 the background.
    tv_rows = [
        ((10.0, 5.0, 40.0, 30.0), 0.95, 1),    # apple
        ((12.0, 5.0, 40.0, 30.0), 0.90, 1),    # apple again, overlapping: kept
        ((50.0, 40.0, 80.0, 50.0), 0.70, 3),   # cup
        ((0.0, 0.0, 10.0, 10.0), 0.99, 0),     # background: no label
    ]
    onnx.save(constant_outputs_graph("torchvision_tiny", ("images", TensorProto.FLOAT, [3, "height", "width"]), [
        ("boxes", f32([r[0] for r in tv_rows])),
        ("labels", np.array([r[2] for r in tv_rows], dtype=np.int64)),
        ("scores", f32([r[1] for r in tv_rows])),
    ]), f"{out_dir}/torchvision_tiny.onnx")

    # DETR-style, one output [1, Q, 4 + C]: normalised (cx, cy, w, h), sigmoid scores per class.
    detr = f32([[
        [0.5, 0.5, 0.25, 0.25, 0.10, 0.90, 0.80],          # bottle .9 and cup .8 from one query
        [0.52, 0.5, 0.25, 0.25, 0.05, 0.85, 0.0],          # bottle, overlapping the first: kept
        [0.1875, 0.625, 0.125, 0.1875, 0.60, 0.0, 0.0],    # apple
        [0.5, 0.5, 1.0, 1.0, 0.10, 0.10, 0.10],            # nothing over 0.3
        [0.3, 0.3, 0.1, 0.1, 0.20, 0.20, 0.20],
    ]])
    onnx.save(constant_outputs_graph("detr_tiny", ("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE]),
                                     [("output0", detr)]), f"{out_dir}/detr_tiny.onnx")

    # DETR-style, two outputs: raw logits [1, Q, C] (first in the graph) and boxes [1, Q, 4].
    onnx.save(constant_outputs_graph("detr_split_tiny", ("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE]), [
        ("pred_logits", f32([[[2.0, -3.0, -3.0], [-3.0, 0.0, -3.0], [-3.0, -3.0, -3.0]]])),  # apple .881, bottle .5
        ("pred_boxes", f32([[[0.5, 0.5, 0.5, 0.25], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0.2, 0.2]]])),
    ]), f"{out_dir}/detr_split_tiny.onnx")

    # NMS-free YOLO (YOLOv10, YOLO26): [1, 300, 6] = (x1, y1, x2, y2, score, class) in input pixels.
    e2e = np.zeros((1, 300, 6), dtype=np.float32)
    e2e[0, :4] = [
        (12.0, 12.0, 20.0, 20.0, 0.90, 1),    # bottle
        (12.5, 12.0, 20.5, 20.0, 0.80, 1),    # bottle again, overlapping: kept
        (4.0, 17.0, 8.0, 23.0, 0.60, 2),      # cup
        (0.0, 0.0, 5.0, 5.0, 0.20, 0),        # below 0.3
    ]
    onnx.save(constant_outputs_graph("yolo_end2end_tiny", ("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE]),
                                     [("output0", e2e)]), f"{out_dir}/yolo_end2end_tiny.onnx")


def grid_model(name, batch, reshape_batch=0):
    """A YOLOv8-layout graph that really looks at its input, so that each item of a batch gives its own
    boxes: input [batch, 3, 32, 32] (a string batch is dynamic); the 8x8 grid of 4x4-pixel cells is
    AveragePooled, and cell j's box is the cell itself, (cx, cy, w, h) = (4 gx + 2, 4 gy + 2, 4, 4), scored
    for class c by the mean of channel c over the cell. Output [batch, 4 + 3, 64]. A pure red, green or
    blue square covering whole cells gives them score 1 for apple, bottle or cup. reshape_batch 1 keeps a
    batch of 1 inside (as some exports with a dynamic batch axis do), so a batch of more fails."""
    cells = 8
    boxes = np.zeros((1, 4, cells * cells), dtype=np.float32)
    for gy in range(cells):
        for gx in range(cells):
            boxes[0, :, gy * cells + gx] = (4 * gx + 2, 4 * gy + 2, 4, 4)
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, SIZE, SIZE])
    nodes = [
        helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Reshape", ["pooled", "score_shape"], ["scores"]),
        # 0 * the mean of each item's scores, shaped [batch, 1, 1]: broadcasts the boxes to the batch.
        helper.make_node("ReduceMean", ["scores"], ["item_mean"], axes=[1, 2], keepdims=1),
        helper.make_node("Mul", ["item_mean", "zero"], ["item_zero"]),
        helper.make_node("Add", ["boxes", "item_zero"], ["item_boxes"]),
        helper.make_node("Concat", ["item_boxes", "scores"], ["output0"], axis=1),
    ]
    inits = [numpy_helper.from_array(boxes, "boxes"),
             numpy_helper.from_array(np.array([reshape_batch, 3, cells * cells], dtype=np.int64), "score_shape"),
             numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")]
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, 4 + NUM_CLASSES, cells * cells])
    graph = helper.make_graph(nodes, name, [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="visearch-tests")
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def batch_models(out_dir):
    """The same grid graph with a dynamic batch, a fixed batch of 1 (as every shipped graph), a fixed
    batch of 4, and a dynamic batch that only runs a batch of 1 (tests/unit/model/batch_forward_test.cpp)."""
    onnx.save(grid_model("grid_batch_tiny", "batch"), f"{out_dir}/grid_batch_tiny.onnx")
    onnx.save(grid_model("grid_tiny", 1), f"{out_dir}/grid_tiny.onnx")
    onnx.save(grid_model("grid_batch4_tiny", 4), f"{out_dir}/grid_batch4_tiny.onnx")
    onnx.save(grid_model("grid_false_batch_tiny", "batch", reshape_batch=1), f"{out_dir}/grid_false_batch_tiny.onnx")


def conv_grid_model():
    """The grid graph behind three 1x1 convolutions that together are the identity, for the INT8 quantizer
    (tests/unit/quantize): input [1, 3, 32, 32], normalised to [-1, 1] by its spec; conv1 (3 -> 6, weights
    [I; -I]) + Relu splits each channel into its positive and negative parts, conv2 (6 -> 6, 3x3, only the
    centre tap, scaled by 1..6 per channel and undone by conv3) + Relu keeps them, conv3 (6 -> 3, [D^-1, -D^-1])
    puts them back together. Then, as grid_model: cell j's box is the 4x4-pixel cell, scored for class c by
    the mean of channel c over the cell. A pure red, green or blue cell on grey scores 1 for apple, bottle or
    cup; grey scores 0."""
    cells = 8
    boxes = np.zeros((1, 4, cells * cells), dtype=np.float32)
    for gy in range(cells):
        for gx in range(cells):
            boxes[0, :, gy * cells + gx] = (4 * gx + 2, 4 * gy + 2, 4, 4)
    eye = np.eye(3, dtype=np.float32)
    w1 = np.concatenate([eye, -eye]).reshape(6, 3, 1, 1)
    gain = np.arange(1, 7, dtype=np.float32)
    w2 = np.zeros((6, 6, 3, 3), dtype=np.float32)
    for c in range(6):
        w2[c, c, 1, 1] = gain[c]
    w3 = np.concatenate([eye / gain[:3], -eye / gain[3:]], axis=1).reshape(3, 6, 1, 1).astype(np.float32)
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])
    nodes = [
        helper.make_node("Conv", ["images", "w1", "b1"], ["conv1"], name="conv1", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("Conv", ["relu1", "w2", "b2"], ["conv2"], name="conv2", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("Conv", ["relu2", "w3", "b3"], ["features"], name="conv3", kernel_shape=[1, 1]),
        helper.make_node("AveragePool", ["features"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Reshape", ["pooled", "score_shape"], ["scores"]),
        helper.make_node("ReduceMean", ["scores"], ["item_mean"], axes=[1, 2], keepdims=1),
        helper.make_node("Mul", ["item_mean", "zero"], ["item_zero"]),
        helper.make_node("Add", ["boxes", "item_zero"], ["item_boxes"]),
        helper.make_node("Concat", ["item_boxes", "scores"], ["output0"], axis=1),
    ]
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(np.zeros(6, np.float32), "b1"),
             numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.full(6, 0.01, np.float32), "b2"),
             numpy_helper.from_array(w3, "w3"), numpy_helper.from_array(np.zeros(3, np.float32), "b3"),
             numpy_helper.from_array(boxes, "boxes"),
             numpy_helper.from_array(np.array([0, 3, cells * cells], dtype=np.int64), "score_shape"),
             numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")]
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + NUM_CLASSES, cells * cells])
    graph = helper.make_graph(nodes, "conv_grid_tiny", [inp], [out], inits)
    # opset 11, as the shipped detectors: the quantizer converts it to 13 itself.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], producer_name="visearch-tests")
    model.ir_version = 6
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
    end_to_end_models(out_dir)
    batch_models(out_dir)
    onnx.save(conv_grid_model(), f"{out_dir}/conv_grid_tiny.onnx")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/models")
