"""Full training steps (zero_grad, forward, loss, backward, optimizer.step): disttorch vs PyTorch vs a
hand-written float32 numpy step (benchmarks/numpy_steps/<case>.py), side by side in one process with the same
initial weights and data.

    python benchmarks/train_step.py                      # every case, timing + peak memory
    python benchmarks/train_step.py --case mlp --quick   # one case, few steps (CI smoke run)
    python benchmarks/train_step.py --threads 2 --no-memory --json out.json

Cases (benchmarks/README.md has the details): mlp, mlp_small, cnn, lenet, transformer, gpt, lstm.

Timing: after warm-up, the libraries take turns in rounds, in a rotating order, so background load hits them
alike. In each round every library runs the same number of steps as one block, timed with both process CPU
time (time.process_time) and wall time (time.perf_counter). Each round gives the ratios disttorch/PyTorch and
disttorch/numpy; the report shows their min, median and max over the rounds, and the summary judges the
targets of issue 13 on the median CPU-time ratio. Memory: each library's case runs in a fresh subprocess that
imports only that library (the numpy step imports disttorch too, for its thread and allocator settings); the
peak resident set size is reset after imports (Linux /proc/self/clear_refs; elsewhere the growth over the
peak after imports is reported) and its growth over the rest of the run (model, optimizer state, data, steps)
is reported, the median over --memory-repeats processes.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # for numpy_steps

CASES = ("mlp", "mlp_small", "cnn", "lenet", "transformer", "gpt", "lstm")
ALL_LIBS = ("numpy", "disttorch", "torch")
SEED = 0
# issue 13's targets: disttorch / PyTorch per case, disttorch / numpy for every case, peak memory vs PyTorch
TORCH_TARGET = {"mlp": 1.0, "mlp_small": 1.0, "cnn": 1.25, "lenet": 1.0, "transformer": 1.05, "gpt": 1.3,
                "lstm": 1.2}
NUMPY_TARGET = 1.10
MEMORY_TARGET = {"cnn": 1.1}
GPT_VOCAB, GPT_SEQ = 65, 64


# -- models, built the same way for disttorch and PyTorch ---------------------------------------------------------
def gpt_model(mod: Any, vocab: int, d: int, heads: int, seq: int) -> Any:
    """One GPT block: embeddings, pre-norm causal self-attention and GELU MLP, final norm, linear head."""
    nn = mod.nn

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.register_buffer("mask", mod.tril(mod.ones(seq, seq)), persistent=False)

        def forward(self, x: Any) -> Any:
            b, t, c = x.shape
            q, k, v = self.qkv(x).split(c, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (c // heads) ** -0.5
            att = att.masked_fill(self.mask[:t, :t] == 0, float("-inf")).softmax(-1)
            return self.proj((att @ v).transpose(1, 2).contiguous().view(b, t, c))

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(d, 4 * d)
            self.act = nn.GELU()
            self.proj = nn.Linear(4 * d, d)

        def forward(self, x: Any) -> Any:
            return self.proj(self.act(self.fc(x)))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(seq, d)
            self.ln1 = nn.LayerNorm(d)
            self.attn = Attention()
            self.ln2 = nn.LayerNorm(d)
            self.mlp = MLP()
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx: Any) -> Any:
            x = self.tok(idx) + self.pos(mod.arange(idx.shape[1]))
            x = x + self.attn(self.ln1(x))
            x = x + self.mlp(self.ln2(x))
            return self.head(self.ln_f(x))

    return GPT()


def lstm_model(mod: Any, n_in: int, hidden: int, classes: int) -> Any:
    nn = mod.nn

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(n_in, hidden, num_layers=1, batch_first=True)
            self.fc = nn.Linear(hidden, classes)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    return LSTMClassifier()


def transformer_model(mod: Any, d: int, heads: int, ff: int, layers: int, dropout: float) -> Any:
    nn = mod.nn

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=ff, dropout=dropout, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d, 10)

        def forward(self, x: Any) -> Any:
            return self.head(self.encoder(x).mean(1))

    return Classifier()


def mlp_model(mod: Any, sizes: tuple[int, ...]) -> Any:
    nn = mod.nn
    layers: list[Any] = []
    for fin, fout in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fin, fout), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def build_model(mod: Any, case: str, dropout: float) -> Any:
    nn = mod.nn
    if case == "mlp":
        return mlp_model(mod, (784, 512, 512, 10))
    if case == "mlp_small":
        return mlp_model(mod, (784, 128, 128, 10))
    if case == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    if case == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    if case == "transformer":
        return transformer_model(mod, 128, 4, 512, 2, dropout)
    if case == "gpt":
        return gpt_model(mod, GPT_VOCAB, 128, 4, GPT_SEQ)
    if case == "lstm":
        return lstm_model(mod, 64, 256, 10)
    raise ValueError(case)


def make_data(case: str) -> tuple[np.ndarray, np.ndarray]:
    """The case's fixed batch, from numpy RandomState(0): float32 inputs (int64 tokens for gpt), int64 labels."""
    rs = np.random.RandomState(SEED)
    if case == "gpt":
        x = rs.randint(0, GPT_VOCAB, (16, GPT_SEQ)).astype(np.int64)
        return x, rs.randint(0, GPT_VOCAB, (16, GPT_SEQ)).astype(np.int64)
    shape = {"mlp": (128, 784), "mlp_small": (16, 784), "cnn": (64, 1, 28, 28), "lenet": (64, 1, 28, 28),
             "transformer": (32, 64, 128), "lstm": (32, 32, 64)}[case]
    x = rs.standard_normal(shape).astype(np.float32)
    return x, rs.randint(0, 10, shape[0]).astype(np.int64)


def make_optimizer(mod: Any, case: str, params: Any) -> Any:
    if case == "transformer":
        return mod.optim.Adam(params, lr=1e-3)
    if case == "gpt":
        return mod.optim.AdamW(params, lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
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
        self.mod, self.device = mod, device
        if state is None:
            mod.manual_seed(SEED)
        self.model = build_model(mod, case, dropout)
        if state is not None:
            self.model.load_state_dict({k: mod.tensor(v) for k, v in state.items()})
        self.model.to(device).train()
        x, y = make_data(case)
        self.x, self.y = mod.from_numpy(x).to(device), mod.from_numpy(y.reshape(-1)).to(device)  # gpt: per token
        self.opt = make_optimizer(mod, case, self.model.parameters())
        self.loss_fn = mod.nn.CrossEntropyLoss()
        self.per_token = case == "gpt"

    def step(self) -> float:
        self.opt.zero_grad()
        out = self.model(self.x)
        if self.per_token:
            out = out.view(-1, out.shape[-1])
        loss = self.loss_fn(out, self.y)
        loss.backward()
        self.opt.step()
        if self.device != "cpu":
            self.mod.cuda.synchronize()  # the step's time includes its GPU work
        return loss.detach()

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()}


class NumpyStep:
    """The case's hand-written numpy step (benchmarks/numpy_steps/<case>.py)."""

    def __init__(self, case: str, state: dict[str, np.ndarray]) -> None:
        x, y = make_data(case)
        self.impl = importlib.import_module(f"numpy_steps.{case}").Step(state, x, y)

    def step(self) -> float:
        return self.impl.step()

    def state(self) -> dict[str, np.ndarray]:
        return self.impl.state()


def make_runner(lib: str, case: str, state: dict[str, np.ndarray] | None, dropout: float,
                device: str = "cpu") -> Any:
    if lib == "numpy":
        assert state is not None and device == "cpu"
        return NumpyStep(case, state)
    return TorchLike(importlib.import_module(lib), case, state, dropout, device)


def libs_for(case: str, dropout: float) -> tuple[str, ...]:
    """The numpy steps have no dropout."""
    return ALL_LIBS if not (case == "transformer" and dropout) else ALL_LIBS[1:]


def set_threads(libs: tuple[str, ...], n: int) -> None:
    if "torch" in libs:
        import torch

        torch.set_num_threads(n)
    import disttorch  # its BLAS is numpy's: this limits the numpy column too

    disttorch.set_num_threads(n)


# -- timing ------------------------------------------------------------------------------------------------------
def time_case(case: str, libs: tuple[str, ...], warmup: int, rounds: int, per_round: int | None,
              round_s: float, dropout: float, device: str = "cpu") -> dict[str, Any]:
    """Per round and library: CPU and wall seconds per step. ``per_round`` None: as many steps as fill about
    ``round_s`` CPU seconds for the slowest library (from the warm-up), 1 to 200. On cuda (no numpy step) each
    step ends with a device synchronisation, so its wall time is its GPU time too."""
    state = initial_state(case, dropout)
    runners = {lib: make_runner(lib, case, state, dropout, device) for lib in libs}
    first = {lib: float(r.step()) for lib, r in runners.items()}  # the same weights in every library
    slowest = 0.0
    for r in runners.values():
        t0 = time.process_time()  # CPU time: on a loaded machine wall time would give too few steps
        for _ in range(max(warmup, 1)):
            r.step()
        slowest = max(slowest, (time.process_time() - t0) / max(warmup, 1))
    if per_round is None:
        per_round = int(min(200, max(1, round_s / max(slowest, 1e-6))))
    cpu: dict[str, list[float]] = {lib: [] for lib in libs}
    wall: dict[str, list[float]] = {lib: [] for lib in libs}
    order = list(libs)
    for i in range(rounds):
        for lib in order[i % len(order):] + order[:i % len(order)]:
            step = runners[lib].step
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(per_round):
                step()
            w1, c1 = time.perf_counter(), time.process_time()
            cpu[lib].append((c1 - c0) / per_round)
            wall[lib].append((w1 - w0) / per_round)
    gap = max(first.values()) - min(first.values())
    if not dropout and gap > 1e-3 * max(1.0, abs(first[libs[0]])):  # dropout masks differ by library
        print(f"  warning: first-step losses differ: {first}", file=sys.stderr)
    return {"cpu": cpu, "wall": wall, "steps_per_round": per_round, "first_loss": first}


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


def _warm_library(mod: Any, case: str) -> None:
    """A tiny step of the same kind first, so that lazy imports and one-off library set-up (PyTorch loads
    much of torch._dynamo when the first optimizer is built) are not counted as the training step's memory."""
    nn = mod.nn
    y = mod.tensor([0, 1])
    if case == "transformer":
        model, x = transformer_model(mod, 8, 2, 16, 1, 0.0), mod.randn(2, 3, 8)
    elif case in ("cnn", "lenet"):
        model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(2, 2))
        x = mod.randn(2, 1, 2, 2)
    elif case == "gpt":
        model, x, y = gpt_model(mod, 5, 8, 2, 4), mod.tensor([[0, 1, 2, 3]]), mod.tensor([1, 2, 3, 4])
    elif case == "lstm":
        model, x = lstm_model(mod, 2, 3, 2), mod.randn(2, 3, 2)
    else:
        model, x = mlp_model(mod, (4, 4, 2)), mod.randn(2, 4)
    opt = make_optimizer(mod, case, model.parameters())
    opt.zero_grad()
    out = model(x)
    nn.CrossEntropyLoss()(out.view(-1, out.shape[-1]), y).backward()
    opt.step()


def memory_child(case: str, lib: str, steps: int, threads: int, dropout: float) -> None:
    """Run in a fresh process: peak RSS growth (KiB) of building and training, printed as JSON."""
    state = None
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
        _warm_library(torch, case)
    else:
        import disttorch

        disttorch.set_num_threads(threads)
        if lib == "numpy":  # weights of the right shapes; the step's own copies of them are counted
            disttorch.manual_seed(SEED)
            state = {k: v.numpy() for k, v in build_model(disttorch, case, dropout).state_dict().items()}
            importlib.import_module(f"numpy_steps.{case}")
        else:
            _warm_library(disttorch, case)
    base = _status_kb("VmRSS") if _reset_peak() else _status_kb("VmHWM")
    runner = make_runner(lib, case, state, dropout)
    for _ in range(steps):
        runner.step()
    peak = _status_kb("VmHWM")
    print(json.dumps({"growth_kb": peak - base}))


def measure_memory(case: str, lib: str, steps: int, threads: int, dropout: float) -> float:
    cmd = [sys.executable, os.path.abspath(__file__), "--_memory-child", case, lib, "--steps", str(steps),
           "--threads", str(threads), "--dropout", str(dropout)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["growth_kb"] / 1024


def memory_medians(case: str, libs: tuple[str, ...], args: argparse.Namespace) -> dict[str, float]:
    """Median peak-memory growth (MiB) per library over --memory-repeats fresh processes (numpy: one; PyTorch's
    figure moves by up to 40% between processes), --memory-jobs of them at a time (a process's resident set
    does not depend on what else runs)."""
    jobs = [lib for lib in libs for _ in range(1 if lib == "numpy" or args.quick else args.memory_repeats)]
    steps = 2 if args.quick else 3
    with ThreadPoolExecutor(max(1, args.memory_jobs)) as pool:
        growth = list(pool.map(lambda lib: measure_memory(case, lib, steps, args.threads, args.dropout), jobs))
    return {lib: statistics.median(g for j, g in zip(jobs, growth) if j == lib) for lib in libs}


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
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info()
                                 if i.get("user_api") == "blas"}))
    except ImportError:
        blas = "?"
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; python "
            f"{platform.python_version()}, numpy {np.__version__} ({blas}), torch {tv}; {threads} thread(s)")


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def ratios(result: dict[str, Any], num: str, den: str) -> dict[str, dict[str, float]] | None:
    """Per-round ratio num/den of CPU and of wall time per step: min, median, max over the rounds."""
    if num not in result["cpu"] or den not in result["cpu"]:
        return None
    return {clock: spread([a / b for a, b in zip(result[clock][num], result[clock][den])])
            for clock in ("cpu", "wall")}


def verdict(value: float | None, target: float | None) -> str:
    if value is None or target is None:
        return "-"
    return "yes" if value <= target else "NO"


def fmt(value: float | None, spec: str = ".2f", suffix: str = "x") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def report_case(case: str, res: dict[str, Any], mem: dict[str, float]) -> dict[str, Any]:
    """Print the case's per-library and ratio lines; return its JSON record."""
    rec: dict[str, Any] = {"steps_per_round": res["steps_per_round"], "first_loss": res["first_loss"],
                           "libs": {}, "ratios": {}}
    for lib in res["cpu"]:
        c, w = spread(res["cpu"][lib]), spread(res["wall"][lib])
        rec["libs"][lib] = {"cpu_ms": {k: v * 1e3 for k, v in c.items()},
                            "wall_ms": {k: v * 1e3 for k, v in w.items()}, "peak_mib": mem.get(lib)}
        print(f"{case:<12}{lib:<11}{c['median'] * 1e3:>10.3f}{w['median'] * 1e3:>10.3f}{c['min'] * 1e3:>10.3f}"
              f"{fmt(mem.get(lib), '.1f', ''):>10}")
    for num, den in (("disttorch", "torch"), ("disttorch", "numpy"), ("numpy", "torch")):
        r = ratios(res, num, den)
        if r is None:
            continue
        rec["ratios"][f"{num}/{den}"] = r
        cells = "".join(f"{r[clock][k]:>9.2f}" for clock in ("cpu", "wall") for k in ("min", "median", "max"))
        print(f"{case:<12}{num + '/' + den:<18}{cells}")
    if mem.get("disttorch") is not None and mem.get("torch"):
        rec["memory_vs_torch"] = mem["disttorch"] / mem["torch"]
    return rec


def print_summary(records: dict[str, dict[str, Any]]) -> None:
    print("\nsummary: median over rounds of the CPU-time ratio (wall in brackets); targets from issue 13")
    head = (f"{'case':<12}{'vs torch':>17}{'target':>8}{'met':>5}{'vs numpy':>17}{'target':>8}{'met':>5}"
            f"{'mem vs torch':>14}{'target':>8}{'met':>5}{'numpy/torch':>13}")
    print(head)
    print("-" * len(head))
    for case, rec in records.items():
        cells = []
        for den, target in (("torch", TORCH_TARGET[case]), ("numpy", NUMPY_TARGET)):
            r = rec["ratios"].get(f"disttorch/{den}")
            med = r["cpu"]["median"] if r else None
            text = "-" if r is None else f"{med:.3f}x ({r['wall']['median']:.2f}x)"
            cells.append(f"{text:>17}{target:>7.2f}x{verdict(med, target):>5}")
            rec.setdefault("met", {})[f"vs {den}"] = None if med is None else med <= target
        mem, mt = rec.get("memory_vs_torch"), MEMORY_TARGET.get(case)
        cells.append(f"{fmt(mem, '.3f'):>14}{fmt(mt):>8}{verdict(mem, mt):>5}")
        if mt is not None:
            rec["met"]["memory"] = None if mem is None else mem <= mt
        nt = rec["ratios"].get("numpy/torch")
        cells.append(f"{fmt(nt and nt['cpu']['median'], '.3f'):>13}")  # how far the numpy floor is from PyTorch
        print(f"{case:<12}" + "".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=CASES + ("all",), default="all")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="few steps, for smoke runs")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of steps per library (default 12)")
    ap.add_argument("--steps", type=int, default=None,
                    help="steps per library per round (default: about --round-seconds of the slowest library)")
    ap.add_argument("--round-seconds", type=float, default=0.15,
                    help="CPU time a library's block of steps in a round should take, when --steps is not given")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up steps (default 3)")
    ap.add_argument("--dropout", type=float, default=0.0, help="transformer dropout (default 0; no numpy step)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--memory-repeats", type=int, default=3,
                    help="fresh processes per library for the peak memory, median reported (numpy: one)")
    ap.add_argument("--memory-jobs", type=int, default=2, help="memory subprocesses run at a time (default 2)")
    ap.add_argument("--libs", default=None, help="comma-separated subset of numpy,disttorch,torch")
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--device", default="cpu",
                    help="cpu, or cuda: disttorch on cupy against PyTorch CUDA (no numpy step, no memory column)")
    ap.add_argument("--_memory-child", nargs=2, metavar=("CASE", "LIB"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._memory_child:
        case, lib = args._memory_child
        memory_child(case, lib, args.steps or 3, args.threads, args.dropout)
        return

    rounds = args.rounds or (2 if args.quick else 12)
    per_round = args.steps or (2 if args.quick else None)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    cases = CASES if args.case == "all" else (args.case,)
    machine = machine_description(args.threads)
    print(f"machine: {machine}")
    print(f"{rounds} rounds; in each, every library runs its block of steps (rotating order) after {warmup} "
          f"warm-up steps")
    print(f"\n{'case':<12}{'library':<11}{'cpu ms':>10}{'wall ms':>10}{'best cpu':>10}{'peak MiB':>10}"
          f"      (ms per step: median and best over rounds)")
    print(f"{'':<12}{'ratio':<18}" + "".join(f"{h:>9}" for h in ("cpu min", "med", "max", "wall min", "med", "max"))
          + "      (per-round ratios: min, median, max over rounds)")
    print("-" * 84)
    records: dict[str, dict[str, Any]] = {}
    for case in cases:
        libs = libs_for(case, args.dropout) if args.device == "cpu" else ("disttorch", "torch")
        if args.libs:
            wanted = args.libs.split(",")
            libs = tuple(lib for lib in libs if lib in wanted)
        set_threads(libs, args.threads)
        res = time_case(case, libs, warmup, rounds, per_round, args.round_seconds, args.dropout, args.device)
        mem: dict[str, float] = {}
        if not args.no_memory and args.device == "cpu":
            mem = memory_medians(case, libs, args)
        records[case] = report_case(case, res, mem)
        sys.stdout.flush()
    print_summary(records)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rounds": rounds, "warmup": warmup, "threads": args.threads,
                       "targets": {"vs torch": TORCH_TARGET, "vs numpy": NUMPY_TARGET, "memory": MEMORY_TARGET},
                       "cases": records}, f, indent=1)


if __name__ == "__main__":
    main()
