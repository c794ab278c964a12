"""optim.swa_utils against PyTorch: averaged weights, buffers, n_averaged and update_bn's statistics."""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _model(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2)).double()


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _load(model, arrays):
    model.load_state_dict({k: (disttorch.tensor(v) if isinstance(model, disttorch.nn.Module) else torch.tensor(v))
                           for k, v in arrays.items()})


def _states(seed, n):
    rng = np.random.default_rng(seed)
    ref = {k: _np(v) for k, v in _model(torch).state_dict().items()}
    out = []
    for _ in range(n):
        out.append({k: (v + rng.standard_normal(v.shape) if v.dtype.kind == "f" else v + 1) for k, v in ref.items()})
    return out


CASES = [
    dict(),
    dict(use_buffers=True),
    dict(avg_fn="ema"),
    dict(multi_avg_fn="ema", use_buffers=True),
    dict(multi_avg_fn="swa"),
    dict(avg_fn="swa"),
]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_averaged_model_matches_torch(case):
    states = _states(0, 4)
    results = []
    for lib in (disttorch, torch):
        su = lib.optim.swa_utils
        kw = dict(case)
        if kw.get("avg_fn") == "ema":
            kw["avg_fn"] = su.get_ema_avg_fn(0.7)
        elif kw.get("avg_fn") == "swa":
            kw["avg_fn"] = su.get_swa_avg_fn()
        if kw.get("multi_avg_fn") == "ema":
            kw["multi_avg_fn"] = su.get_ema_multi_avg_fn(0.6)
        elif kw.get("multi_avg_fn") == "swa":
            kw["multi_avg_fn"] = su.get_swa_multi_avg_fn()
        model = _model(lib)
        avg = su.AveragedModel(model, **kw)
        for st in states:
            _load(model, st)
            avg.update_parameters(model)
        results.append({k: _np(v) for k, v in avg.state_dict().items()})
        x = np.random.default_rng(1).standard_normal((5, 3))
        avg.eval()
        results.append(_np(avg(lib.tensor(x))))
    ours, theirs = results[0], results[2]
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        assert ours[k].dtype == theirs[k].dtype, k
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-12, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(results[1], results[3], rtol=1e-12)


def test_update_bn_matches_torch():
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((6, 3)) * 2 + 1 for _ in range(3)]
    init = {k: _np(v) for k, v in _model(torch).state_dict().items()}
    stats = []
    for lib in (disttorch, torch):
        model = _model(lib)
        _load(model, init)
        model.eval()
        lib.optim.swa_utils.update_bn([(lib.tensor(b), 0) for b in batches], model)
        assert not model.training and model[1].momentum == 0.1
        stats.append([_np(model[1].running_mean), _np(model[1].running_var), int(model[1].num_batches_tracked)])
    for a, b in zip(*stats):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_errors_match_torch():
    for lib in (torch, disttorch):
        su = lib.optim.swa_utils
        for fn in (su.get_ema_avg_fn, su.get_ema_multi_avg_fn):
            with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
                fn(1.5)
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            su.AveragedModel(_model(lib), avg_fn=su.get_swa_avg_fn(), multi_avg_fn=su.get_swa_multi_avg_fn())


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.2], anneal_epochs=3, anneal_strategy="linear"),
                                dict(swa_lr=0.01, anneal_epochs=0)])
def test_swalr_matches_torch(kw):
    lrs = []
    for lib in (disttorch, torch):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=1.0)
        sched = lib.optim.swa_utils.SWALR(opt, **kw)
        seen = [sched.get_last_lr()]
        for _ in range(14):
            opt.step()
            sched.step()
            seen.append(sched.get_last_lr())
        assert opt.param_groups[1]["swa_lr"] == (kw["swa_lr"][1] if isinstance(kw["swa_lr"], list) else kw["swa_lr"])
        sd = sched.state_dict()
        lrs.append((seen, sorted(sd)))
    np.testing.assert_allclose(lrs[0][0], lrs[1][0], rtol=1e-12)
    assert lrs[0][1] == lrs[1][1]


def test_swalr_errors_match_torch():
    for lib in (torch, disttorch):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=1.0)
        with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got x"):
            lib.optim.swa_utils.SWALR(opt, 0.1, anneal_strategy="x")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, got -1"):
            lib.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
