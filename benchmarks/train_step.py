"""Full training steps (zero_grad, forward, loss, backward, optimizer.step): disttorch vs PyTorch (and, for
the MLP, a hand-written numpy implementation), side by side in one process with the same initial weights.

    python benchmarks/train_step.py                      # every case, timing + peak memory
    python benchmarks/train_step.py --case mlp --quick   # one case, few steps (CI smoke run)
    python benchmarks/train_step.py --threads 2 --no-memory
    python benchmarks/train_step.py --device cuda        # disttorch on cupy vs PyTorch CUDA (no numpy column)

Cases:
  mlp          784-512-512-10 ReLU MLP, batch 128, cross-entropy, SGD with momentum
  cnn          LeNet-style CNN on 1x28x28, batch 64, cross-entropy, SGD with momentum
  transformer  2-layer TransformerEncoder (d_model 128, 4 heads, ff 512, batch_first), seq 64, batch 32,
               mean-pooled linear head, cross-entropy, Adam
  gpt          one GPT block: token embedding (256) + pre-norm causal self-attention layer (d_model 128,
               4 heads, GELU ff 512) + LM head, next-token cross-entropy on seq 64, batch 16, AdamW

On cuda every step ends with a device synchronisation, so a step's time is its GPU time too.

Timing: after warm-up, the libraries take turns in rounds (so background load hits them alike) and every
step is timed on its own; the table shows the best and the median step. Memory: each library's case runs
in a fresh subprocess that imports only that library (the numpy case imports disttorch too, for its thread
and allocator settings); the peak resident set size is reset after imports (Linux /proc/self/clear_refs;
elsewhere the growth over the peak after imports is reported) and its growth over the rest of the run
(model, optimizer state, data, steps) is reported.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

CASES = ("mlp", "cnn", "transformer", "gpt")
LIBS = {"mlp": ("numpy", "disttorch", "torch"), "cnn": ("disttorch", "torch"), "transformer": ("disttorch", "torch"),
        "gpt": ("disttorch", "torch")}
SEED = 0
VOCAB, GPT_SEQ = 256, 64


# -- models, built the same way for disttorch and PyTorch ---------------------------------------------------------
def build_model(mod: Any, case: str, dropout: float) -> Any:
    nn = mod.nn
    if case == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    if case == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    if case == "gpt":
        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(VOCAB, 128)
                self.layer = nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=dropout,
                                                        activation="gelu", batch_first=True, norm_first=True)
                self.head = nn.Linear(128, VOCAB)

            def forward(self, tokens: Any) -> Any:
                t = tokens.shape[1]
                causal = mod.triu(mod.full((t, t), float("-inf"), device=tokens.device), diagonal=1)
                return self.head(self.layer(self.embed(tokens), src_mask=causal, is_causal=True))

        return Block()

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer = nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=dropout, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(128, 10)

        def forward(self, x: Any) -> Any:
            return self.head(self.encoder(x).mean(1))

    return Classifier()


def make_data(case: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    if case == "gpt":
        tokens = rng.integers(0, VOCAB, size=(16, GPT_SEQ + 1)).astype(np.int64)
        return tokens[:, :-1].copy(), tokens[:, 1:].copy()
    shape = {"mlp": (128, 784), "cnn": (64, 1, 28, 28), "transformer": (32, 64, 128)}[case]
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, 10, size=shape[0]).astype(np.int64)
    return x, y


def make_optimizer(mod: Any, case: str, params: Any) -> Any:
    if case == "transformer":
        return mod.optim.Adam(params, lr=1e-3)
    if case == "gpt":
        return mod.optim.AdamW(params, lr=1e-3)
    return mod.optim.SGD(params, lr=0.01, momentum=0.9)


def initial_state(case: str, dropout: float) -> dict[str, np.ndarray]:
    """PyTorch's default initialisation under a fixed seed, as numpy arrays (copied into every library)."""
    import torch

    torch.manual_seed(SEED)
    return {k: v.detach().numpy().copy() for k, v in build_model(torch, case, dropout).state_dict().items()}


class TorchLike:
    """One training step of a PyTorch-API library (disttorch or PyTorch)."""

    def __init__(self, mod: Any, case: str, state: dict[str, np.ndarray] | None, dropout: float,
                 device: str = "cpu") -> None:
        self.mod, self.device, self.case = mod, device, case
        if state is None:
            mod.manual_seed(SEED)
        self.model = build_model(mod, case, dropout)
        if state is not None:
            self.model.load_state_dict({k: mod.tensor(v) for k, v in state.items()})
        self.model.to(device).train()
        x, y = make_data(case)
        self.x, self.y = mod.from_numpy(x).to(device), mod.from_numpy(y).to(device)
        self.opt = make_optimizer(mod, case, self.model.parameters())
        self.loss_fn = mod.nn.CrossEntropyLoss()
        self.loss = float("nan")

    def step(self) -> None:
        self.opt.zero_grad()
        out = self.model(self.x)
        if self.case == "gpt":
            out = out.reshape(-1, VOCAB)
        loss = self.loss_fn(out, self.y.reshape(-1))
        loss.backward()
        self.opt.step()
        self.loss = loss.detach()
        if self.device != "cpu":
            self.mod.cuda.synchronize()  # the step's time includes its GPU work

    def last_loss(self) -> float:
        return float(self.loss)


class NumpyMLP:
    """The MLP by hand in float32 numpy: forward, manual backward, SGD with momentum (PyTorch's rule:
    buf = momentum * buf + grad, p -= lr * buf; the first step sets buf = grad)."""

    def __init__(self, case: str, state: dict[str, np.ndarray] | None, dropout: float) -> None:
        if state is None:
            rng = np.random.default_rng(SEED)
            state = {}
            for i, (fin, fout) in enumerate(((784, 512), (512, 512), (512, 10))):
                bound = 1 / np.sqrt(fin)
                state[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (fout, fin)).astype(np.float32)
                state[f"{2 * i}.bias"] = rng.uniform(-bound, bound, fout).astype(np.float32)
        keys = ("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias")
        self.params = [np.array(state[k], dtype=np.float32) for k in keys]
        self.grads = [np.empty_like(p) for p in self.params]
        self.bufs = [np.zeros_like(p) for p in self.params]
        self.first = True
        self.lr, self.momentum = np.float32(0.01), np.float32(0.9)
        self.x, self.y = make_data(case)
        self.rows = np.arange(self.x.shape[0])
        self.loss = float("nan")

    def step(self) -> None:
        w1, b1, w2, b2, w3, b3 = self.params
        gw1, gb1, gw2, gb2, gw3, gb3 = self.grads
        x, y, n = self.x, self.y, self.x.shape[0]
        # forward
        h1 = x @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        # cross-entropy (mean) and its gradient: (softmax - onehot) / n
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        self.loss = float(np.log(s).mean() - z[self.rows, y].mean())
        e /= s
        e[self.rows, y] -= 1
        e *= np.float32(1 / n)
        # backward
        np.matmul(e.T, h2, out=gw3)
        e.sum(0, out=gb3)
        d2 = e @ w3
        d2 *= h2 > 0
        np.matmul(d2.T, h1, out=gw2)
        d2.sum(0, out=gb2)
        d1 = d2 @ w2
        d1 *= h1 > 0
        np.matmul(d1.T, x, out=gw1)
        d1.sum(0, out=gb1)
        # SGD with momentum
        for p, g, buf in zip(self.params, self.grads, self.bufs):
            if self.first:
                buf[...] = g
            else:
                buf *= self.momentum
                buf += g
            p -= self.lr * buf
        self.first = False

    def last_loss(self) -> float:
        return self.loss


def make_runner(lib: str, case: str, state: dict[str, np.ndarray] | None, dropout: float,
                device: str = "cpu") -> Any:
    if lib == "numpy":
        return NumpyMLP(case, state, dropout)
    if lib == "torch":
        import torch

        return TorchLike(torch, case, state, dropout, device)
    import disttorch

    return TorchLike(disttorch, case, state, dropout, device)


def set_threads(libs: tuple[str, ...], n: int) -> None:
    if "torch" in libs:
        import torch

        torch.set_num_threads(n)
    import disttorch  # its BLAS is numpy's: this limits the numpy column too

    disttorch.set_num_threads(n)


# -- timing ------------------------------------------------------------------------------------------------------
def time_case(case: str, libs: tuple[str, ...], warmup: int, rounds: int, per_round: int,
              dropout: float, device: str = "cpu", first: dict[str, float] | None = None) -> dict[str, list[float]]:
    """Step times per library; ``first`` (when given) receives each library's first-step loss."""
    state = initial_state(case, dropout)
    runners = {lib: make_runner(lib, case, state, dropout, device) for lib in libs}
    for r in runners.values():
        r.step()  # the first step runs from the same weights in every library
    first = {} if first is None else first
    first.update({lib: r.last_loss() for lib, r in runners.items()})
    for r in runners.values():
        for _ in range(warmup):
            r.step()
    times: dict[str, list[float]] = {lib: [] for lib in libs}
    clock = time.perf_counter
    for _ in range(rounds):
        for lib, r in runners.items():
            for _ in range(per_round):
                t0 = clock()
                r.step()
                times[lib].append(clock() - t0)
    spread = max(first.values()) - min(first.values())
    if spread > 1e-3 * max(1.0, abs(first[libs[0]])):
        print(f"  warning: first-step losses differ: {first}", file=sys.stderr)
    return times


# -- memory ------------------------------------------------------------------------------------------------------
def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> int:
    """VmRSS / VmHWM (current / peak resident set) of this process in KiB. ru_maxrss is the fallback; it is
    not used where /proc exists because it also counts the parent's resident set at fork time."""
    try:
        with open("/proc/self/status") as f:
            return int(re.search(field + r":\s+(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _warm_library(lib: str, case: str) -> None:
    """A tiny step of the same kind first, so that lazy imports and one-off library set-up (PyTorch loads
    much of torch._dynamo when the first optimizer is built) are not counted as the training step's memory."""
    if lib == "numpy":
        return
    mod = __import__(lib)
    nn = mod.nn
    if case == "transformer":
        model = nn.Sequential(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), nn.Flatten(),
                              nn.Linear(24, 2))
        x = mod.randn(2, 3, 8)
    elif case == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2))
        x = mod.randn(2, 1, 4, 4)
    else:
        model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        x = mod.randn(2, 4)
    opt = make_optimizer(mod, case, model.parameters())
    opt.zero_grad()
    nn.CrossEntropyLoss()(model(x), mod.tensor([0, 1])).backward()
    opt.step()


def memory_child(case: str, lib: str, steps: int, threads: int, dropout: float) -> None:
    """Run in a fresh process: peak RSS growth (KiB) of building and training, printed as JSON."""
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import disttorch

        disttorch.set_num_threads(threads)
    _warm_library(lib, case)
    base = _status_kb("VmRSS") if _reset_peak() else _status_kb("VmHWM")
    runner = make_runner(lib, case, None, dropout)
    for _ in range(steps):
        runner.step()
    peak = _status_kb("VmHWM")
    print(json.dumps({"growth_kb": peak - base}))


def measure_memory(case: str, lib: str, steps: int, threads: int, dropout: float) -> float:
    cmd = [sys.executable, os.path.abspath(__file__), "--_memory-child", case, lib, "--steps", str(steps),
           "--threads", str(threads), "--dropout", str(dropout)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["growth_kb"] / 1024


# -- report ------------------------------------------------------------------------------------------------------
def machine_description(threads: int) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
        if m:
            cpu = m.group(1).strip()
    except OSError:
        pass
    try:
        import torch

        tv = torch.__version__
    except ImportError:
        tv = "absent"
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; python "
            f"{platform.python_version()}, numpy {np.__version__}, torch {tv}; {threads} thread(s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=CASES + ("all",), default="all")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="few steps, for smoke runs")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of steps per library (default 10)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per round (default 5)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up steps (default 3)")
    ap.add_argument("--dropout", type=float, default=0.0, help="transformer dropout (default 0)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--libs", default=None, help="comma-separated subset of numpy,disttorch,torch")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: disttorch on cupy and PyTorch CUDA, no numpy column and no memory subprocesses")
    ap.add_argument("--_memory-child", nargs=2, metavar=("CASE", "LIB"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._memory_child:
        case, lib = args._memory_child
        memory_child(case, lib, args.steps or 3, args.threads, args.dropout)
        return

    rounds = args.rounds or (2 if args.quick else 10)
    per_round = args.steps or (2 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    cases = CASES if args.case == "all" else (args.case,)
    print(f"machine: {machine_description(args.threads)}")
    print(f"{rounds} rounds x {per_round} timed steps per library after {warmup} warm-up steps; ms per step")
    header = (f"{'case':<12}{'library':<10}{'best':>9}{'median':>9}{'vs torch':>10}{'vs numpy':>10}"
              f"{'peak MiB':>10}{'mem vs torch':>14}")
    print(header)
    print("-" * len(header))
    for case in cases:
        libs = LIBS[case]
        if args.device == "cuda":
            libs = tuple(lib for lib in libs if lib != "numpy")
        if args.libs:
            wanted = args.libs.split(",")
            libs = tuple(lib for lib in libs if lib in wanted)
        set_threads(libs, args.threads)
        times = time_case(case, libs, warmup, rounds, per_round, args.dropout, args.device)
        med = {lib: statistics.median(t) * 1e3 for lib, t in times.items()}
        mem: dict[str, float] = {}
        if not args.no_memory and args.device == "cpu":
            for lib in libs:
                mem[lib] = measure_memory(case, lib, 2 if args.quick else 3, args.threads, args.dropout)
        for lib in libs:
            vs_t = f"{med[lib] / med['torch']:.2f}x" if "torch" in med else "-"
            vs_n = f"{med[lib] / med['numpy']:.2f}x" if "numpy" in med else "-"
            m = f"{mem[lib]:.1f}" if lib in mem else "-"
            mt = f"{mem[lib] / mem['torch']:.2f}x" if lib in mem and mem.get("torch") else "-"
            print(f"{case:<12}{lib:<10}{min(times[lib]) * 1e3:>9.2f}{med[lib]:>9.2f}{vs_t:>10}{vs_n:>10}"
                  f"{m:>10}{mt:>14}", flush=True)


if __name__ == "__main__":
    main()
