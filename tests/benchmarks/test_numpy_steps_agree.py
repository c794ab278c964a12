"""The hand-written numpy steps of benchmarks/numpy_steps are the same training step as the PyTorch models of
benchmarks/train_step.py: from the same weights and data, three steps give the same losses and parameters."""
from __future__ import annotations

import sys

import _bench
import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the oracle; installed with the test extras

ts = _bench.load("train_step.py", "train_step_bench")
# Adam's update m / sqrt(v) is about lr * sign(grad) whatever the gradient's size, so a gradient that rounds
# differently near zero moves a weight by up to lr per step, and a ReLU unit whose input is near zero for some
# token may be on in one library and off in the other. For the transformer (Adam, lr 1e-3) a few elements in
# 10,000 (one in a small tensor) may therefore miss rtol 1e-4; they must still be within lr, one step's move (seen:
# 0.2 lr on a Xeon and an older EPYC, 0.5 lr on an EPYC with AVX-512, where PyTorch's kernels round otherwise). The
# attention's key bias has a zero gradient in exact arithmetic (softmax ignores a per-row shift of the scores):
# Adam moves it by rounding noise alone, so the norm of the difference is allowed 0.2% of how far it moved.
OUTLIERS = {"transformer": (1e-3, 1e-3)}  # case: (fraction of elements allowed to miss, their atol)


def _run(lib: str, case: str, state: dict[str, np.ndarray], steps: int = 3):
    runner = ts.make_runner(lib, case, state, 0.0)
    losses = [float(runner.step()) for _ in range(steps)]
    return losses, runner.state()


@pytest.mark.parametrize("case", ts.CASES)
def test_numpy_step_matches_torch(case):
    torch.set_num_threads(1)
    state = ts.initial_state(case, 0.0)
    t_losses, t_state = _run("torch", case, state)
    n_losses, n_state = _run("numpy", case, state)
    np.testing.assert_allclose(n_losses, t_losses, rtol=1e-4, atol=1e-6)
    assert set(n_state) == set(t_state)
    for name, want in t_state.items():
        got = n_state[name]
        assert got.dtype == np.float32 and got.shape == want.shape, name
        # the parameters moved: the comparison is of three real updates, not of the initial weights
        assert not np.array_equal(want, state[name]), name
        fraction, atol = OUTLIERS.get(case, (0.0, 1e-5))
        off = np.abs(got - want) > 1e-5 + 1e-4 * np.abs(want)
        assert off.sum() <= fraction * (off.size + 1000), f"{case}: {name}: {off.sum()} of {off.size} elements differ"
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol, err_msg=f"{case}: {name}")
        # and the updates themselves agree: the difference is small next to how far three steps moved
        moved = np.linalg.norm(want - state[name])
        assert np.linalg.norm(got - want) <= 2e-3 * moved, f"{case}: {name}"


def test_numpy_step_is_float32_and_does_not_share_the_given_weights():
    state = ts.initial_state("mlp", 0.0)
    before = {k: v.copy() for k, v in state.items()}
    runner = ts.make_runner("numpy", "mlp", state, 0.0)
    runner.step()
    for k, v in state.items():
        np.testing.assert_array_equal(v, before[k])
    assert all(v.dtype == np.float32 for v in runner.state().values())


def test_a_wrong_step_is_caught():
    """A numpy step with a wrong learning rate fails the comparison (the check can fail)."""
    state = ts.initial_state("mlp_small", 0.0)
    _, t_state = _run("torch", "mlp_small", state)
    runner = ts.make_runner("numpy", "mlp_small", state, 0.0)
    runner.impl.opt.lr = np.float32(0.011)
    for _ in range(3):
        runner.step()
    with pytest.raises(AssertionError):
        for name, want in t_state.items():
            np.testing.assert_allclose(runner.state()[name], want, rtol=1e-4, atol=1e-5)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
