#!/usr/bin/python3
"""Writes a copy of a detector's ONNX graph whose batch dimension is dynamic, to measure batched tiling on a
real model (bench/tiling.sh BATCHED=1). Every shipped graph declares [1, 3, H, W] and bakes the 1 into its
Reshape shapes; this rewrites each Reshape shape constant that starts with 1 to start with 0 (ONNX: copy
the input's dimension), and declares the input's and outputs' first dimension as "batch". It checks that
the copy runs nothing else differently: a graph whose other ops depend on the batch of 1 fails at its first
batched forward pass, and visearch reports it.

  bench/dynamic_batch_model.py IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main(src, dst):
    model = onnx.load(src)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    consts = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}
    changed = 0
    for node in graph.node:
        if node.op_type != "Reshape":
            continue
        name = node.input[1]
        if name in inits:
            shape = numpy_helper.to_array(inits[name]).copy()
            if shape.size and shape[0] == 1:
                shape[0] = 0
                inits[name].CopyFrom(numpy_helper.from_array(shape.astype(np.int64), name))
                changed += 1
        elif name in consts:
            attr = consts[name].attribute[0]
            shape = numpy_helper.to_array(attr.t).copy()
            if shape.size and shape[0] == 1:
                shape[0] = 0
                attr.t.CopyFrom(numpy_helper.from_array(shape.astype(np.int64), name))
                changed += 1
    for value in list(graph.input) + list(graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_param = "batch"
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"{dst}: {changed} Reshape shapes made batch-free")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
