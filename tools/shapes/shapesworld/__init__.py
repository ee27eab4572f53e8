"""The shapes world, and the small EditMGT trained on it.

The exporter's package (``tools/export/editmgt_export``: the transformer definition, checkpoint
loader and converter) is imported from its folder, set up once here for every module.
"""
import sys
from pathlib import Path

_EXPORT = str(Path(__file__).resolve().parents[2] / "export")
if _EXPORT not in sys.path:
    sys.path.insert(0, _EXPORT)
