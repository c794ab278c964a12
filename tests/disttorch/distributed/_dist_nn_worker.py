"""Run on N ranks: torch.distributed.nn.functional's forward values and gradients against the closed form.

usage: python _dist_nn_worker.py            (disttorch, under mpiexec; prints ``OK rank R checks K``)
       python _dist_nn_worker.py torch N     (real PyTorch on N gloo processes, for the comparison test)
With DIST_NN_OUT set, both write DIST_NN_OUT/rank<R>.json: every scenario's forward, gradient and grad_fn
name, so the test can compare disttorch with PyTorch number for number. Rank r's loss is weighted by
c_r = r + 2, so each closed form below names which ranks' weights reach which input.
"""
import json
import os
import sys
import warnings

import numpy as np

checks = 0


def check(cond, what):
    global checks
    assert cond, what
    checks += 1


def scenarios(torch, dist, F, r, n, uneven=True):
    """name -> (forward values, gradient of this rank's input, grad_fn name); same code for both libraries.

    PyTorch's gloo path of all_to_all runs one scatter per rank, which needs equal pieces: ``uneven=False``
    leaves that scenario out there.
    """
    out = {}
    c = float(r + 2)  # this rank's loss weight

    def leaf(*shape):
        return (torch.arange(float(np.prod(shape)), dtype=torch.float64).reshape(shape) + 10 * r).requires_grad_()

    def run(name, x, make):
        y = make(x)
        ys = y if isinstance(y, tuple) else (y,)
        loss = sum((t * c * (j + 1)).sum() for j, t in enumerate(ys))
        loss.backward()
        fn = next((t.grad_fn for t in ys if t.grad_fn is not None), None)
        out[name] = ([t.detach().tolist() for t in ys], x.grad.tolist() if x.grad is not None else None,
                     fn.name() if fn is not None else None)

    run("all_reduce", leaf(2, 3), lambda x: F.all_reduce(x * (r + 1)))
    run("all_reduce_max", leaf(4), lambda x: F.all_reduce(x * (r + 1), op=dist.ReduceOp.MAX))
    run("all_gather", leaf(3), lambda x: F.all_gather(x * (r + 1)))
    run("broadcast", leaf(3), lambda x: F.broadcast(x * 1, n - 1))
    run("reduce", leaf(3), lambda x: F.reduce(x * 1, 0))
    run("gather", leaf(3), lambda x: F.gather(x * 1, 0))
    run("scatter", leaf(3), lambda x: F.scatter([x * (j + 1) for j in range(n)], 0))
    run("reduce_scatter", leaf(3), lambda x: F.reduce_scatter(torch.zeros(3, dtype=torch.float64),
                                                              [x * (j + 1) for j in range(n)]))
    run("all_to_all_even", leaf(n, 2), lambda x: F.all_to_all([torch.zeros(2, dtype=torch.float64) for _ in range(n)],
                                                              list((x * (r + 1)).unbind(0))))
    # uneven pieces: rank r sends r + j + 1 elements to rank j
    if uneven:
        run("all_to_all", leaf(n * (n + 1)),
            lambda x: F.all_to_all([torch.zeros(k + r + 1, dtype=torch.float64) for k in range(n)],
                                   list(torch.split(x[:sum(r + j + 1 for j in range(n))] * (r + 1),
                                                    [r + j + 1 for j in range(n)]))))
    send = [r + j + 1 for j in range(n)]
    recv = [k + r + 1 for k in range(n)]
    run("all_to_all_single", leaf(sum(send)),
        lambda x: F.all_to_all_single(torch.zeros(sum(recv), dtype=torch.float64), x * 1, recv, send))
    # the gradient's own graph: the backward is the adjoint Function, differentiable again
    x = leaf(3)
    (g,) = torch.autograd.grad((F.all_reduce(x) * x).sum() * c, x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    out["double_backward"] = ([g.detach().tolist()], gg.tolist(), g.grad_fn.name())
    return out


def closed_form(res, r, n):
    """The answer worked out by hand from every rank's leaf (10 k + arange) and weight (k + 2)."""
    xs = [lambda *s, k=k: np.arange(float(np.prod(s))).reshape(s) + 10 * k for k in range(n)]
    cs = [k + 2.0 for k in range(n)]
    C = sum(cs)

    def same(name, fwd, grad, fn):
        got_f, got_g, got_fn = res[name]
        if fwd is not None:
            check(len(got_f) == len(fwd), f"{name}: {len(got_f)} outputs, want {len(fwd)}")
            for a, b in zip(got_f, fwd):
                check(np.allclose(np.asarray(a), b), f"{name} forward: {a} want {b}")
        check(np.allclose(np.asarray(got_g), grad), f"{name} grad on rank {r}: {got_g} want {grad}")
        check(got_fn == fn, f"{name}: grad_fn {got_fn}, want {fn}")

    ones = np.ones(3)
    same("all_reduce", [sum((k + 1) * xs[k](2, 3) for k in range(n))], (r + 1) * C * np.ones((2, 3)),
         "_AllReduceBackward")
    # PyTorch's backward reuses the forward's op: the MAX over ranks of the incoming gradients c_k
    same("all_reduce_max", [np.max([(k + 1) * xs[k](4) for k in range(n)], 0)], (r + 1) * max(cs) * np.ones(4),
         "_AllReduceBackward")
    # output j is rank j's input; its gradient sums (j + 1) c_k over ranks k
    same("all_gather", [(j + 1) * xs[j](3) for j in range(n)], (r + 1) * (r + 1) * C * ones, "_AllGatherBackward")
    same("broadcast", [xs[n - 1](3)], (C if r == n - 1 else 0) * ones, "_BroadcastBackward")
    same("reduce", [sum(xs[k](3) for k in range(n))] if r == 0 else None, cs[0] * ones, "_ReduceBackward")
    same("gather", [xs[j](3) for j in range(n)] if r == 0 else [np.zeros(3)] * n, cs[0] * (r + 1) * ones,
         "_GatherBackward")
    same("scatter", [(r + 1) * xs[0](3)], (sum((j + 1) * cs[j] for j in range(n)) if r == 0 else 0) * ones,
         "_ScatterBackward")
    same("reduce_scatter", [(r + 1) * sum(xs[k](3) for k in range(n))], sum((j + 1) * cs[j] for j in range(n))
         * ones, "_Reduce_ScatterBackward")
    # output k on rank r is row r of rank k's input times k + 1, weighted c_r (k + 1): row j of rank r's input
    # goes to rank j as output r
    same("all_to_all_even", [(k + 1) * xs[k](n, 2)[r] for k in range(n)],
         np.stack([np.full(2, (r + 1) * cs[j] * (r + 1)) for j in range(n)]), "_AlltoAllBackward")
    # all_to_all: output k on rank r is rank k's piece r, scaled by k + 1; its weight here is c_r (k + 1)
    pieces = []
    grad = np.zeros(n * (n + 1))
    for k in range(n):
        start = sum(k + j + 1 for j in range(r))
        pieces.append((k + 1) * xs[k](n * (n + 1))[start:start + k + r + 1])
    start = 0
    for j in range(n):  # rank r's piece j went to rank j as that rank's output r
        grad[start:start + r + j + 1] = (r + 1) * cs[j] * (r + 1)
        start += r + j + 1
    same("all_to_all", pieces, grad, "_AlltoAllBackward")
    send = [r + j + 1 for j in range(n)]
    got = np.concatenate([xs[k](sum(k + j + 1 for j in range(n)))[sum(k + j + 1 for j in range(r)):][:k + r + 1]
                          for k in range(n)])
    same("all_to_all_single", [got], np.concatenate([np.full(send[j], cs[j]) for j in range(n)]),
         "_AlltoAllSingleBackward")
    # with A = sum_k x_k: g_r = d/dx_r sum_k c_k sum(A x_k) = c_r A + all_reduce(c x), the second term through
    # the backward's own all_reduce; differentiating sum_k sum(g_k) again gives C (through A) + n c_r
    A = sum(xs[k](3) for k in range(n))
    same("double_backward", [cs[r] * A + sum(cs[k] * xs[k](3) for k in range(n))], (C + n * cs[r]) * ones,
         "AddBackward0")


def _write(res, r):
    if os.environ.get("DIST_NN_OUT"):
        with open(os.path.join(os.environ["DIST_NN_OUT"], f"rank{r}.json"), "w") as f:
            json.dump(res, f)


def main():
    warnings.simplefilter("ignore", FutureWarning)  # the deprecation notices PyTorch gives too
    if len(sys.argv) > 1 and sys.argv[1] == "torch":
        import torch.multiprocessing as mp
        mp.spawn(_torch_rank, args=(int(sys.argv[2]),), nprocs=int(sys.argv[2]))
        return
    from datetime import timedelta

    import disttorch as torch
    import disttorch.distributed as dist
    import disttorch.distributed.nn.functional as F
    dist.init_process_group(timeout=timedelta(seconds=60))
    r, n = dist.get_rank(), dist.get_world_size()
    res = scenarios(torch, dist, F, r, n)
    closed_form(res, r, n)
    _write(res, r)
    dist.barrier()
    dist.destroy_process_group()
    print(f"OK rank {r} checks {checks}", flush=True)


def _torch_rank(r, n):
    import torch
    import torch.distributed as dist
    import torch.distributed.nn.functional as F
    warnings.simplefilter("ignore", FutureWarning)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ.get("DIST_NN_PORT", "29541"))
    dist.init_process_group("gloo", rank=r, world_size=n)
    res = scenarios(torch, dist, F, r, n, uneven=False)
    _write(res, r)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
