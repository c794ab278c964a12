"""Each compiled (numba) kernel's caller on the train_step.py shapes: its numpy code, then with the kernels, in
one process (median CPU ms of 9 blocks). The gains are what ``disttorch[fast]`` buys on this machine.

    python benchmarks/compiled_kernels.py            # one BLAS thread, as train_step.py
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

import numpy as np
from disttorch.backends import numba_kernels
from disttorch.backends import numpy_backend as backend
from disttorch.backends.numpy_backend import compiled_kernels_as

import disttorch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import machine_description  # noqa: E402 (benchmarks/ is not a package)

F = disttorch.nn.functional


def timed(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(9):
        t = time.process_time()
        for _ in range(reps):
            fn()
        times.append((time.process_time() - t) / reps * 1e3)
    return statistics.median(times)


def numpy_then_compiled(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    out = []
    for kernels in ({}, numba_kernels.KERNELS):
        with compiled_kernels_as(backend, kernels):
            fn()  # warm: first calls compile or load the kernels
            out.append(timed(fn, reps))
    return out[0], out[1]


def _leaf(r: np.random.RandomState, *shape: int, scale: float = 1.0) -> disttorch.Tensor:
    return disttorch.tensor((r.randn(*shape) * scale).astype(np.float32), requires_grad=True)


def _fwd_bwd(make: Callable[[], disttorch.Tensor], leaves: list, grad: disttorch.Tensor) -> Callable[[], None]:
    def run() -> None:
        for t in leaves:
            t.grad = None
        make().backward(grad)
    return run


def _optimizer_step(r: np.random.RandomState, name: str, shapes: list, **kw: object) -> Callable[[], object]:
    ps = [disttorch.nn.Parameter(disttorch.tensor(r.randn(*s).astype(np.float32))) for s in shapes]
    for p in ps:
        p.grad = disttorch.tensor(r.randn(*p.shape).astype(np.float32))
    opt = getattr(disttorch.optim, name)(ps, **kw)
    opt.step()  # the first step makes the state
    return opt.step


def cases() -> list[tuple[str, Callable[[], object], int]]:
    r = np.random.RandomState(0)
    out = []
    for shape, model in (((64, 32, 28, 28), "cnn"), ((64, 64, 14, 14), "cnn"), ((64, 6, 24, 24), "lenet")):
        x = _leaf(r, *shape)
        g = disttorch.tensor(r.randn(*shape[:2], shape[2] // 2, shape[3] // 2).astype(np.float32))
        dims = "x".join(map(str, shape))
        out.append((f"max_pool2d 2x2 forward + backward, {dims} ({model})",
                    _fwd_bwd(lambda x=x: F.max_pool2d(x, 2), [x], g), 10))
        out.append((f"relu forward + backward, {dims} ({model})",
                    _fwd_bwd(lambda x=x: F.relu(x), [x], disttorch.tensor(r.randn(*shape).astype(np.float32))), 10))
    x, w = _leaf(r, 64, 32, 14, 14), _leaf(r, 64, 32, 3, 3, scale=0.1)
    out.append(("conv2d 32->64 3x3 pad 1, 14x14, batch 64: forward + backward (cnn)",
                _fwd_bwd(lambda x=x, w=w: F.conv2d(x, w, padding=1), [x, w],
                         disttorch.tensor(r.randn(64, 64, 14, 14).astype(np.float32))), 3))
    x, lw, lb = _leaf(r, 16, 64, 128), _leaf(r, 128), _leaf(r, 128)
    out.append(("layer_norm forward + backward, 1024 x 128 (gpt)",
                _fwd_bwd(lambda x=x: F.layer_norm(x, (128,), lw, lb), [x, lw, lb],
                         disttorch.tensor(r.randn(16, 64, 128).astype(np.float32))), 20))
    s = _leaf(r, 16, 4, 64, 64)
    out.append(("softmax(-1) forward + backward, 16x4x64x64 (gpt)",
                _fwd_bwd(lambda: s.softmax(-1), [s], disttorch.tensor(r.randn(16, 4, 64, 64).astype(np.float32))),
                20))
    q, k, v = (_leaf(r, 32, 4, 64, 32) for _ in range(3))
    out.append(("scaled_dot_product_attention forward + backward, 32x4x64x32 (transformer)",
                _fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v), [q, k, v],
                         disttorch.tensor(r.randn(32, 4, 64, 32).astype(np.float32))), 10))
    lstm = disttorch.nn.LSTM(64, 256, batch_first=True)
    xs = _leaf(r, 32, 32, 64)
    out.append(("LSTM(64, 256) forward + backward, 32 steps of batch 32 (lstm)",
                _fwd_bwd(lambda: lstm(xs)[0], [xs, *lstm.parameters()],
                         disttorch.tensor(r.randn(32, 32, 256).astype(np.float32))), 2))
    mlp = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]
    out.append(("SGD momentum step, 784-512-512-10 parameters (mlp)",
                _optimizer_step(r, "SGD", mlp, lr=0.01, momentum=0.9), 20))
    block = [(384, 128), (384,), (128, 128), (128,), (512, 128), (512,), (128, 512), (128,), (128,), (128,)]
    out.append(("AdamW step, 2 transformer layers' parameters (transformer)",
                _optimizer_step(r, "AdamW", block * 2, lr=1e-3, weight_decay=0.1), 20))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    disttorch.set_num_threads(args.threads)
    print(f"# {machine_description(args.threads)}; median CPU ms of 9 blocks")
    print("| what | numpy ms | numba ms | gain ms |\n| --- | ---: | ---: | ---: |")
    for name, fn, reps in cases():
        a, b = numpy_then_compiled(fn, reps)
        print(f"| {name} | {a:.3f} | {b:.3f} | {a - b:.3f} |", flush=True)


if __name__ == "__main__":
    main()
