"""Run on N ranks (or alone): every disttorch.distributed collective on Tensors against numpy's answer.

usage: python _dist_worker.py [backend|none] [cpu|cuda]. With cuda every tensor is a cuda tensor (the default
device); alone with backend nccl they go through NCCL, on ranks over MPI they are staged through host memory.
Prints ``OK rank R checks K``. Assertion failures end the whole job through the fail-fast excepthook.
"""
import sys
import time
import warnings
from datetime import timedelta

import numpy as np

import disttorch as torch
import disttorch.distributed as dist

checks = 0
DEVICE = sys.argv[2] if len(sys.argv) > 2 else "cpu"


def check(cond, what):
    global checks
    assert cond, what
    checks += 1


def same(t, want, what, rtol=1e-6):
    if hasattr(t, "numpy"):
        check(t.device.type == DEVICE, f"{what}: a {t.device} tensor, not {DEVICE}")
        got = t.cpu().numpy()
    else:
        got = np.asarray(t)
    check(got.shape == want.shape and got.dtype == want.dtype, f"{what}: {got.shape} {got.dtype} vs {want.shape} "
                                                                 f"{want.dtype}")
    ok = np.allclose(got, want, rtol=rtol, atol=rtol) if want.dtype.kind == "f" else np.array_equal(got, want)
    check(ok, f"{what}: got {got.ravel()[:6]} want {want.ravel()[:6]}")


def data(rank, shape, dtype):
    return np.random.default_rng(500 + rank).integers(-4, 5, size=shape).astype(dtype)


DTYPES = (np.float32, np.float64, np.int64)
SIZES = ((0,), (7,), (1001,), (2, 3))


def T(a):
    return torch.from_numpy(a).to(DEVICE)


def collectives(r, n):
    for dtype in DTYPES:
        for shape in SIZES:
            every = [data(k, shape, dtype) for k in range(n)]
            stack = np.stack(every)
            ops = {dist.ReduceOp.SUM: stack.sum(0), dist.ReduceOp.MAX: stack.max(0), dist.ReduceOp.MIN: stack.min(0),
                   dist.ReduceOp.PRODUCT: stack.prod(0)}
            if dtype != np.int64:
                ops[dist.ReduceOp.AVG] = stack.sum(0) / n
            for op, want in ops.items():
                t = T(every[r].copy())
                v = t._version_counter
                check(dist.all_reduce(t, op=op) is None, "blocking returns None")
                same(t, want.astype(dtype), f"all_reduce {op} {dtype} {shape}")
                check(t._version_counter > v, "version bumped")
            t = T(every[r].copy())
            dist.reduce(t, dst=n - 1, op=dist.ReduceOp.SUM)
            same(t, stack.sum(0).astype(dtype) if r == n - 1 else every[r], f"reduce {dtype} {shape}")
            for src in range(n):
                t = T(every[r].copy())
                dist.broadcast(t, src=src)
                same(t, every[src], f"broadcast {src} {dtype} {shape}")
            outs = [torch.zeros(*shape, dtype=T(every[r]).dtype) for _ in range(n)]
            dist.all_gather(outs, T(every[r]))
            for k in range(n):
                same(outs[k], every[k], f"all_gather {dtype} {shape}")
            cat = T(np.zeros((n * shape[0], *shape[1:]), dtype))
            dist.all_gather_into_tensor(cat, T(every[r]))
            same(cat, np.concatenate(every), f"all_gather_into_tensor {dtype} {shape}")
            stacked = T(np.zeros((n, *shape), dtype))
            dist.all_gather_into_tensor(stacked, T(every[r]))
            same(stacked, stack, "all_gather_into_tensor stacked")
            ins = [data(10 * r + k, shape, dtype) for k in range(n)]  # rank r's input k
            out = T(np.zeros(shape, dtype))
            dist.reduce_scatter(out, [T(x) for x in ins])
            want = np.sum([data(10 * k + r, shape, dtype) for k in range(n)], axis=0).astype(dtype)
            same(out, want, f"reduce_scatter {dtype} {shape}")
            out = T(np.zeros(shape, dtype))
            dist.reduce_scatter_tensor(out, T(np.stack(ins).reshape(n * shape[0], *shape[1:])))
            same(out, want, f"reduce_scatter_tensor {dtype} {shape}")
            glist = [T(np.zeros(shape, dtype)) for _ in range(n)] if r == 0 else None
            dist.gather(T(every[r]), glist, dst=0)
            if r == 0:
                for k in range(n):
                    same(glist[k], every[k], f"gather {dtype} {shape}")
            out = T(np.zeros(shape, dtype))
            dist.scatter(out, [T(x) for x in ins] if r == n - 1 else None, src=n - 1)
            same(out, data(10 * (n - 1) + r, shape, dtype), f"scatter {dtype} {shape}")
            outs = [T(np.zeros(shape, dtype)) for _ in range(n)]
            dist.all_to_all(outs, [T(x) for x in ins])
            for k in range(n):
                same(outs[k], data(10 * k + r, shape, dtype), f"all_to_all {dtype} {shape}")
    # all_to_all_single, even and uneven; all_to_all with uneven lists
    x = T(np.arange(4 * n, dtype=np.float32) + 100 * r)
    y = torch.zeros(4 * n)
    dist.all_to_all_single(y, x)
    same(y, np.concatenate([np.arange(4 * r, 4 * r + 4, dtype=np.float32) + 100 * k for k in range(n)]), "a2a single")
    isplit = [k + 1 for k in range(n)]  # rank r sends k + 1 rows to rank k
    x = T(np.full((sum(isplit), 2), float(r)))
    y = T(np.zeros((n * (r + 1), 2)))
    dist.all_to_all_single(y, x, output_split_sizes=[r + 1] * n, input_split_sizes=isplit)
    same(y, np.repeat(np.arange(n, dtype=np.float64), r + 1)[:, None].repeat(2, 1), "a2a single uneven")
    outs = [torch.zeros(k + 1) for k in range(n)]
    dist.all_to_all(outs, [torch.full((r + 1,), float(r * 10 + k)) for k in range(n)])
    for k in range(n):
        same(outs[k], np.full(k + 1, float(k * 10 + r), np.float32), "a2a uneven lists")
    # float16 sum, bool any, non-contiguous tensors, errors like PyTorch's
    h = [np.random.default_rng(k).standard_normal(1001).astype(np.float16) for k in range(n)]
    t = T(h[r].copy())
    dist.all_reduce(t)
    same(t, np.stack(h).astype(np.float32).sum(0).astype(np.float16), "float16 sum", rtol=2e-3)
    t = torch.tensor([True, False, r == 0])
    dist.all_reduce(t)
    same(t, np.array([True, False, True]), "bool sum = any")
    base = torch.ones(4, 6) * (r + 1)
    dist.all_reduce(base[:, ::2])
    want = np.full((4, 6), r + 1, np.float32)
    want[:, ::2] = n * (n + 1) / 2
    same(base, want, "non-contiguous view")
    for dtype, op, msg in ((torch.int64, dist.ReduceOp.AVG, "can't be cast to the desired output type Long"),
                           (torch.float32, dist.ReduceOp.BOR, "Cannot use ReduceOp.BOR with non-integral dtype")):
        try:
            dist.all_reduce(torch.ones(2, dtype=dtype), op=op)
            check(False, "should raise")
        except RuntimeError as e:
            check(msg in str(e), str(e))


def overlap(r, n):
    big = torch.full((1 << 20,), float(r + 1))
    work = dist.all_reduce(big, async_op=True)
    a = torch.randn(200, 200)
    for _ in range(10):  # compute while the all_reduce is in flight
        a = (a @ a).tanh()
        dist.group.WORLD.poll()
    work.wait()
    check(work.is_completed() and work.is_success(), "async completed")
    same(big, np.full(1 << 20, n * (n + 1) / 2, np.float32), "async result")
    ws = [dist.all_reduce(torch.full((100,), float(i)), async_op=True) for i in range(3)]
    outs = [torch.zeros(2) for _ in range(n)]
    wg = dist.all_gather(outs, torch.full((2,), float(r)), async_op=True)
    deadline = time.time() + 30
    while not all(w.is_completed() for w in ws):
        assert time.time() < deadline, "async ops never completed"
    wg.wait(timeout=timedelta(seconds=30))
    check(all(w.is_completed() for w in ws), "async batch")
    for k in range(n):
        same(outs[k], np.full(2, float(k), np.float32), "async all_gather into list")
    check(dist.barrier(async_op=True).wait(), "async barrier")


def p2p(r, n):
    right, left = (r + 1) % n, (r - 1) % n
    got = torch.zeros(3, dtype=torch.int64)
    reqs = dist.batch_isend_irecv([dist.P2POp(dist.isend, torch.arange(3) + r, right),
                                   dist.P2POp(dist.irecv, got, left)])
    for q in reqs:
        q.wait()
    same(got, np.arange(3) + left, "batch_isend_irecv ring")
    if r == 0:
        seen = set()
        for _ in range(n - 1):
            t = torch.zeros(2)
            src = dist.recv(t)
            same(t, np.full(2, float(src), np.float32), "recv any source")
            seen.add(src)
        check(seen == set(range(1, n)), "every sender heard")
        w = dist.irecv(torch.zeros(1), src=1, tag=5)
        w.wait()
        check(w.source_rank() == 1, "irecv source_rank")
    else:
        dist.send(torch.full((2,), float(r)), dst=0)
        if r == 1:
            dist.isend(torch.ones(1), dst=0, tag=5).wait()
    try:
        dist.send(torch.ones(1), dst=r)
        check(False, "self send")
    except ValueError as e:
        check("should not be the same as the rank of the current process" in str(e), str(e))


def objects(r, n):
    objs = [{"lr": 0.1, "step": 5}, "text", (1, 2)] if r == 0 else [None, None, None]
    dist.broadcast_object_list(objs, src=0)
    check(objs == [{"lr": 0.1, "step": 5}, "text", (1, 2)], "broadcast_object_list")
    got = [None] * n
    dist.all_gather_object(got, {"rank": r, "t": torch.tensor([float(r)])})
    check([g["rank"] for g in got] == list(range(n)), "all_gather_object")
    check(all(float(g["t"][0]) == k for k, g in enumerate(got)), "tensors inside objects")
    out = [None] * n if r == n - 1 else None
    dist.gather_object(r * r, out, dst=n - 1)
    check(out == [k * k for k in range(n)] if r == n - 1 else out is None, "gather_object")
    mine = [None]
    dist.scatter_object_list(mine, [f"to {k}" for k in range(n)] if r == 0 else None, src=0)
    check(mine == [f"to {r}"], "scatter_object_list")
    if n > 1:  # a ring: each rank sends to the next and receives from the previous
        if r % 2 == 0:
            dist.send_object_list([r, {"from": r}, "x" * 1000 * r], dst=(r + 1) % n)
        got = [None, None, None]
        sender = dist.recv_object_list(got, src=(r - 1) % n)
        if r % 2 == 1:
            dist.send_object_list([r, {"from": r}, "x" * 1000 * r], dst=(r + 1) % n)
        p = (r - 1) % n
        check(sender == p and got == [p, {"from": p}, "x" * 1000 * p], f"send/recv_object_list {got[:2]}")


def groups(r, n):
    members = [0, 2] if n >= 3 else [0]
    g = dist.new_group(members)
    if r in members:
        check(dist.get_rank(g) == members.index(r) and dist.get_world_size(g) == len(members), "group rank/size")
        check(dist.get_process_group_ranks(g) == members, "group ranks")
        check(dist.get_global_rank(g, len(members) - 1) == members[-1], "get_global_rank")
        t = torch.full((3,), float(r + 1))
        dist.all_reduce(t, group=g)
        same(t, np.full(3, float(sum(m + 1 for m in members)), np.float32), "group all_reduce")
        t = torch.full((2,), float(r))
        dist.broadcast(t, src=members[-1], group=g)
        same(t, np.full(2, float(members[-1]), np.float32), "group broadcast from a global rank")
        outs = [torch.zeros(1) for _ in members]
        dist.all_gather(outs, torch.tensor([float(r)]), group=g)
        check([float(o[0]) for o in outs] == [float(m) for m in members], "group all_gather")
        objs = [None] * len(members)
        dist.all_gather_object(objs, r, group=g)
        check(objs == members, "group all_gather_object")
        dist.barrier(group=g)
    else:
        check(g == dist.GroupMember.NON_GROUP_MEMBER, "non-member handle")
        check(dist.get_rank(g) == -1 and dist.get_world_size(g) == -1, "non-member rank/size")
        t = torch.full((3,), 7.0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check(dist.all_reduce(t, group=g) is None, "non-member collective returns None")
        check(any("does not belong to the given group" in str(w.message) for w in caught), "non-member warning")
        same(t, np.full(3, 7.0, np.float32), "non-member tensor untouched")
    dist.destroy_process_group(g) if r in members else None
    dist.barrier()
    mine, subgroups = dist.new_subgroups_by_enumeration([[k] for k in range(n)])
    check(dist.get_process_group_ranks(mine) == [r] and len(subgroups) == 1, "new_subgroups_by_enumeration")
    mine, _ = dist.new_subgroups(group_size=1)
    t = torch.full((2,), float(r))
    dist.all_reduce(t, group=mine)
    same(t, np.full(2, float(r), np.float32), "all_reduce inside a subgroup of one")
    whole, _ = dist.new_subgroups(group_size=n)
    t = torch.ones(1)
    dist.all_reduce(t, group=whole)
    same(t, np.full(1, float(n), np.float32), "all_reduce inside a subgroup of all")


def misc(r, n):
    check(dist.is_available() and dist.is_initialized(), "initialised")
    check(dist.get_rank() == r and dist.get_world_size() == n, "rank/size")
    asked = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "none" else None
    auto = ("nccl" if dist.is_nccl_available() else "mpi") if n > 1 else "gloo"  # NCCL for cuda tensors if any
    check(dist.get_backend() == (asked or auto), f"backend {dist.get_backend()}")
    check(dist.get_local_rank() == r and dist.get_local_world_size() == n, "local rank on one node")
    check(dist.group.WORLD is dist.GroupMember.WORLD and dist.group.WORLD is not None, "group.WORLD")
    from disttorch.utils.data import DistributedSampler

    torch.set_default_device("cpu")  # the sampler's cpu generator and randperm (PyTorch raises on cuda there too)
    mine = list(DistributedSampler(list(range(10)), shuffle=False))
    padded = list(range(10)) + list(range(10))[:(-10) % n]
    check(mine == padded[r::n], f"sampler takes rank and world size from the group: {mine}")
    every = [None] * n
    dist.all_gather_object(every, list(DistributedSampler(list(range(10)), shuffle=True, seed=3)))
    check(set(sum(every, [])) == set(range(10)) and all(len(e) == -(-10 // n) for e in every), "sampler shards")
    dist.monitored_barrier(timeout=timedelta(seconds=30))
    dist.monitored_barrier(timeout=timedelta(seconds=30), wait_all_ranks=True)


def main():
    torch.set_default_device(DEVICE)
    dist.init_process_group(backend=sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "none" else None,
                            timeout=timedelta(seconds=60))
    r, n = dist.get_rank(), dist.get_world_size()
    if DEVICE == "cuda":
        check(torch.cuda.current_device() == r % torch.cuda.device_count(), "rank r on cuda:r % devices")
    for name in ("collectives", "overlap", "p2p", "objects", "groups", "misc"):
        if n == 1 and name == "p2p":
            continue
        globals()[name](r, n)
    dist.barrier()
    dist.destroy_process_group()
    check(not dist.is_initialized(), "destroyed")
    print(f"OK rank {r} checks {checks}", flush=True)


if __name__ == "__main__":
    main()
