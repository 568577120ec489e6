"""Benchmark the shipped classifier beside alt-profanity-check (same as `moderation bench-model`).

Usage: .venv/bin/python scripts/bench_model.py [--n 50000] [--batch-size 1024] [--data-dir DIR]
Pin it to one core for the "one core" figures: taskset -c 0 .venv/bin/python scripts/bench_model.py
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# One BLAS/OpenMP thread: the target is per core, and the workers run one process per core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main() -> None:
    from classifiers.bench import run_benchmark
    from classifiers.persist import DEFAULT_MODEL_PATH

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args()
    print(run_benchmark(args.n, args.batch_size, args.data_dir, args.model))


if __name__ == "__main__":
    main()
