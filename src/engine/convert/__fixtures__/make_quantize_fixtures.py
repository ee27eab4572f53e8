"""Reference bytes for the TypeScript encoders' edge cases (convert/quantize.test.ts), made by the
exporter's own quantisers (tools/export/editmgt_export/dtypes.py, onnxruntime's) on inputs chosen
to separate one rounding rule from another: exact .5 ties, blocks whose largest and smallest
values have equal magnitude, all-zero blocks, K not a multiple of 32 (and odd), scales in
float16's subnormal range, values past float16's range and below its smallest subnormal.

Run with the exporter's venv from the repository root:
  tools/export/.venv/bin/python src/engine/convert/__fixtures__/make_quantize_fixtures.py
  npx prettier --write src/engine/convert/__fixtures__/quantize.json
Writes quantize.json beside this file. Inputs are float32 bit patterns, outputs hex bytes.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3] / "tools" / "export"))

from onnxruntime.transformers.float16 import convert_np_to_float16  # noqa: E402

from editmgt_export import dtypes  # noqa: E402


def bits(a: np.ndarray) -> list[int]:
    return np.ascontiguousarray(a, np.float32).view(np.uint32).ravel().tolist()


def lcg_normal(n: int, seed: int) -> np.ndarray:
    """Deterministic roughly-normal float32 values (sum of uniforms), no numpy RNG version drift."""
    out, s = [], seed
    for _ in range(n * 4):
        s = (s * 1103515245 + 12345) % (2**31)
        out.append(s / 2**31)
    u = np.array(out, np.float64).reshape(n, 4)
    return ((u.sum(axis=1) - 2.0) * 1.7).astype(np.float32)


def matmul_model(w: np.ndarray, a: np.ndarray | None = None) -> onnx.ModelProto:
    """y = x @ w, with x an input, or the constant ``a`` (which q8 quantises as an activation)."""
    k, n = w.shape
    inits = [numpy_helper.from_array(w.astype(np.float32), "w")]
    if a is not None:
        inits.append(numpy_helper.from_array(a.astype(np.float32), "x"))
    rows = 1 if a is None else a.shape[0]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])] if a is None else [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, n])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def init_bytes(model: onnx.ModelProto, name: str) -> str:
    t = next(t for t in model.graph.initializer if t.name == name)
    return numpy_helper.to_array(t).tobytes().hex()


def q4_case(name: str, w: np.ndarray) -> dict:
    q4 = dtypes.to_q4(matmul_model(w))
    q4f16 = dtypes.to_q4(dtypes.to_fp16(matmul_model(w), "g"))
    return {
        "name": name,
        "k": int(w.shape[0]),
        "n": int(w.shape[1]),
        "w": bits(w),
        "q4": {"data": init_bytes(q4, "w_Q4"), "scales": init_bytes(q4, "w_scales")},
        "q4f16": {"data": init_bytes(q4f16, "w_Q4"), "scales": init_bytes(q4f16, "w_scales")},
    }


def q8_case(name: str, w: np.ndarray, a: np.ndarray | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "m.onnx", Path(tmp) / "out" / "m.onnx"
        dst.parent.mkdir()
        onnx.save(matmul_model(w, a), str(src))
        dtypes.to_q8(src, dst)
        model = onnx.load(str(dst))
    constant = {}
    if a is not None:
        constant = {
            "a": bits(a),
            "a_rows": int(a.shape[0]),
            "a_quantized": init_bytes(model, "x_quantized"),
            "a_scale": init_bytes(model, "x_scale"),
            "a_zero_point": init_bytes(model, "x_zero_point"),
        }
    return constant | {
        "name": name,
        "k": int(w.shape[0]),
        "n": int(w.shape[1]),
        "w": bits(w),
        "quantized": init_bytes(model, "w_quantized"),
        "scale": init_bytes(model, "w_scale"),
        "zero_point": init_bytes(model, "w_zero_point"),
    }


def table_case(name: str, table: np.ndarray) -> dict:
    out = {"name": name, "rows": int(table.shape[0]), "dim": int(table.shape[1]), "values": bits(table)}
    for label, dtype in (("float32", TensorProto.FLOAT), ("float16", TensorProto.FLOAT16)):
        stored = table if dtype == TensorProto.FLOAT else convert_np_to_float16(table)
        graph = helper.make_graph(
            [helper.make_node("Gather", ["table", "ids"], ["y"], name="lookup", axis=0)],
            "g",
            [helper.make_tensor_value_info("ids", TensorProto.INT64, [3])],
            [helper.make_tensor_value_info("y", dtype, [3, table.shape[1]])],
            [numpy_helper.from_array(stored, "table")],
        )
        model = dtypes.quantize_embedding_tables(helper.make_model(graph))
        out[label] = {"values": init_bytes(model, "table_int8"), "scales": init_bytes(model, "table_int8_scale")}
    return out


def main() -> None:
    # q4 blocks: v + 8 lands on exact halves when the scale is 1 (m = -8)
    halves = np.array([-8, -7.5, -0.5, 0.5, 2.5, 7.5, -2.5, 1.5] * 4, np.float32)
    tie = np.array([1, -1, 0.3, -0.7, 0.5, -0.25, 0.125, 0.9] * 4, np.float32)  # |max| = |min|: min wins
    tie_pos = np.array([-2, 2, 1, -1.5, 0.75, 0.5, -0.25, 0] * 4, np.float32)
    zeros = np.zeros(32, np.float32)
    tiny = lcg_normal(32, 7) * np.float32(2e-5)  # float16-subnormal scales in q4f16
    q4_cases = [
        q4_case("ties, equal magnitudes, zeros, tiny", np.stack([halves, tie, tie_pos, zeros, tiny], axis=1)),
        q4_case("K = 45 (a short, odd last block)", lcg_normal(45 * 3, 11).reshape(45, 3)),
        q4_case("K = 64, N = 8, random", lcg_normal(64 * 8, 13).reshape(64, 8)),
        q4_case("K = 33", lcg_normal(33 * 2, 17).reshape(33, 2)),
    ]
    q8_cases = [
        q8_case("random", lcg_normal(40 * 6, 19).reshape(40, 6)),
        q8_case("halves at scale 1", np.array([[127, -127], [0.5, -0.5], [1.5, -2.5], [126.5, 3.5]], np.float32)),
        q8_case("all zero", np.zeros((4, 4), np.float32)),
        q8_case(
            "a constant first input", lcg_normal(8 * 2, 31).reshape(8, 2), lcg_normal(3 * 8, 37).reshape(3, 8) + 0.4
        ),
        # −lo / s lands on 2.5 and 7.5 in float64 (not with the float32 scale): the zero point
        # is rounded half to even from the float64 scale
        q8_case(
            "a constant, zero point 2.5", lcg_normal(8, 47).reshape(4, 2), np.array([[-1, 101, 0.3, 50]], np.float32)
        ),
        q8_case(
            "a constant, zero point 7.5", lcg_normal(8, 53).reshape(4, 2), np.array([[-3, 99, -2.9, 7]], np.float32)
        ),
        q8_case(
            "a constant first input, all positive",
            lcg_normal(8 * 2, 41).reshape(8, 2),
            np.abs(lcg_normal(2 * 8, 43)).reshape(2, 8),
        ),
    ]
    table_rows = np.stack(
        [
            np.array([127, -63.5, 0.5, -0.5, 1.5, 2.5, -126.5, 3.25], np.float32),
            np.zeros(8, np.float32),
            lcg_normal(8, 23),
            lcg_normal(8, 29) * np.float32(1e-6),
            np.array([-1, 1, 0.5, -0.5, 0.25, 1e-9, -3e-8, 7e4], np.float32),
        ]
    )
    specials = np.array(
        [0.0, -0.0, 1e-9, -1e-9, 2.0**-25, 2.0**-24, 3e-8, 5.96e-8, 6e-8, 65504, 65519, 65520, 1e5, -1e5, 1 / 3]
        + [1 + 2.0**-11, 1 + 3 * 2.0**-11, 2.0**-14 * (1 - 2.0**-11), 2.0**-24 * 1.5, 2.0**-24 * 2.5, np.inf, -np.inf],
        np.float32,
    )
    # NaN is left out: numpy converts it in hardware where it can, which quiets it, and weights
    # with NaN are refused before encoding anyway
    s, wide = 99, []
    for _ in range(4000):  # float32 bit patterns over the whole exponent range
        s = (s * 1103515245 + 12345) % (2**31)
        b = (s << 1) & 0xFFFFFFFF ^ (s >> 7)
        if (b >> 23) & 0xFF != 0xFF:
            wide.append(b)
    fp16_in = np.concatenate([specials, np.array(wide, np.uint32).view(np.float32)])
    with np.errstate(all="ignore"):
        fp16 = {
            "input": bits(fp16_in),
            "exporter": convert_np_to_float16(fp16_in).view(np.uint16).tolist(),
            "ieee": fp16_in.astype(np.float16).view(np.uint16).tolist(),
        }
    out = {
        "generated_by": "src/engine/convert/__fixtures__/make_quantize_fixtures.py",
        "q4": q4_cases,
        "q8": q8_cases,
        "int8_rows": [table_case("ties, zero row, random, tiny, out of range", table_rows)],
        "fp16": fp16,
    }
    (HERE / "quantize.json").write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
