"""Run on N ranks: every MPICommunicator collective against numpy's answer. Prints ``OK rank R checks K``."""
import sys
import time
import traceback

import numpy as np
from disttorch.collectives.base import CollectiveError, ReduceOp
from disttorch.collectives.mpi import MPICommunicator

checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def close(got, want, what, rtol=1e-6):
    check(got.shape == want.shape and got.dtype == want.dtype, f"{what}: {got.shape} {got.dtype} vs {want.shape} "
                                                                 f"{want.dtype}")
    if want.dtype.kind in "fc" or want.dtype.name == "bfloat16":
        ok = np.allclose(got.astype(np.complex128 if want.dtype.kind == "c" else np.float64),
                         want.astype(np.complex128 if want.dtype.kind == "c" else np.float64), rtol=rtol, atol=rtol)
    else:
        ok = np.array_equal(got, want)
    check(ok, f"{what}: got {got.ravel()[:6]} want {want.ravel()[:6]}")


def data(rank, shape, dtype, lo=-4, hi=5):
    """Integer-valued data (exact sums in any order) for rank ``rank``."""
    rng = np.random.default_rng(1000 + rank)
    return rng.integers(lo, hi, size=shape).astype(dtype)


REDUCE = {ReduceOp.SUM: lambda xs: np.sum(xs, axis=0), ReduceOp.PRODUCT: lambda xs: np.prod(xs, axis=0),
          ReduceOp.MIN: lambda xs: np.min(xs, axis=0), ReduceOp.MAX: lambda xs: np.max(xs, axis=0),
          ReduceOp.AVG: lambda xs: np.sum(xs, axis=0) / len(xs),
          ReduceOp.BAND: lambda xs: np.bitwise_and.reduce(xs, axis=0),
          ReduceOp.BOR: lambda xs: np.bitwise_or.reduce(xs, axis=0),
          ReduceOp.BXOR: lambda xs: np.bitwise_xor.reduce(xs, axis=0)}


def numeric(c):
    r, n = c.rank, c.size
    for dtype in (np.float32, np.float64, np.int64):
        for shape in ((0,), (1,), (7,), (1001,), (3, 5)):
            every = [data(k, shape, dtype) for k in range(n)]
            ops = [ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX]
            ops += [ReduceOp.AVG] if dtype != np.int64 else [ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR]
            for op in ops:
                want = REDUCE[op](np.stack(every)).astype(dtype)
                a = every[r].copy()
                c.all_reduce(a, op)
                close(a, want, f"all_reduce {op} {dtype} {shape}")
                a = every[r].copy()
                root = n - 1
                c.reduce(a, root, op)
                close(a, want if r == root else every[r], f"reduce {op} {dtype} {shape}")
            for root in range(n):
                a = every[r].copy()
                c.broadcast(a, root)
                close(a, every[root], f"broadcast root {root} {dtype} {shape}")
            out = np.zeros((n, *shape), dtype)
            c.all_gather(out, every[r])
            close(out, np.stack(every), f"all_gather {dtype} {shape}")
            out = np.zeros((n, *shape), dtype) if r == 1 else None
            c.gather(out, every[r], 1)
            if r == 1:
                close(out, np.stack(every), f"gather {dtype} {shape}")
            chunks = [data(10 * k, (n, *shape), dtype) for k in range(n)]  # rank k's inputs
            got = np.zeros(shape, dtype)
            c.scatter(got, chunks[0] if r == 0 else None, 0)
            close(got, chunks[0][r], f"scatter {dtype} {shape}")
            got = np.zeros(shape, dtype)
            c.reduce_scatter(got, chunks[r], ReduceOp.SUM)
            close(got, np.sum([chunks[k][r] for k in range(n)], axis=0).astype(dtype), f"reduce_scatter {dtype}")
            got = np.zeros((n, *shape), dtype)
            c.all_to_all(got, chunks[r])
            close(got, np.stack([chunks[k][r] for k in range(n)]), f"all_to_all {dtype} {shape}")
    # uneven all-to-all: rank k sends (k + j) rows of width 3 to rank j
    rows = [[k + j for j in range(n)] for k in range(n)]
    send = [data(k, (sum(rows[k]), 3), np.float64) for k in range(n)]
    offs = [np.cumsum([0, *rows[k]]) for k in range(n)]
    out = np.zeros((sum(rows[k][r] for k in range(n)), 3))
    c.all_to_all_v(out, [rows[k][r] for k in range(n)], send[r], rows[r])
    want = np.concatenate([send[k][offs[k][r]:offs[k][r + 1]] for k in range(n)])
    close(out, want, "all_to_all_v")


def special(c):
    r, n = c.rank, c.size
    # float16 / bfloat16: reduced through float32
    every = [np.random.default_rng(k).standard_normal(1001).astype(np.float16) for k in range(n)]
    a = every[r].copy()
    c.all_reduce(a)
    close(a, np.sum(np.stack(every).astype(np.float32), axis=0).astype(np.float16), "float16 sum", rtol=2e-3)
    a = every[r].copy()
    c.all_reduce(a, ReduceOp.AVG)
    close(a, (np.sum(np.stack(every).astype(np.float32), axis=0) / n).astype(np.float16), "float16 avg", rtol=2e-3)
    try:
        import ml_dtypes
        bf = [e.astype(ml_dtypes.bfloat16) for e in every]
        a = bf[r].copy()
        c.all_reduce(a)
        close(a, np.sum(np.stack(bf).astype(np.float32), axis=0).astype(ml_dtypes.bfloat16), "bfloat16", rtol=1e-2)
        out = np.zeros((n, 1001), ml_dtypes.bfloat16)
        c.all_gather(out, bf[r])
        check(np.array_equal(out.view(np.uint16), np.stack(bf).view(np.uint16)), "bfloat16 all_gather")
    except ImportError:
        pass
    # bool: SUM/MAX are any, PRODUCT/MIN are all
    b = [np.array([True, False, k == 0, k != 0]) for k in range(n)]
    for op, want in ((ReduceOp.SUM, np.any(b, axis=0)), (ReduceOp.MIN, np.all(b, axis=0)),
                     (ReduceOp.PRODUCT, np.all(b, axis=0)), (ReduceOp.MAX, np.any(b, axis=0))):
        a = b[r].copy()
        c.all_reduce(a, op)
        close(a, want, f"bool {op}")
    # complex sum, 0-d, non-contiguous (written back into the view)
    z = [data(k, (4,), np.float64) + 1j * data(k + 7, (4,), np.float64) for k in range(n)]
    a = z[r].copy()
    c.all_reduce(a)
    close(a, np.sum(z, axis=0), "complex sum")
    s = [np.array(float(k + 1)) for k in range(n)]
    a = s[r].copy()
    c.all_reduce(a, ReduceOp.PRODUCT)
    close(a, np.prod(s, axis=0), "0-d product")
    base = [data(k, (6, 5), np.float32) for k in range(n)]
    mine = base[r].copy()
    c.all_reduce(mine[::2, 1:4], ReduceOp.MAX)
    want = base[r].copy()
    want[::2, 1:4] = np.max([b_[::2, 1:4] for b_ in base], axis=0)
    close(mine, want, "non-contiguous all_reduce")
    mine = base[r].copy()
    c.broadcast(mine.T, 0)
    close(mine, base[0], "non-contiguous broadcast")
    # errors like PyTorch's, on every rank
    for arr, op, kind, msg in ((np.ones(2, np.int64), ReduceOp.AVG, RuntimeError, "desired output type Long"),
                               (np.ones(2, np.float32), ReduceOp.BAND, RuntimeError, "non-integral dtype")):
        try:
            c.all_reduce(arr, op)
            check(False, f"{op} should raise")
        except kind as e:
            check(msg in str(e), str(e))


def overlap(c):
    r, n = c.rank, c.size
    big = [np.full(1 << 20, float(k + 1), np.float32) for k in range(n)]
    a = big[r].copy()
    work = c.all_reduce(a, ReduceOp.AVG, async_op=True)
    acc = 0.0
    for _ in range(20):  # compute while the collective progresses
        acc += float(np.dot(np.ones(10000), np.ones(10000)))
        c.poll()
    check(work.wait(timeout=30) is True and work.is_completed(), "async all_reduce wait")
    close(a, np.full(1 << 20, sum(range(1, n + 1)) / n, np.float32), "async avg result")
    works, bufs = [], []
    for i in range(4):
        b = np.full(1000, float(r + i), np.float64)
        bufs.append(b)
        works.append(c.all_reduce(b, async_op=True))
    out = np.zeros((n, 3), np.int64)
    wg = c.all_gather(out, np.full(3, r, np.int64), async_op=True)
    wb = c.broadcast(bufs[0][:0], 0, async_op=True)
    deadline = time.time() + 30
    while not all(w.is_completed() for w in works):
        c.poll()
        if time.time() > deadline:
            raise AssertionError("async works never completed")
    wg.wait()
    wb.wait()
    for i, b in enumerate(bufs):
        close(b, np.full(1000, float(sum(range(n)) + n * i)), f"async batch {i}")
    close(out, np.repeat(np.arange(n)[:, None], 3, axis=1), "async all_gather")
    wbar = c.barrier(async_op=True)
    wbar.wait()


def p2p(c):
    r, n = c.rank, c.size
    right, left = (r + 1) % n, (r - 1) % n
    got = np.zeros(5, np.int64)
    rw = c.irecv(got, left, tag=3)
    sw = c.isend(np.arange(5, dtype=np.int64) + r, right, tag=3)
    rw.wait()
    sw.wait()
    close(got, np.arange(5, dtype=np.int64) + left, "ring isend/irecv")
    check(rw.result() == left, "irecv source")
    if r == 0:
        sources = set()
        for _ in range(n - 1):
            buf = np.zeros((2, 2), np.float32)
            src = c.recv(buf, None, tag=9)
            close(buf, np.full((2, 2), float(src), np.float32), "recv any source")
            sources.add(src)
        check(sources == set(range(1, n)), "all sources heard")
    else:
        c.send(np.full((2, 2), float(r), np.float32), 0, tag=9)


def objects(c):
    r, n = c.rank, c.size
    check(c.broadcast_object({"from": r, "x": [1, 2]} if r == 1 else None, 1) == {"from": 1, "x": [1, 2]}, "bcast obj")
    check(c.all_gather_object(("r", r)) == [("r", k) for k in range(n)], "all_gather_object")
    g = c.gather_object(r * 10, 0)
    check(g == [k * 10 for k in range(n)] if r == 0 else g is None, "gather_object")
    check(c.scatter_object([f"s{k}" for k in range(n)] if r == n - 1 else None, n - 1) == f"s{r}", "scatter_object")
    lr, ls = c.local_rank()
    check(ls == n and lr == r, "local rank (one node)")


def groups(c):
    r, n = c.rank, c.size
    members = [0, n - 1]
    sub = c.split(members)
    if r not in members:
        check(sub is None, "non-member gets None")
    else:
        check(sub.size == 2 and sub.rank == members.index(r) and list(sub.world_ranks) == members, "sub ranks")
        a = np.full(4, float(r + 1))
        sub.all_reduce(a)
        close(a, np.full(4, float(members[0] + members[1] + 2)), "sub all_reduce")
        out = np.zeros((2, 1))
        sub.all_gather(out, np.array([float(r)]))
        close(out, np.array([[members[0]], [members[1]]], float), "sub all_gather")
        sub.barrier()
        sub.free()
    if r in members:  # created only by its members
        loc = c.split(members, local=True)
        a = np.array([1.0])
        loc.all_reduce(a)
        close(a, np.array([2.0]), "local-sync group")
        loc.free()
    c.barrier()


def staging(c):
    """Device arrays through MPI, staged through pooled host buffers or handed over to a CUDA-aware MPI. A toy
    device backend (numpy memory, device index 0) stands in for cupy, so every device path runs on a CPU."""
    import os

    from disttorch.backends import Backend, register_backend, unregister_backend

    class DevArray(np.ndarray):
        pass

    class DevBackend(Backend):
        name = device_type = "devtoy"
        array_types = (DevArray,)
        xp = np

        def asarray(self, obj, dtype=None, device_index=None, copy=False):
            return np.array(obj, dtype=dtype, copy=True).view(DevArray)

        def to_numpy(self, arr):
            return arr.view(np.ndarray)

        def device_index(self, arr):
            return 0

    register_backend(DevBackend())
    r, n = c.rank, c.size
    try:
        for aware in ("0", "1"):
            os.environ["DISTTORCH_CUDA_AWARE_MPI"] = aware
            d = MPICommunicator(timeout=30)
            for dtype in (np.float32, np.float16, np.int64):
                every = [data(k, (4, 6), dtype) for k in range(n)]
                a = every[r].copy().view(DevArray)
                d.all_reduce(a)
                close(a.view(np.ndarray), np.sum(every, axis=0).astype(dtype), f"staged all_reduce {dtype} {aware}")
                b = every[r].copy().view(DevArray)
                d.all_reduce(b[:, ::2], ReduceOp.MAX)  # non-contiguous
                want = every[r].copy()
                want[:, ::2] = np.max(every, axis=0)[:, ::2]
                close(b.view(np.ndarray), want, f"staged strided all_reduce {dtype} {aware}")
            x = (np.arange(5.0) * (r + 1)).view(DevArray)
            d.broadcast(x, n - 1)
            close(x.view(np.ndarray), np.arange(5.0) * n, f"staged broadcast {aware}")
            out = np.zeros((n, 3), np.int32).view(DevArray)
            w = d.all_gather(out, np.full(3, r, np.int32).view(DevArray), async_op=True)
            w.wait()
            close(out.view(np.ndarray), np.repeat(np.arange(n, dtype=np.int32)[:, None], 3, axis=1),
                  f"staged async all_gather {aware}")
            check(len(d._pinned) == (1 if aware == "0" else 0), f"pinned pool reused: {len(d._pinned)} {aware}")
            d.free()
    finally:
        os.environ.pop("DISTTORCH_CUDA_AWARE_MPI", None)
        unregister_backend("devtoy")


def mismatch(c):
    """Ranks disagreeing about a collective get an error naming them (debug mode: every collective)."""
    r = c.rank
    try:
        c.all_reduce(np.ones(4 + (r == 1), np.float32))
        check(False, "mismatch not detected")
    except CollectiveError as e:
        msg = str(e)
        check("rank 0" in msg and "rank 1" in msg and "shape" in msg and "(4,)" in msg and "(5,)" in msg, msg)
    try:
        c.broadcast(np.ones(3, np.float64 if r == 0 else np.float32), 0)
        check(False, "dtype mismatch not detected")
    except CollectiveError as e:
        check("dtype" in str(e), str(e))


def first_call(c):
    """Without debug mode every collective is checked (a mismatch then ends the job at exit)."""
    fresh = MPICommunicator(debug=False)
    try:
        fresh.all_reduce(np.ones(3, np.float32), ReduceOp.MAX if fresh.rank == 1 else ReduceOp.SUM)
        check(False, "op mismatch not detected")
    except CollectiveError as e:
        check("op=MAX" in str(e) and "op=SUM" in str(e) and "differ in op" in str(e), str(e))
    fresh.free()


def main():
    c = MPICommunicator(timeout=30)
    for name in sys.argv[1:]:
        globals()[name](c)
    c.barrier()
    c.free()
    print(f"OK rank {c.rank} checks {checks}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(1)
