"""Per-op overhead on small tensors: disttorch vs PyTorch vs plain numpy, side by side in one run.

    python benchmarks/op_overhead.py [--repeat 5] [--number 20000] [--device cuda]

Each row is the best of ``repeat`` timings of ``number`` calls, in microseconds per call. With ``--device cuda``
the tensors are cuda tensors, the "numpy" column is cupy on the same arrays and PyTorch runs on CUDA (when it
has CUDA): the host-side cost of launching each op, not its GPU time (no synchronisation per call).
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


def cases(lib, grad: bool, device: str = "cpu"):
    """(name, setup namespace, statement) for one library."""
    if lib == "numpy":
        xp = np
        if device == "cuda":
            import cupy as xp
        a1, b1 = xp.ones(1, np.float32), xp.ones(1, np.float32)
        m1, m2 = xp.ones((64, 64), np.float32), xp.ones((64, 64), np.float32)
        return {"a": a1, "b": b1, "m1": m1, "m2": m2}
    mod = disttorch if lib == "disttorch" else torch
    a = mod.ones(1, requires_grad=grad, device=device)
    b = mod.ones(1, requires_grad=grad, device=device)
    m1 = mod.ones(64, 64, requires_grad=grad, device=device)
    m2 = mod.ones(64, 64, requires_grad=grad, device=device)
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
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = ap.parse_args()
    global torch
    if args.device == "cuda" and torch is not None and not torch.cuda.is_available():
        torch = None  # a CPU-only PyTorch: no column to compare with
    if torch is not None:
        torch.set_num_threads(1)
    disttorch.set_num_threads(1)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}, 1 BLAS thread, "
          f"device {args.device}")
    header = (f"{'op':<22}{'grad':>6}{'numpy us':>10}{'torch us':>10}{'disttorch us':>14}"
              f"{'vs torch':>10}{'vs numpy':>10}")
    print(header)
    print("-" * len(header))
    for grad in (False, True):
        spaces = {lib: cases(lib, grad, args.device) for lib in ("numpy", "disttorch") + (("torch",) if torch else ())}
        for name, stmt in STATEMENTS:
            t_np = bench(spaces["numpy"], stmt, args.number, args.repeat)
            t_dt = bench(spaces["disttorch"], stmt, args.number, args.repeat)
            t_pt = bench(spaces["torch"], stmt, args.number, args.repeat) if torch else float("nan")
            print(f"{name:<22}{str(grad):>6}{t_np:>10.2f}{t_pt:>10.2f}{t_dt:>14.2f}{t_dt / t_pt:>10.2f}"
                  f"{t_dt / t_np:>10.2f}")


if __name__ == "__main__":
    main()
