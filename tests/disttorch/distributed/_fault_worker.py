"""Failure scenarios, run on 2 ranks: ``python _fault_worker.py MODE``. Prints ``PASS <what> rank R`` lines."""
import sys
import time
from datetime import timedelta

from disttorch.collectives.base import CollectiveError

import disttorch as torch
import disttorch.distributed as dist


def mismatch(r):
    """Rank 1 passes a different shape: every rank gets an error naming both ranks, nobody hangs."""
    dist.all_reduce(torch.ones(4))  # agreed
    try:
        dist.all_reduce(torch.ones(5 if r == 1 else 4))
    except CollectiveError as e:
        msg = str(e)
        assert "rank 0" in msg and "rank 1" in msg and "shape=(4,)" in msg and "shape=(5,)" in msg, msg
        print(f"PASS mismatch rank {r}: {msg}", flush=True)
    try:  # a different collective on each rank
        if r == 0:
            dist.broadcast(torch.ones(2), src=0)
        else:
            dist.all_reduce(torch.ones(2))
    except CollectiveError as e:
        assert "broadcast" in str(e) and "all_reduce" in str(e) and "collective" in str(e), str(e)
        print(f"PASS different_collective rank {r}", flush=True)
    dist.destroy_process_group()


def failfast(r):
    """Rank 1 raises mid-training while rank 0 waits in all_reduce: the job must end at once."""
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(100):
        loss = model(torch.randn(4, 8)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        if r == 1 and step == 3:
            raise ValueError("boom on rank 1 at step 3")
        for p in model.parameters():
            dist.all_reduce(p.grad)
        opt.step()
    print(f"rank {r} finished training: the job was not aborted", flush=True)


def hangs(r):
    """monitored_barrier names the rank that did not arrive; debug mode turns a hang into a timeout error."""
    if r == 1:
        time.sleep(1.5)
    try:
        dist.monitored_barrier(timeout=timedelta(seconds=1))
        assert r == 1, "rank 0 passed a barrier that rank 1 missed"
    except CollectiveError as e:
        msg = str(e)
        if r == 0:
            assert "Rank 1 failed to pass monitoredBarrier in 1000 ms" in msg, msg
        else:
            assert "Please check rank 0 logs for faulty rank" in msg, msg
        print(f"PASS monitored_barrier rank {r}: {msg}", flush=True)
    if r == 0:
        start = time.perf_counter()
        try:
            dist.all_reduce(torch.ones(3))  # rank 1 never joins
            raise AssertionError("all_reduce without the other rank returned")
        except CollectiveError as e:
            took = time.perf_counter() - start
            assert "all_reduce" in str(e) and "timed out" in str(e) and 1.0 <= took < 10, (str(e), took)
            print(f"PASS timeout rank 0: {e}", flush=True)
    else:
        time.sleep(5)  # ended by rank 0's exit
    sys.stdout.flush()
    import os

    os._exit(0)  # rank 0 still has an unmatched operation: skip MPI_Finalize


def main():
    mode = sys.argv[1]
    timeout = timedelta(seconds=2) if mode == "hangs" else None
    dist.init_process_group(timeout=timeout)
    globals()[mode](dist.get_rank())


if __name__ == "__main__":
    main()
