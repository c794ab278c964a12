"""One DDP training step (MLP 784-512-512-10, batch 128 per rank, SGD with momentum, float32, one BLAS thread
per rank): disttorch DDP over MPI vs PyTorch DDP over gloo on the same machine, alone and on 2 ranks.

    python benchmarks/ddp_step.py [--steps 200] [--ranks 2]
    python benchmarks/ddp_step.py --device cuda     # disttorch over NCCL vs PyTorch over NCCL, a GPU per rank

Prints ms/step (the slowest rank's mean over the timed steps) for each run, disttorch / PyTorch, and the
1 -> N scaling efficiency (time alone / time on N ranks, the batch per rank being fixed). The workers are
this file again: ``--impl disttorch`` under mpiexec, ``--impl torch`` under torchrun.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = (784, 512, 512, 10)


def _data(rank: int, batch: int):
    rs = np.random.RandomState(rank)
    return rs.rand(batch, SIZES[0]).astype(np.float32), rs.randint(0, SIZES[-1], size=batch).astype(np.int64)


def _time_steps(torch, model, opt, x, y, steps: int, warmup: int, barrier, device: str = "cpu") -> float:
    loss_fn = torch.nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    sync()
    barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    barrier()
    return (time.perf_counter() - start) / steps


def _mlp(nn):
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def worker(args) -> None:
    """One rank of the ``--impl`` run: time the steps and print the slowest rank's mean (on rank 0)."""
    if args.impl == "disttorch":
        import disttorch as torch
        import disttorch.distributed as dist
        from disttorch.nn.parallel import DistributedDataParallel as DDP

        dist.init_process_group(args.backend)  # cuda: each rank on cuda:(local rank)
    else:
        import torch
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        torch.set_num_threads(1)
        if args.device == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    rank = dist.get_rank()
    device = "cpu" if args.device == "cpu" else f"cuda:{torch.cuda.current_device()}"
    torch.manual_seed(0)
    model = DDP(_mlp(torch.nn).to(device), gradient_as_bucket_view=args.bucket_view)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xa, ya = _data(rank, args.batch)
    x, y = torch.tensor(xa, device=device), torch.tensor(ya, device=device)
    sec = _time_steps(torch, model, opt, x, y, args.steps, args.warmup, dist.barrier, args.device)
    times = [None] * dist.get_world_size()
    dist.all_gather_object(times, sec)
    if rank == 0:
        print(f"RESULT {max(times) * 1e3:.3f}", flush=True)
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(impl: str, n: int, args) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    worker = [str(Path(__file__).resolve()), "--impl", impl, "--steps", str(args.steps), "--warmup",
              str(args.warmup), "--batch", str(args.batch), "--device", args.device] \
        + (["--bucket-view"] if args.bucket_view else []) + (["--backend", args.backend] if args.backend else [])
    if impl == "disttorch":
        mpiexec = str(Path(sys.executable).parent / "mpiexec")
        if not Path(mpiexec).exists():
            mpiexec = shutil.which("mpiexec") or "mpiexec"
        cmd = [sys.executable, *worker] if n == 1 else [mpiexec, "-n", str(n), sys.executable, *worker]
    for _ in range(3):  # gloo's rendezvous on a busy machine now and then fails to start
        if impl == "torch":
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n), "--master-addr",
                   "127.0.0.1", "--master-port", str(_free_port()), *worker]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        found = re.findall(r"RESULT ([\d.]+)", proc.stdout)
        if proc.returncode == 0 and found:
            return float(found[0])
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", choices=["disttorch", "torch"], help="run one worker (used by the driver)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128, help="batch per rank")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the best is kept")
    ap.add_argument("--bucket-view", action="store_true", help="gradient_as_bucket_view=True on both sides")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: one GPU per rank, disttorch over NCCL (or --backend) and PyTorch over NCCL")
    ap.add_argument("--backend", choices=("mpi", "nccl", "gloo"), default=None,
                    help="disttorch's backend (default: MPI on the host, NCCL for cuda tensors when available)")
    ap.add_argument("--impls", default="disttorch,torch", help="which to run (torch needs PyTorch)")
    args = ap.parse_args()
    if args.impl is not None:
        return worker(args)

    ms = {}
    impls = args.impls.split(",")
    for n in (1, args.ranks):
        for impl in impls:
            ms[impl, n] = min(_launch(impl, n, args) for _ in range(args.repeat))
            print(f"{impl:>9} {n} rank(s): {ms[impl, n]:7.2f} ms/step", flush=True)
    n = args.ranks
    if impls != ["disttorch", "torch"]:
        return
    print(f"disttorch / PyTorch: {ms['disttorch', 1] / ms['torch', 1]:.2f}x alone, "
          f"{ms['disttorch', n] / ms['torch', n]:.2f}x on {n} ranks")
    print(f"scaling efficiency 1 -> {n} ranks: disttorch {ms['disttorch', 1] / ms['disttorch', n]:.2f}, "
          f"PyTorch {ms['torch', 1] / ms['torch', n]:.2f} ({os.cpu_count()} cores here)")


if __name__ == "__main__":
    main()
