"""all_reduce throughput: disttorch.distributed vs raw mpi4py ``Allreduce`` (float32 SUM, 8 B to 64 MiB).

    mpiexec -n 2 python benchmarks/allreduce.py [--max-mib 64] [--repeats 5]
    mpiexec -n 2 python benchmarks/allreduce.py --device cuda [--backend nccl]

Prints, per size: time per call, algbw (bytes / time) and busbw (algbw * 2(n-1)/n, as nccl-tests reports it)
for both, and the throughput ratio disttorch / raw MPI. Both run on the same data with the same number of
calls, interleaved; the best of ``--repeats`` rounds is kept for each. With ``--device cuda`` disttorch reduces
cuda tensors (through NCCL, or MPI staging with ``--backend mpi``; each timed loop ends with a device
synchronisation) while the raw column stays MPI on host arrays: the cost of the cuda path against host MPI.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from mpi4py import MPI

import disttorch as torch
import disttorch.distributed as dist


def timed(fn, iters: int, comm) -> float:
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    elapsed = time.perf_counter() - start
    return comm.allreduce(elapsed, op=MPI.MAX) / iters  # the slowest rank decides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-mib", type=float, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--backend", choices=("mpi", "nccl"), default=None,
                        help="default: mpi on cpu, NCCL when available on cuda")
    args = parser.parse_args()
    dist.init_process_group(backend=args.backend or ("mpi" if args.device == "cpu" else None))
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    raw = MPI.COMM_WORLD.Dup()
    n, rank = raw.Get_size(), raw.Get_rank()
    if rank == 0:
        print(f"all_reduce float32 SUM, {n} ranks, {MPI.Get_library_version().splitlines()[0].strip()}; "
              f"disttorch on {args.device} (backend {dist.get_backend()})")
        print(f"{'size':>10} {'raw us':>10} {'raw algbw':>10} {'raw busbw':>10} {'dt us':>10} {'dt algbw':>10} "
              f"{'dt busbw':>10} {'ratio':>6}   (bandwidths in GB/s)")
    nbytes = 8
    while nbytes <= args.max_mib * (1 << 20):
        count = nbytes // 4
        arr = np.ones(count, np.float32)
        tensor = torch.ones(count, device=args.device)
        iters = int(max(5, min(2000, (64 << 20) // (nbytes * 4) or 1)))

        def raw_call(arr=arr) -> None:
            raw.Allreduce(MPI.IN_PLACE, arr, MPI.SUM)

        def dt_call(tensor=tensor) -> None:
            dist.all_reduce(tensor)

        def dt_loop(iters: int = iters) -> float:
            def calls() -> None:
                for _ in range(iters):
                    dt_call()
                sync()
            return timed(calls, 1, raw) / iters

        for fn in (raw_call, dt_call):  # warm up (also the first-call argument check)
            fn()
        best_raw = best_dt = float("inf")
        for i in range(args.repeats):  # interleaved, alternating which goes first
            if i % 2:
                best_dt = min(best_dt, dt_loop())
            best_raw = min(best_raw, timed(raw_call, iters, raw))
            if not i % 2:
                best_dt = min(best_dt, dt_loop())
        if rank == 0:
            factor = 2 * (n - 1) / n
            alg_raw, alg_dt = nbytes / best_raw / 1e9, nbytes / best_dt / 1e9
            label = f"{nbytes} B" if nbytes < 1024 else f"{nbytes >> 10} KiB" if nbytes < (1 << 20) \
                else f"{nbytes >> 20} MiB"
            print(f"{label:>10} {best_raw * 1e6:10.1f} {alg_raw:10.3f} {alg_raw * factor:10.3f} {best_dt * 1e6:10.1f} "
                  f"{alg_dt:10.3f} {alg_dt * factor:10.3f} {best_raw / best_dt:6.3f}", flush=True)
        nbytes *= 2
    raw.Free()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
