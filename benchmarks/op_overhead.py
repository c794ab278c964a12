"""Per-op overhead on small tensors: disttorch vs PyTorch vs plain numpy, side by side in one run.

    python benchmarks/op_overhead.py [--repeat 7] [--number 20000] [--device cuda]

Each row is the best of ``repeat`` timings of ``number`` calls, in microseconds of CPU time per call (CPU time,
so that other processes on a shared machine disturb it less than wall time). Rows: single operators on one
element with and without autograd, a 64x64 matmul, relu and a small Linear with autograd, the fixed cost of
``(a + b).sum().backward()`` on one element, and one SGD-with-momentum step over a small model's parameters.
numpy has no autograd: its column shows the same arithmetic without graph (n/a where there is none).
With ``--device cuda`` the tensors are cuda tensors, the "numpy" column is cupy on the same arrays and PyTorch
runs on CUDA (when it has CUDA): the host-side cost of launching each op, not its GPU time (no synchronisation
per call).
"""
from __future__ import annotations

import argparse
import platform
import time
from typing import Any, Callable

import numpy as np

import disttorch

try:
    import torch
except ImportError:  # the numpy and disttorch columns still run
    torch = None


def namespace(lib: str, grad: bool, device: str = "cpu") -> dict[str, Any]:
    """The operands of the statements for one library (numpy: cupy on cuda)."""
    if lib == "numpy":
        xp = np
        if device == "cuda":
            import cupy as xp
        rng = np.random.RandomState(0)
        return {"a": xp.ones(1, np.float32), "b": xp.ones(1, np.float32), "m1": xp.ones((64, 64), np.float32),
                "m2": xp.ones((64, 64), np.float32),
                "h": xp.asarray(rng.standard_normal((16, 128)).astype(np.float32)),
                "w": xp.asarray(rng.standard_normal((128, 128)).astype(np.float32)),
                "bias": xp.zeros(128, np.float32), "np": xp}
    mod = disttorch if lib == "disttorch" else torch
    mod.manual_seed(0)
    d = dict(device=device)
    ns = {"a": mod.ones(1, requires_grad=grad, **d), "b": mod.ones(1, requires_grad=grad, **d),
          "m1": mod.ones(64, 64, requires_grad=grad, **d), "m2": mod.ones(64, 64, requires_grad=grad, **d),
          "h": mod.randn(16, 128, requires_grad=grad, **d),
          "lin": mod.nn.Linear(128, 128).to(device).requires_grad_(grad), "F": mod.nn.functional}
    if grad:
        model = mod.nn.Sequential(mod.nn.Linear(64, 32), mod.nn.ReLU(), mod.nn.Linear(32, 10)).to(device)
        for p in model.parameters():
            p.grad = mod.ones_like(p)
        ns["opt"] = mod.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return ns


# (name, disttorch/torch statement, numpy statement or None, with autograd only)
STATEMENTS = [
    ("a + b (1 elem)", "a + b", "a + b", False),
    ("a * b (1 elem)", "a * b", "a * b", False),
    ("a * 2.0 (1 elem)", "a * 2.0", "a * 2.0", False),
    ("matmul 64x64", "m1 @ m2", "m1 @ m2", False),
    ("relu 16x128", "F.relu(h)", "np.maximum(h, 0)", False),
    ("linear 16x128->128", "lin(h)", "h @ w.T + bias", False),
    ("(a+b).sum().backward()", "(a + b).sum().backward()", None, True),
    ("SGD step (3 layers)", "opt.step()", None, True),
]


def bench(ns: dict[str, Any], stmt: str, number: int, repeat: int) -> float:
    code = compile(stmt, "<bench>", "eval")
    fn: Callable[[], Any] = lambda: eval(code, ns)  # noqa: E731, S307  (our own statements)
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, time.process_time() - start)
    empty = compile("None", "<bench>", "eval")
    start = time.process_time()
    for _ in range(number):
        eval(empty, ns)  # noqa: S307  (the loop's own cost, subtracted)
    return max(best - (time.process_time() - start), 0.0) / number * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--number", type=int, default=20000)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args()
    global torch
    if args.device == "cuda" and torch is not None and not torch.cuda.is_available():
        torch = None  # no CUDA build: the torch column stays empty
    if torch is not None:
        torch.set_num_threads(1)
    disttorch.set_num_threads(1)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}, 1 BLAS thread, CPU time")
    header = (f"{'op':<26}{'grad':>6}{'numpy us':>10}{'torch us':>10}{'disttorch us':>14}"
              f"{'vs torch':>10}{'vs numpy':>10}")
    print(header)
    print("-" * len(header))
    for grad in (False, True):
        libs = ("numpy", "disttorch") + (("torch",) if torch else ())
        spaces = {lib: namespace(lib, grad, args.device) for lib in libs}
        for name, stmt, np_stmt, grad_only in STATEMENTS:
            if grad_only and not grad:
                continue
            n = max(args.number // 10, 1) if grad_only or "linear" in name or "matmul" in name else args.number
            t_np = bench(spaces["numpy"], np_stmt, n, args.repeat) if np_stmt else float("nan")
            t_dt = bench(spaces["disttorch"], stmt, n, args.repeat)
            t_pt = bench(spaces["torch"], stmt, n, args.repeat) if torch else float("nan")
            np_col = f"{t_np:>10.2f}" if np_stmt else f"{'n/a':>10}"
            ratio_np = f"{t_dt / t_np:>10.2f}" if np_stmt and t_np > 0 else f"{'':>10}"
            print(f"{name:<26}{str(grad):>6}{np_col}{t_pt:>10.2f}{t_dt:>14.2f}{t_dt / t_pt:>10.2f}{ratio_np}")


if __name__ == "__main__":
    main()
