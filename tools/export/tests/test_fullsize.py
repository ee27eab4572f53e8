"""The real architecture with random weights converts (fp16, q4), loads in onnxruntime (Python and
node) and runs one 1024 px transformer_step on the CPU. Slow (about an hour on 2 cores) and
memory-hungry: only with EDITMGT_FULLSIZE=1. Numbers land in tools/export/.cache/fullsize/report.json."""

import os

import pytest
from export_helpers import ROOT

pytestmark = pytest.mark.skipif(os.environ.get("EDITMGT_FULLSIZE") != "1", reason="slow: set EDITMGT_FULLSIZE=1")

Q4_STEP_LIMIT = 700_000_000


def test_fullsize_random_converts_loads_and_steps():
    from editmgt_export.fullsize import run_fullsize

    report = run_fullsize(ROOT / ".cache" / "fullsize", ["fp16", "q4"])
    assert report["readback_bytes_per_step"] == 3 * 4096 * 4 + 1024 * 4 == 53_248
    assert report["sizes"]["q4"]["graphs"]["transformer_step"] < Q4_STEP_LIMIT
    assert report["unquantised_matmuls"]["q4"] == 0
    for dtype in ("fp16", "q4"):
        py, node = report["steps"][dtype]["python"], report["steps"][dtype]["node"]
        assert py["finite"] and py["drawn_in_range"] and py["readback_bytes"] == 53_248, (dtype, py)
        assert "error" not in node and node["finite"] and node["drawn_in_range"], (dtype, node)
        assert node["readback_bytes"] == 53_248
