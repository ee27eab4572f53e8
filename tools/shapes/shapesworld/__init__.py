"""The shapes world, and the small EditMGT trained on it.

The exporter's package (``editmgt_export``: the transformer definition, checkpoint loader and
converter) is installed beside this one in the venv (pyproject.toml at the repository root).
"""
