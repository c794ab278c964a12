"""Runs under ``mpiexec -n N`` (or alone for a world of 1): DDP / SyncBatchNorm scenarios, each checked
against a single-process reference computed on every rank. Prints ``PASS <name>`` or ``FAIL <name>: why``
per scenario and rank; the test driver checks those lines.

usage: python _ddp_worker.py [--device=cuda --backend=nccl|mpi] scenario [scenario ...]

With ``--device=cuda`` models and batches are cuda tensors (on the cupy stand-in in CI): a world of one over
NCCL, or 2 and 3 ranks over MPI with the cuda arrays staged through host memory.
"""
from __future__ import annotations

import sys
import traceback

import numpy as np

import disttorch as torch
import disttorch.distributed as dist
from disttorch import nn
from disttorch.nn.parallel import DistributedDataParallel as DDP

TOL = dict(rtol=1e-10, atol=1e-12)
OPTIONS = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
DEVICE = OPTIONS.get("device", "cpu")


def on(module: nn.Module) -> nn.Module:
    return module.to(DEVICE)


def inside(view, flat) -> bool:
    """Whether array ``view`` lies in the memory of array ``flat`` (numpy or cupy)."""
    if isinstance(view, np.ndarray):
        return np.shares_memory(view, flat)
    lo = flat.data.ptr
    return lo <= view.data.ptr < lo + flat.nbytes


class Net(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Linear, plus a parameter forward never uses."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)
        self.unused = nn.Parameter(torch.randn(4))

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


class Plain(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, width)
        self.fc2 = nn.Linear(width, width)
        self.fc3 = nn.Linear(width, 3)

    def forward(self, x):
        return self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))


def batch(step: int, n: int = 12):
    rs = np.random.RandomState(100 + step)
    return torch.tensor(rs.randn(n, 6), device=DEVICE), torch.tensor(rs.randint(0, 3, size=n), device=DEVICE)


def splits(n: int, world: int, uneven: bool) -> list[tuple[int, int]]:
    if not uneven:
        per = n // world
        return [(r * per, (r + 1) * per) for r in range(world)]
    sizes = [n // world + d for d in ([0] if world == 1 else [-1, 1] if world == 2 else [-1, 0, 1])]
    sizes[-1] = n - sum(sizes[:-1])
    bounds = np.cumsum([0] + sizes)
    return [(int(bounds[r]), int(bounds[r + 1])) for r in range(world)]


def assert_close(a, b, what: str) -> None:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    if not np.allclose(a, b, **TOL):
        raise AssertionError(f"{what}: max abs diff {np.max(np.abs(a - b))}")


def same_state(model: nn.Module, ref: nn.Module) -> None:
    mine, theirs = model.state_dict(), ref.state_dict()
    assert list(mine) == list(theirs), (list(mine), list(theirs))
    for k in mine:
        assert_close(mine[k], theirs[k], k)


def train_equivalence(uneven: bool) -> None:
    """N ranks on shards of each global batch == one process on the whole batch (SGD with momentum)."""
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    ref = on(Net())
    torch.manual_seed(1 + rank)  # different init per rank: DDP must broadcast rank 0's
    net = on(Net())
    if rank == 0:
        net.load_state_dict(ref.state_dict())
    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(net), find_unused_parameters=True)
    assert isinstance(model.module.bn, nn.SyncBatchNorm)
    assert {p.device.type for p in model.parameters()} == {DEVICE}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    n = 12
    for step in range(5):
        x, y = batch(step, n)
        lo, hi = splits(n, world, uneven)[rank]
        opt.zero_grad()
        out = model(x[lo:hi])
        # sum over the shard scaled so that DDP's average equals the mean over the global batch
        loss = nn.functional.cross_entropy(out, y[lo:hi], reduction="sum") * (world / n)
        loss.backward()
        opt.step()
        ref_opt.zero_grad()
        nn.functional.cross_entropy(ref(x), y).backward()
        ref_opt.step()
        assert model.module.unused.grad is None and ref.unused.grad is None
    same_state(model.module, ref)
    # eval mode: running statistics, no communication
    model.eval()
    ref.eval()
    x, _ = batch(99)
    assert_close(model(x), ref(x), "eval output")


def scenario_equivalence() -> None:
    train_equivalence(uneven=False)


def scenario_equivalence_uneven() -> None:
    train_equivalence(uneven=True)


def scenario_sync_batchnorm() -> None:
    """SyncBatchNorm2d on uneven shards: output, input/parameter gradients and running stats equal
    BatchNorm2d on the concatenated batch."""
    rank, world = dist.get_rank(), dist.get_world_size()
    rs = np.random.RandomState(7)
    n = 10
    x = torch.tensor(rs.randn(n, 3, 4, 5) * 3 + 1, device=DEVICE)
    g = torch.tensor(rs.randn(n, 3, 4, 5), device=DEVICE)
    lo, hi = splits(n, world, uneven=True)[rank]
    ref = on(nn.BatchNorm2d(3, momentum=None))
    sync = on(nn.SyncBatchNorm(3, momentum=None))
    with torch.no_grad():
        for m in (ref, sync):
            m.weight[:] = torch.tensor([1.5, -0.5, 2.0], device=DEVICE)
            m.bias[:] = torch.tensor([0.1, 0.2, 0.3], device=DEVICE)
    xr = x.clone().requires_grad_()
    yr = ref(xr)
    (yr * g).sum().backward()
    xs = x[lo:hi].clone().requires_grad_()
    ys = sync(xs)
    (ys * g[lo:hi]).sum().backward()
    assert_close(ys, yr[lo:hi], "output")
    assert_close(xs.grad, xr.grad[lo:hi], "input grad")
    gw = sync.weight.grad.clone()
    gb = sync.bias.grad.clone()
    dist.all_reduce(gw)
    dist.all_reduce(gb)
    assert_close(gw, ref.weight.grad, "weight grad (summed over ranks)")
    assert_close(gb, ref.bias.grad, "bias grad (summed over ranks)")
    for k in ("running_mean", "running_var", "num_batches_tracked"):
        assert_close(getattr(sync, k), getattr(ref, k), k)
    sync.eval()
    ref.eval()
    assert_close(sync(x[lo:hi]), ref(x)[lo:hi], "eval output")


def scenario_no_sync() -> None:
    """Two micro-batches, the first under no_sync: the accumulated, reduced grads equal one step over all."""
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    ref = on(Plain())
    torch.manual_seed(0)
    model = DDP(on(Plain()))
    n = 12 * world  # 12 rows per rank: two micro-batches of 6
    x, y = batch(3, n)
    mine = slice(12 * rank, 12 * rank + 12)
    xs, ys = x[mine], y[mine]
    scale = 1.0 / n
    with model.no_sync():
        (nn.functional.cross_entropy(model(xs[:6]), ys[:6], reduction="sum") * scale * world).backward()
    # still local: the gradient of this rank's first micro-batch only
    local = on(Plain())
    local.load_state_dict(ref.state_dict())
    (nn.functional.cross_entropy(local(xs[:6]), ys[:6], reduction="sum") * scale * world).backward()
    for p, q in zip(model.module.parameters(), local.parameters()):
        assert_close(p.grad, q.grad, "local grad inside no_sync")
    (nn.functional.cross_entropy(model(xs[6:]), ys[6:], reduction="sum") * scale * world).backward()
    nn.functional.cross_entropy(ref(x), y).backward()
    for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
        assert_close(p.grad, q.grad, name)


def scenario_bucket_view() -> None:
    """gradient_as_bucket_view: grads are views of the flat buckets, training matches the reference."""
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    ref = on(Plain(16))
    torch.manual_seed(0)
    model = DDP(on(Plain(16)), gradient_as_bucket_view=True, bucket_cap_mb=0.001)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    n = 6 * world
    for step in range(4):
        x, y = batch(step, n)
        opt.zero_grad(set_to_none=step % 2 == 0)
        nn.functional.cross_entropy(model(x[6 * rank:6 * rank + 6]), y[6 * rank:6 * rank + 6]).backward()
        opt.step()
        ref_opt.zero_grad()
        nn.functional.cross_entropy(ref(x), y).backward()
        ref_opt.step()
        if world > 1:
            flats = [b.flat for b in model._buckets]
            for name, p in model.module.named_parameters():
                assert any(inside(p.grad._data, f) for f in flats), f"{name}.grad is not a bucket view"
    same_state(model.module, ref)


def scenario_many_buckets() -> None:
    """A tiny bucket_cap_mb gives one bucket per parameter; results match one big bucket and the reference."""
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    ref = on(Plain(16))
    results = []
    for cap in (1e-5, 25):
        torch.manual_seed(0)
        model = DDP(on(Plain(16)), bucket_cap_mb=cap)
        nparams = len(list(model.parameters()))
        assert len(model._buckets) == (nparams if cap < 1 else 1), (cap, len(model._buckets))
        x, y = batch(5, 6 * world)
        nn.functional.cross_entropy(model(x[6 * rank:6 * rank + 6]), y[6 * rank:6 * rank + 6]).backward()
        results.append([p.grad.clone() for p in model.parameters()])
    x, y = batch(5, 6 * world)
    nn.functional.cross_entropy(ref(x), y).backward()
    for a, b, q in zip(results[0], results[1], ref.parameters()):
        assert_close(a, q.grad, "many buckets")
        assert_close(b, q.grad, "one bucket")


def scenario_overlap() -> None:
    """With small buckets the first all-reduce starts while backward is still producing gradients."""
    torch.manual_seed(0)
    model = DDP(on(Plain(64)), bucket_cap_mb=0.001)
    events: list[str] = []
    launch = model._launch

    def recording_launch(b):
        events.append(f"launch{b.index}")
        launch(b)

    model._launch = recording_launch
    for name, p in model.module.named_parameters():
        p.register_post_accumulate_grad_hook(lambda _p, name=name: events.append(f"grad:{name}"))
    finalize = model._finalize

    def recording_finalize():
        events.append("end")
        finalize()

    model._finalize = recording_finalize
    x, y = batch(0, 6)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert events[-1] == "end", events
    first_launch = events.index("launch0")
    last_grad = max(i for i, e in enumerate(events) if e.startswith("grad:"))
    assert first_launch < last_grad, f"no communication started during backward: {events}"
    # buckets are launched in order, each once
    launches = [e for e in events if e.startswith("launch")]
    assert launches == [f"launch{i}" for i in range(len(model._buckets))], launches
    assert len(model._buckets) >= 3


def scenario_mismatch() -> None:
    """Ranks with different models: every rank raises, naming the parameter and the ranks."""
    rank, world = dist.get_rank(), dist.get_world_size()
    last = world - 1
    odd = on(nn.Linear(3, 4 if rank == last else 3))
    try:
        DDP(odd)
    except RuntimeError as e:
        want = f"rank {last} has parameter 'weight' of shape [4, 3] while rank 0 has 'weight' of shape [3, 3]"
        assert want in str(e), str(e)
    else:
        raise AssertionError("no error for mismatched shapes")
    odd = on(nn.Sequential(nn.Linear(3, 3), *([nn.Linear(3, 3)] if rank == last else [])))
    try:
        DDP(odd)
    except RuntimeError as e:
        want = f"DDP expects same model across all ranks, but Rank 0 has 2 params, while rank {last} has " \
               f"inconsistent 4 params."
        assert want in str(e), str(e)
    else:
        raise AssertionError("no error for mismatched parameter counts")


class WithBuffer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.register_buffer("scale", torch.ones(2))
        self.seen: list = []

    def forward(self, x):
        self.seen.append(self.scale.clone())
        return self.fc(x) * self.scale


def scenario_buffers() -> None:
    """Parameters and buffers come from rank 0 at construction; buffers again before every forward."""
    rank = dist.get_rank()
    torch.manual_seed(rank)
    m = on(WithBuffer())
    m.scale[:] = rank + 1.0
    w0 = m.fc.weight.clone()
    dist.broadcast(w0, 0)
    model = DDP(m)
    assert_close(m.fc.weight, w0, "weight after construction")
    assert_close(m.scale, torch.ones(2, device=DEVICE), "buffer after construction")
    m.scale[:] = rank + 5.0
    model(torch.ones(1, 2, device=DEVICE))
    assert_close(m.seen[-1], torch.full((2,), 5.0, device=DEVICE), "buffer seen by forward")
    model2 = DDP(on(WithBuffer()), broadcast_buffers=False)
    model2.module.scale[:] = rank + 5.0
    model2(torch.ones(1, 2, device=DEVICE))
    assert_close(model2.module.seen[-1], torch.full((2,), rank + 5.0, device=DEVICE),
                 "buffer without broadcast_buffers")


def scenario_state_dict() -> None:
    """state_dict keys carry the ``module.`` prefix and load back; ``module`` is the wrapped model."""
    torch.manual_seed(0)
    inner = on(Net())
    model = DDP(inner, find_unused_parameters=True)
    assert model.module is inner
    keys = list(model.state_dict())
    assert keys == ["module." + k for k in inner.state_dict()], keys
    sd = {k: v * 0 + 1 for k, v in model.state_dict().items()}
    model.load_state_dict(sd)
    assert float(inner.fc1.weight.sum()) == inner.fc1.weight.numel()
    assert [n for n, _ in model.named_parameters()] == ["module." + n for n, _ in inner.named_parameters()]


def scenario_unused_error() -> None:
    """Without find_unused_parameters an unused parameter makes the next forward raise PyTorch's error."""
    torch.manual_seed(0)
    model = DDP(on(Net()))
    x, y = batch(0, 6)
    nn.functional.cross_entropy(model(x), y).backward()
    try:
        model(x)
    except RuntimeError as e:
        assert "Expected to have finished reduction in the prior iteration before starting a new one" in str(e)
        assert "unused" in str(e).split("did not receive grad")[-1], str(e)
    else:
        raise AssertionError("no error for an unused parameter")


def scenario_partly_unused() -> None:
    """find_unused_parameters: a parameter used on rank 0 only gets rank 0's gradient / world on every rank;
    one used nowhere keeps grad None."""
    rank, world = dist.get_rank(), dist.get_world_size()

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)
            self.b = nn.Linear(2, 2)
            self.c = nn.Linear(2, 2)

        def forward(self, x, use_b):
            h = self.a(x)
            return self.b(h) if use_b else h

    torch.manual_seed(0)
    model = DDP(on(Branchy()), find_unused_parameters=True)
    x = torch.ones(3, 2, device=DEVICE)
    model(x, use_b=rank == 0).sum().backward()
    torch.manual_seed(0)
    ref = on(Branchy())
    ref(x, use_b=True).sum().backward()
    assert_close(model.module.b.weight.grad, ref.b.weight.grad / world, "b.weight")
    assert model.module.c.weight.grad is None
    # a second iteration works (no leftover state)
    model.zero_grad()
    model(x, use_b=True).sum().backward()
    assert_close(model.module.b.weight.grad, ref.b.weight.grad, "b.weight (all ranks use it)")


def main() -> None:
    dist.init_process_group(OPTIONS.get("backend"))
    rank = dist.get_rank()
    if DEVICE == "cuda":  # under mpiexec init_process_group gave rank r the device local_rank % device_count
        want = dist.get_local_rank() % torch.cuda.device_count()
        assert torch.cuda.current_device() == want, (torch.cuda.current_device(), want)
    failed = False
    for name in (a for a in sys.argv[1:] if not a.startswith("--")):
        try:
            globals()[f"scenario_{name}"]()
            print(f"PASS {name} rank {rank}", flush=True)
        except Exception:
            failed = True
            msg = traceback.format_exc().replace("\n", "\n    ")
            print(f"FAIL {name} rank {rank}: {msg}", flush=True)
    dist.destroy_process_group()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    main()
