"""Faults in default mode (no debug setting): ``python _exit_worker.py MODE``. The last rank (``odd``) is the
one that misbehaves; the others train on. Prints ``PASS <what> rank R`` lines where a rank checks something
itself; otherwise the test reads the exit status, the time and the messages."""
import os
import signal
import sys
import time
from datetime import timedelta

from disttorch.collectives.base import CollectiveError

import disttorch as torch
import disttorch.distributed as dist


def train(steps, odd_action=None, at=3):
    """all_reduce a gradient-sized tensor every step; the odd rank runs ``odd_action`` at step ``at``."""
    r, odd = dist.get_rank(), dist.get_world_size() - 1
    t = torch.ones(256)
    for step in range(steps):
        if r == odd and step == at and odd_action is not None:
            print(f"FAULT {time.time():.3f}", flush=True)  # the test times the end of the job from here
            odd_action()
        dist.all_reduce(t)
    print(f"rank {r} finished {steps} steps", flush=True)


def mismatch(r):
    """One disagreement (``sys.argv[2]``) after an agreed collective of the same kind, in default mode: every
    rank raises, naming the ranks and the field, and the job then ends non-zero."""
    kind = sys.argv[2]
    odd = dist.get_world_size() - 1
    me = r == odd
    calls = {
        "shape": lambda: dist.all_reduce(torch.ones(5 if me else 4)),
        "dtype": lambda: dist.all_reduce(torch.ones(4, dtype=torch.int32 if me else torch.float32)),
        "op": lambda: dist.all_reduce(torch.ones(4), op=dist.ReduceOp.MAX if me else dist.ReduceOp.SUM),
        "root": lambda: dist.broadcast(torch.ones(4), src=1 if me else 0),
        "collective": lambda: dist.broadcast(torch.ones(4), src=0) if me else dist.all_reduce(torch.ones(4)),
        "barrier": lambda: dist.barrier() if me else dist.all_reduce(torch.ones(4)),
    }
    dist.all_reduce(torch.ones(4))
    dist.broadcast(torch.ones(4), src=0)
    print(f"FAULT {time.time():.3f}", flush=True)
    try:
        calls[kind]()
    except CollectiveError as e:
        print(f"PASS rank {r}: {e}", flush=True)
        return
    print(f"rank {r}: no mismatch detected", flush=True)


def timeout(r):
    """The odd rank sleeps far past the 2 s timeout: the job ends, each rank saying what it was doing."""
    train(5, lambda: time.sleep(60))


def exit0(r):
    train(40, lambda: sys.exit(0))


def exit3(r):
    train(40, lambda: sys.exit(3))


def osexit(r):
    train(40, lambda: os._exit(0))


def _die(how):
    """The odd rank ends without Python's exit: by a signal to itself only (as a user's ``kill -9 <pid>`` or the
    kernel's out-of-memory killer would), or by the C library's ``_exit``."""
    def act():
        print(f"PID {os.getpid()}", flush=True)
        if how == "c_exit":
            import ctypes

            ctypes.CDLL(None)._exit(5)
        os.kill(os.getpid(), getattr(signal, how.upper()))
    return act


def sigkill(r):
    train(40, _die("sigkill"))


def sigterm(r):
    train(40, _die("sigterm"))


def c_exit(r):
    train(40, _die("c_exit"))


def finally_destroy(r):
    """PyTorch's common idiom; the odd rank raises inside it."""
    def boom():
        raise ValueError("boom on the odd rank")
    try:
        train(40, boom)
    finally:
        dist.destroy_process_group()


def early_return(r):
    """The odd rank runs fewer steps and returns from the script."""
    if r == dist.get_world_size() - 1:
        train(3)
        print(f"FAULT {time.time():.3f}", flush=True)
    else:
        train(40)


def clean(r):
    """Everybody finishes: exit status 0, quickly (the exit handshake must not wait)."""
    train(5)


def work(r):
    """Work objects: AVG finished without wait() (by the next collective), write-back into a non-contiguous
    view on wait(), is_completed()/exception(), destroy with pending work warns and waits."""
    import warnings

    n = dist.get_world_size()
    t = torch.full((8,), float(r + 1))
    w = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    dist.all_reduce(torch.ones(2))  # never waited: the next collective finishes it
    assert t.tolist() == [(n + 1) / 2] * 8, t.tolist()
    assert w.is_completed() and w.exception() is None and w.is_success()
    base = torch.zeros(4, 6)
    view = base[:, ::2]
    view.fill_(float(r))
    w = dist.all_reduce(view, op=dist.ReduceOp.AVG, async_op=True)
    w.wait()
    assert view.tolist() == [[(n - 1) / 2] * 3] * 4 and base[:, 1::2].abs().sum().item() == 0, base.tolist()
    t = torch.full((3,), float(r))
    dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist.destroy_process_group()
    assert any("still pending" in str(c.message) for c in caught), [str(c.message) for c in caught]
    assert t.tolist() == [(n - 1) / 2] * 3, t.tolist()
    print(f"PASS work rank {r}", flush=True)


def uneven_ddp(r):
    """DDP without join(): the odd rank has fewer batches and returns; the others' next backward names it."""
    from disttorch.nn.parallel import DistributedDataParallel as DDP

    model = DDP(torch.nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = 3 if r == dist.get_world_size() - 1 else 40
    for _ in range(batches):
        opt.zero_grad()
        model(torch.randn(4, 8)).sum().backward()
        opt.step()
    if batches == 3:
        print(f"FAULT {time.time():.3f}", flush=True)
    print(f"rank {r} finished {batches} steps", flush=True)


def join(r):
    """DDP.join() with uneven inputs (rank 0: 5 batches, the others 3): every rank ends with the model of
    plain SGD on the averaged gradients (divided by the initial world size), computed here in one process."""
    from disttorch.nn.parallel import DistributedDataParallel as DDP

    n = dist.get_world_size()
    batches = [5 if q == 0 else 3 for q in range(n)]

    def data(q, step):
        torch.manual_seed(100 * q + step)
        return torch.randn(4, 8)

    torch.manual_seed(0)
    ref = torch.nn.Linear(8, 2)
    torch.manual_seed(0)
    model = DDP(torch.nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with model.join():
        for step in range(batches[r]):
            x = data(r, step)
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    with torch.no_grad():
        for step in range(max(batches)):
            grads = [torch.zeros_like(p) for p in ref.parameters()]
            for q in range(n):
                if step < batches[q]:
                    ref.zero_grad()
                    with torch.enable_grad():
                        ref(data(q, step)).pow(2).sum().backward()
                    for g, p in zip(grads, ref.parameters()):
                        g += p.grad / n
            for g, p in zip(grads, ref.parameters()):
                p -= 0.1 * g
    for p, q in zip(model.module.parameters(), ref.parameters()):
        assert torch.allclose(p, q, atol=1e-5), (p, q)
    print(f"PASS join rank {r}", flush=True)
    dist.destroy_process_group()


def before_init(r):
    pass  # handled in main


def main():
    mode = sys.argv[1]
    if mode == "before_init" and os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK")) == "1":
        raise ValueError("boom before init_process_group")
    dist.init_process_group(timeout=timedelta(seconds=2) if mode == "timeout" else None)
    if mode == "before_init":
        dist.all_reduce(torch.ones(3))
    globals()[mode](dist.get_rank())


if __name__ == "__main__":
    main()
