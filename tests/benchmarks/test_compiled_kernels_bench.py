"""benchmarks/compiled_kernels.py: every case runs on both paths, and each one reaches a compiled kernel."""
import _bench
from disttorch.backends import numba_kernels
from disttorch.backends import numpy_backend as backend
from disttorch.backends.numpy_backend import COMPILED_KERNELS


def test_every_case_runs_and_calls_a_kernel(monkeypatch):
    bench = _bench.load("compiled_kernels.py", "compiled_kernels_bench")
    calls = dict.fromkeys(COMPILED_KERNELS, 0)
    for name in COMPILED_KERNELS:
        def counted(*args, _k=numba_kernels.KERNELS[name], _n=name):
            calls[_n] += 1
            return _k(*args)
        monkeypatch.setitem(backend.kernels, name, counted)
    for name, fn, _ in bench.cases():
        before = sum(calls.values())
        fn()
        assert sum(calls.values()) > before, name
    assert all(calls.values()), calls  # every kernel has a case
    numpy_ms, compiled_ms = bench.numpy_then_compiled(bench.cases()[-1][1], 1)
    assert numpy_ms > 0 and compiled_ms > 0
