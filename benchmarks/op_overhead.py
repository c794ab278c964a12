"""Per-op overhead on small tensors: disttorch vs PyTorch vs plain numpy, side by side in one run.

    python benchmarks/op_overhead.py [--repeat 5] [--number 20000]

Each row is the best of ``repeat`` timings of ``number`` calls, in microseconds per call.
"""
from __future__ import annotations

import argparse
import platform
import timeit

import numpy as np

import disttorch

try:
    import torch
except ImportError:  # the numpy and disttorch columns still run
    torch = None


def cases(lib, grad: bool):
    """(name, setup namespace, statement) for one library."""
    if lib == "numpy":
        a1, b1 = np.ones(1, np.float32), np.ones(1, np.float32)
        m1, m2 = np.ones((64, 64), np.float32), np.ones((64, 64), np.float32)
        return {"a": a1, "b": b1, "m1": m1, "m2": m2}
    mod = disttorch if lib == "disttorch" else torch
    a = mod.ones(1, requires_grad=grad)
    b = mod.ones(1, requires_grad=grad)
    m1 = mod.ones(64, 64, requires_grad=grad)
    m2 = mod.ones(64, 64, requires_grad=grad)
    return {"a": a, "b": b, "m1": m1, "m2": m2}


STATEMENTS = [
    ("a + b (1 elem)", "a + b"),
    ("a * b (1 elem)", "a * b"),
    ("a * 2.0 (1 elem)", "a * 2.0"),
    ("matmul 64x64", "m1 @ m2"),
]


def bench(ns: dict, stmt: str, number: int, repeat: int) -> float:
    timer = timeit.Timer(stmt, globals=ns)
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--number", type=int, default=20000)
    args = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(1)
    disttorch.set_num_threads(1)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}, 1 BLAS thread")
    header = (f"{'op':<22}{'grad':>6}{'numpy us':>10}{'torch us':>10}{'disttorch us':>14}"
              f"{'vs torch':>10}{'vs numpy':>10}")
    print(header)
    print("-" * len(header))
    for grad in (False, True):
        spaces = {lib: cases(lib, grad) for lib in ("numpy", "disttorch") + (("torch",) if torch else ())}
        for name, stmt in STATEMENTS:
            t_np = bench(spaces["numpy"], stmt, args.number, args.repeat)
            t_dt = bench(spaces["disttorch"], stmt, args.number, args.repeat)
            t_pt = bench(spaces["torch"], stmt, args.number, args.repeat) if torch else float("nan")
            print(f"{name:<22}{str(grad):>6}{t_np:>10.2f}{t_pt:>10.2f}{t_dt:>14.2f}{t_dt / t_pt:>10.2f}"
                  f"{t_dt / t_np:>10.2f}")


if __name__ == "__main__":
    main()
