"""A tiny rank program for the launcher tests: prints its torchrun variables, then does what argv[1] says."""
import os
import signal
import sys
import time

rank = int(os.environ["RANK"])
print(f"RANK={rank} LOCAL_RANK={os.environ['LOCAL_RANK']} WORLD_SIZE={os.environ['WORLD_SIZE']} "
      f"LOCAL_WORLD_SIZE={os.environ['LOCAL_WORLD_SIZE']} RESTART={os.environ['DISTTORCH_RESTART_COUNT']} "
      f"THREADS={os.environ.get('OMP_NUM_THREADS')} ARGV={sys.argv[1:]}", flush=True)
print(f"to stderr from {rank}", file=sys.stderr, flush=True)
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
bad_rank = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else None


def work(seconds: float) -> None:
    time.sleep(seconds)


if mode == "raise" and rank == bad_rank:
    work(0.3)
    raise ValueError(f"deliberate failure on rank {rank}")
if mode == "exit" and rank == bad_rank:
    sys.exit(7)
if mode == "kill" and rank == bad_rank:
    work(0.3)
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "fail-first-attempt" and rank == bad_rank and os.environ["DISTTORCH_RESTART_COUNT"] == "0":
    raise RuntimeError("first attempt fails")
if mode in ("raise", "exit", "kill", "sleep"):
    work(60)  # the other ranks: only a teardown ends them in time
if mode == "mpi":
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    total = comm.allreduce(comm.Get_rank() + 1)
    print(f"allreduce={total} size={comm.Get_size()}", flush=True)
    if len(sys.argv) > 3:  # a record that MPI_Abort cannot lose (output in flight through the pipes may be lost)
        with open(os.path.join(sys.argv[3], f"rank{rank}.txt"), "w") as f:
            f.write(f"allreduce={total} size={comm.Get_size()}\n")
    print(f"netns={os.readlink('/proc/self/ns/net') if os.path.exists('/proc/self/ns/net') else '?'}", flush=True)
    if rank == bad_rank:
        raise ValueError("failure after MPI_Init")
    comm.Barrier()
print(f"rank {rank} done", flush=True)
