"""Folding a layout op into a weight (onnx_export.fold_weight_layouts) holds each folded weight
once: the graph's copy, not also the tensor it was appended from. A full-size transformer's
weights are nearly all transposed, so a second copy of each was a second model's worth of memory
(4 GB)."""

import gc

import numpy as np
from onnx import ModelProto, helper, numpy_helper

from editmgt_export.onnx_export import fold_weight_layouts

N, K = 16, 2048  # sixteen 16 MiB weights


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))


def test_folding_holds_each_weight_once():
    model = ModelProto()
    for i in range(N):
        model.graph.initializer.add().CopyFrom(numpy_helper.from_array(np.full((K, K), i, np.float32), f"w{i}"))
        model.graph.node.add().CopyFrom(helper.make_node("Transpose", [f"w{i}"], [f"t{i}"], perm=[1, 0]))
        model.graph.node.add().CopyFrom(helper.make_node("MatMul", ["x", f"t{i}"], [f"y{i}"]))
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # restart the peak (VmHWM) from the current RSS
    before = _status_kb("VmRSS")
    model = fold_weight_layouts(model)
    grew = _status_kb("VmHWM") - before
    weights = N * K * K * 4 // 1024
    assert [t.name for t in model.graph.initializer] == [f"t{i}" for i in range(N)]
    assert float(numpy_helper.to_array(model.graph.initializer[3])[0, 0]) == 3.0
    # the folded weights are appended while the originals are dropped one by one (the protobuf
    # arena keeps dropped bytes until the model is freed): about one model's worth more, not two
    assert grew < 1.7 * weights, (grew, weights)
