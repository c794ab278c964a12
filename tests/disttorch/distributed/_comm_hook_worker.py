"""DDP communication hooks on N ranks (``python _comm_hook_worker.py``): each rank prints ``PASS hooks rank R``
when the checks hold. Ranks train on different data from the same weights."""
import numpy as np

import disttorch as torch
import disttorch.distributed as dist
from disttorch.distributed.algorithms.ddp_comm_hooks import default_hooks
from disttorch.nn.parallel import DistributedDataParallel as DDP


def grads(hook=None, state=None, bucket_cap_mb=None, steps=1, builtin=None):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    if hook is not None:
        ddp.register_comm_hook(state, hook)
    if builtin is not None:
        ddp._register_builtin_comm_hook(builtin)
    r = dist.get_rank()
    x = torch.tensor(np.random.default_rng(r).standard_normal((5, 8)).astype("float32"))
    for _ in range(steps):
        ddp.zero_grad()
        ddp(x).pow(2).sum().backward()
    return [p.grad.numpy().copy() for p in model.parameters()], ddp


def main():
    dist.init_process_group()
    r = dist.get_rank()
    plain, _ = grads()
    # the default hook gives DDP's own averages, whatever the bucketing
    for cap in (None, 0.0005):
        got, _ = grads(default_hooks.allreduce_hook, None, cap, steps=2)
        for a, b in zip(got, plain):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    got, _ = grads(builtin=dist.BuiltinCommHookType.ALLREDUCE)
    for a, b in zip(got, plain):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for hook in (default_hooks.fp16_compress_hook, default_hooks.bf16_compress_hook):
        got, _ = grads(hook)
        for a, b in zip(got, plain):
            np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-2)
    # a hook that returns the buffer as it is: each rank keeps its local (not averaged) gradients
    seen = []

    def noop(state, bucket):
        seen.append((bucket.index(), bucket.is_last(), len(bucket.parameters()), bucket.buffer().numel(),
                     [tuple(g.shape) for g in bucket.gradients()]))
        fut = torch.futures.Future()
        fut.set_result(bucket.buffer())
        return fut

    torch.manual_seed(0)
    local_model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    x = torch.tensor(np.random.default_rng(r).standard_normal((5, 8)).astype("float32"))
    local_model(x).pow(2).sum().backward()
    got, ddp = grads(noop, "state")
    for a, p in zip(got, local_model.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert len(seen) == len(ddp._buckets) and seen[-1][1] and sum(s[2] for s in seen) == 4, seen
    assert sum(s[3] for s in seen) == sum(p.numel() for p in local_model.parameters()), seen
    try:
        ddp.register_comm_hook(None, noop)
    except RuntimeError as e:
        assert "can only be called once" in str(e)
    else:
        raise AssertionError("a second hook was accepted")
    print(f"PASS hooks rank {r}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
