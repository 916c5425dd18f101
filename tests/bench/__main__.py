"""`make bench`: runs every benchmark module in this folder, one process each, and prints their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    selected = set(sys.argv[1:])
    failures = 0
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = path.stem
        if selected and name not in selected and name.removeprefix("bench_") not in selected:
            continue
        print(f"\n=== {name} ===", flush=True)
        result = subprocess.run([sys.executable, "-m", f"tests.bench.{name}"], check=False)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
