"""ProcessGroupGloo on N ranks (``python _gloo_worker.py``): made from the ranks' own (rank, size), used as
the group of collectives; each rank prints ``PASS gloo rank R`` when every check holds."""
from datetime import timedelta

import disttorch as torch
import disttorch.distributed as dist


def main():
    dist.init_process_group("gloo")
    r, n = dist.get_rank(), dist.get_world_size()
    pg = dist.ProcessGroupGloo(None, r, n, timedelta(seconds=60))
    assert isinstance(pg, dist.ProcessGroup) and (pg.rank(), pg.size(), pg.name()) == (r, n, "gloo")
    t = torch.ones(3) * (r + 1)
    dist.all_reduce(t, group=pg)
    assert t.tolist() == [n * (n + 1) / 2] * 3, t
    b = torch.full((2,), float(r))
    dist.broadcast(b, src=n - 1, group=pg)
    assert b.tolist() == [n - 1.0] * 2, b
    try:
        dist.ProcessGroupGloo(None, (r + 1) % n, n)
    except ValueError as exc:
        assert "MPI gave this process rank" in str(exc), exc
    else:
        raise AssertionError("a rank that is not this process's was accepted")
    dist.barrier(group=pg)
    dist.destroy_process_group()
    print(f"PASS gloo rank {r}", flush=True)


if __name__ == "__main__":
    main()
