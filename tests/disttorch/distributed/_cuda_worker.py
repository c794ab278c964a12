"""Run under ``mpiexec -n N`` on the cupy stand-in (2 devices): which cuda device ``init_process_group`` gives
each rank, and what it says when NCCL cannot be used. Prints ``DEVICE rank R cuda:D`` and ``OK rank R``.

usage: python _cuda_worker.py MODE where MODE is
  auto      init_process_group(backend="mpi"): rank r gets cuda:(local rank % device count)
  chosen    set_device(0) first: init_process_group keeps it
  device_id init_process_group(device_id=cuda:0): kept as well
  shared    init_process_group(backend="nccl") with more ranks than devices: an error naming two ranks
  default   init_process_group() (None): NCCL when it can, else a warning naming the MPI fallback
"""
import sys
import warnings

import disttorch as torch
import disttorch.distributed as dist

mode = sys.argv[1]
warnings.simplefilter("always")
if mode == "chosen":
    torch.cuda.set_device(0)
kwargs = {"auto": {"backend": "mpi"}, "chosen": {"backend": "mpi"}, "shared": {"backend": "nccl"},
          "device_id": {"backend": "mpi", "device_id": torch.device("cuda:0")}, "default": {}}[mode]
try:
    dist.init_process_group(**kwargs)
except RuntimeError as exc:
    print(f"ERROR rank ? {exc}", flush=True)
    sys.exit(3)
r = dist.get_rank()
print(f"DEVICE rank {r} cuda:{torch.cuda.current_device()} backend {dist.get_backend()}", flush=True)
t = torch.full((2,), float(r + 1), device="cuda")
dist.all_reduce(t)
n = dist.get_world_size()
assert t.cpu().tolist() == [n * (n + 1) / 2] * 2, t
assert t.device.index == torch.cuda.current_device(), t.device
dist.destroy_process_group()
print(f"OK rank {r}", flush=True)
