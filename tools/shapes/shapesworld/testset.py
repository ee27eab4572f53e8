"""Write the small fixed evaluation set committed for CI: the first 14 test-split pairs (2 per kind).

tools/export/.venv/bin/python -m shapesworld.testset      (from tools/shapes; writes testset/)
"""

from __future__ import annotations

from pathlib import Path

from .splits import write_split

TESTSET = Path(__file__).resolve().parents[1] / "testset"
COUNT = 14


def main() -> None:
    print(write_split(TESTSET, "test", COUNT))


if __name__ == "__main__":
    main()
