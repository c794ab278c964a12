"""DeviceMesh, split/shrink_group and the coalesced collectives on N ranks (``python _mesh_worker.py``); each
rank prints ``PASS mesh rank R`` when every check holds."""
import disttorch as torch
import disttorch.distributed as dist
from disttorch.distributed.device_mesh import init_device_mesh


def main():
    dist.init_process_group()
    r, n = dist.get_rank(), dist.get_world_size()
    # a 1-d mesh over every rank, and a 2-d one (n x 1) whose columns are single ranks
    m = init_device_mesh("cpu", (n,), mesh_dim_names=("dp",))
    assert m.shape == (n,) and m.get_local_rank("dp") == r and m.get_coordinate() == [r], m
    t = torch.ones(2) * (r + 1)
    dist.all_reduce(t, group=m.get_group("dp"))
    assert t.tolist() == [n * (n + 1) / 2] * 2, t
    m2 = init_device_mesh("cpu", (n, 1), mesh_dim_names=("dp", "tp"))
    assert m2.get_coordinate() == [r, 0] and m2.size() == n and m2.size(1) == 1
    tp = m2.get_group("tp")
    t = torch.ones(1) * (r + 1)
    dist.all_reduce(t, group=tp)  # a group of one: unchanged
    assert t.item() == r + 1
    assert m2["dp"].mesh.tolist() == list(range(n)) and m2["tp"].mesh.tolist() == [r]
    # split_group: even and odd ranks
    evens, odds = list(range(0, n, 2)), list(range(1, n, 2))
    g = dist.split_group(split_ranks=[evens, odds] if odds else [evens])
    mine = evens if r % 2 == 0 else odds
    t = torch.ones(1)
    dist.all_reduce(t, group=g)
    assert t.item() == len(mine), (t, mine)
    # shrink_group: without the last rank
    s = dist.shrink_group([n - 1])
    if r != n - 1:
        t = torch.ones(1)
        dist.all_reduce(t, group=s)
        assert t.item() == n - 1
    # coalesced collectives
    a, b = torch.ones(3) * r, torch.ones(2) * 10 * r
    dist.all_reduce_coalesced([a, b])
    assert a.tolist() == [sum(range(n))] * 3 and b.tolist() == [10 * sum(range(n))] * 2
    outs = [[torch.zeros(1), torch.zeros(2)] for _ in range(n)]
    dist.all_gather_coalesced(outs, [torch.ones(1) * r, torch.ones(2) * -r])
    assert [o[0].item() for o in outs] == list(range(n)) and [o[1].tolist() for o in outs] == [[-k, -k] for k in
                                                                                               range(n)]
    work = dist.all_reduce_coalesced([torch.ones(1)], async_op=True)
    work.wait()
    assert dist.get_backend_config() in ("cpu:mpi,cuda:mpi", "cpu:gloo,cuda:gloo"), dist.get_backend_config()
    print(f"PASS mesh rank {r}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
