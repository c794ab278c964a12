"""Learning-rate schedulers against PyTorch: the same lr (and momentum) sequence, step by step."""
from __future__ import annotations

import warnings

import pytest

import disttorch

torch = pytest.importorskip("torch")


def _optimizer(lib, kind="SGD"):
    a, b = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _factories(lib):
    S = lib.optim.lr_scheduler
    return {
        "StepLR": lambda o: S.StepLR(o, step_size=4, gamma=0.5),
        "MultiStepLR": lambda o: S.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
        "ExponentialLR": lambda o: S.ExponentialLR(o, gamma=0.9),
        "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
        "LambdaLR": lambda o: S.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + e)),
        "LambdaLR-list": lambda o: S.LambdaLR(o, lr_lambda=[lambda e: 0.9 ** e, lambda e: 1 + e]),
        "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
        "LinearLR": lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8),
        "ConstantLR": lambda o: S.ConstantLR(o, factor=0.5, total_iters=6),
        "PolynomialLR": lambda o: S.PolynomialLR(o, total_iters=12, power=2.0),
        "OneCycleLR-cos": lambda o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=31),
        "OneCycleLR-linear-3": lambda o: S.OneCycleLR(o, max_lr=0.8, epochs=4, steps_per_epoch=8,
                                                      anneal_strategy="linear", three_phase=True, pct_start=0.25),
        "OneCycleLR-nomom": lambda o: S.OneCycleLR(o, max_lr=0.8, total_steps=40, cycle_momentum=False),
        "CyclicLR": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=3),
        "CyclicLR-tri2": lambda o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3,
                                              mode="triangular2"),
        "CyclicLR-exp": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range",
                                             gamma=0.9),
        "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01),
        "SequentialLR": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                     S.ExponentialLR(o, gamma=0.9),
                                                     S.StepLR(o, step_size=3, gamma=0.5)], milestones=[5, 12]),
        "ChainedScheduler": lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=4),
                                                          S.ExponentialLR(o, gamma=0.9),
                                                          S.CosineAnnealingLR(o, T_max=10)]),
    }


NAMES = list(_factories(disttorch))


def _momenta(opt):
    out = []
    for g in opt.param_groups:
        out.extend(g["betas"] if "betas" in g else [g["momentum"]])
    return out


def _trace(lib, name, kind, steps):
    opt = _optimizer(lib, kind)
    sched = _factories(lib)[name](opt)
    trace = [(list(sched.get_last_lr()), _momenta(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        trace.append((list(sched.get_last_lr()), _momenta(opt)))
        assert [g["lr"] for g in opt.param_groups] == pytest.approx(trace[-1][0], rel=1e-12, abs=1e-15)
    return trace, sched, opt


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for i, ((lr_o, m_o), (lr_t, m_t)) in enumerate(zip(ours, theirs)):
        assert lr_o == pytest.approx(lr_t, rel=1e-12, abs=1e-15), f"lr at step {i}"
        assert m_o == pytest.approx(m_t, rel=1e-12, abs=1e-15), f"momentum at step {i}"


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name", NAMES)
def test_sequence_matches_torch(name, kind):
    steps = 30
    ours = _trace(disttorch, name, kind, steps)[0]
    theirs = _trace(torch, name, kind, steps)[0]
    _assert_same(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name):
    full = _trace(torch, name, "SGD", 24)[0]
    _, sched, opt = _trace(disttorch, name, "SGD", 12)
    sd_s, sd_o = sched.state_dict(), opt.state_dict()
    opt2 = _optimizer(disttorch)
    sched2 = _factories(disttorch)[name](opt2)
    opt2.load_state_dict(sd_o)
    sched2.load_state_dict(sd_s)
    rest = []
    for _ in range(12):
        opt2.step()
        sched2.step()
        rest.append((list(sched2.get_last_lr()), _momenta(opt2)))
    _assert_same(rest, full[13:])


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "MultiStepLR"])
def test_state_dict_keys_match_torch(name):
    ours = _trace(disttorch, name, "SGD", 3)[1].state_dict()
    theirs = _trace(torch, name, "SGD", 3)[1].state_dict()
    assert sorted(ours) == sorted(theirs)
    for k in ("base_lrs", "last_epoch", "_step_count", "_last_lr"):
        assert ours[k] == pytest.approx(theirs[k])


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("min", "abs"), ("max", "rel"), ("max", "abs")])
def test_reduce_lr_on_plateau(mode, threshold_mode):
    metrics = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.2, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5,
               1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    if mode == "max":
        metrics = [-m for m in metrics]
    traces = []
    for lib in (disttorch, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=2, threshold=0.01,
                                                         threshold_mode=threshold_mode, cooldown=1,
                                                         min_lr=[0.01, 0.02], eps=1e-4)
        trace = []
        for m in metrics:
            opt.step()
            sched.step(m)
            trace.append((list(sched.get_last_lr()), sched.num_bad_epochs, sched.cooldown_counter, sched.best))
        traces.append(trace)
    assert traces[0] == traces[1]


def test_reduce_lr_on_plateau_state_dict():
    opt = _optimizer(disttorch)
    sched = disttorch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for m in [3.0, 3.0, 3.0]:
        sched.step(m)
    sd = sched.state_dict()
    topt = _optimizer(torch)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=1)
    for m in [3.0, 3.0, 3.0]:
        tsched.step(m)
    assert sorted(sd) == sorted(tsched.state_dict())
    sched2 = disttorch.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(disttorch), patience=1)
    sched2.load_state_dict(sd)
    assert sched2.best == tsched.best and sched2.num_bad_epochs == tsched.num_bad_epochs


def test_warm_restarts_fractional_epochs():
    traces = []
    for lib in (disttorch, torch):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
        trace = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in range(8):
                for i in range(4):
                    opt.step()
                    sched.step(epoch + i / 4)
                    trace.append(list(sched.get_last_lr()))
        traces.append(trace)
    for a, b in zip(*traces):
        assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                                  "ConstantLR", "PolynomialLR"])
def test_step_with_epoch_uses_closed_form(name):
    traces = []
    for lib in (disttorch, torch):
        opt = _optimizer(lib)
        sched = _factories(lib)[name](opt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = []
            for epoch in [3, 1, 9, 4, 15]:
                opt.step()
                sched.step(epoch)
                trace.append(list(sched.get_last_lr()))
        traces.append(trace)
    for a, b in zip(*traces):
        assert a == pytest.approx(b, rel=1e-12)


def test_warnings():
    opt = _optimizer(disttorch)
    sched = disttorch.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    opt = _optimizer(disttorch)
    sched = disttorch.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_initial_lr_and_resume_errors():
    for lib in (disttorch, torch):
        opt = _optimizer(lib)
        with pytest.raises(KeyError, match="initial_lr"):
            lib.optim.lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
        lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
        with pytest.raises(TypeError, match="is not an Optimizer"):
            lib.optim.lr_scheduler.StepLR(object(), step_size=2)
        with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
            lib.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
        with pytest.raises(ValueError, match="Factor should be < 1.0."):
            lib.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
        with pytest.raises(ValueError, match="You must define either total_steps OR"):
            lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1)
        with pytest.raises(ValueError, match="Expected positive integer T_0"):
            lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
        with pytest.raises(ValueError, match="Sequential Schedulers expects number of schedulers"):
            lib.optim.lr_scheduler.SequentialLR(opt, [lib.optim.lr_scheduler.StepLR(opt, 2)], milestones=[3])


def test_one_cycle_too_many_steps():
    opt = _optimizer(disttorch)
    sched = disttorch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "PolynomialLR",
                                  "CosineAnnealingWarmRestarts", "LambdaLR"])
def test_resume_with_last_epoch(name):
    traces = []
    for lib in (disttorch, torch):
        opt = _optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 2
        S = lib.optim.lr_scheduler
        sched = {
            "StepLR": lambda: S.StepLR(opt, step_size=4, gamma=0.5, last_epoch=5),
            "ExponentialLR": lambda: S.ExponentialLR(opt, gamma=0.9, last_epoch=5),
            "CosineAnnealingLR": lambda: S.CosineAnnealingLR(opt, T_max=7, eta_min=0.001, last_epoch=5),
            "LinearLR": lambda: S.LinearLR(opt, start_factor=0.25, total_iters=8, last_epoch=5),
            "PolynomialLR": lambda: S.PolynomialLR(opt, total_iters=12, power=2.0, last_epoch=5),
            "CosineAnnealingWarmRestarts": lambda: S.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, last_epoch=5),
            "LambdaLR": lambda: S.LambdaLR(opt, lr_lambda=lambda e: 1.0 / (1 + e), last_epoch=5),
        }[name]()
        trace = [list(sched.get_last_lr())]
        for _ in range(10):
            opt.step()
            sched.step()
            trace.append(list(sched.get_last_lr()))
        traces.append(trace)
    for a, b in zip(*traces):
        assert a == pytest.approx(b, rel=1e-12)
