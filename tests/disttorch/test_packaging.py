"""What installing and importing disttorch does to a user's process: no numpy error state changed, no heavy
optional module imported, set_num_threads that never fails, a clear error when the source folder shadows the
install, and a suite that skips (not errors) without torch. Each check runs in a fresh interpreter."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, *args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)


def test_import_keeps_numpy_error_state_and_skips_heavy_modules():
    proc = run("""
        import sys, warnings
        import numpy as np
        before = np.geterr()
        import disttorch
        disttorch.Tensor  # loads the framework
        assert np.geterr() == before, (before, np.geterr())
        heavy = [m for m in ("ml_dtypes", "scipy", "tensorboard", "torch", "cupy", "mpi4py", "matplotlib", "tqdm",
                             "sklearn", "safetensors") if m in sys.modules]
        assert not heavy, heavy
        with warnings.catch_warnings(record=True) as log:  # the default filters, plus disttorch's own
            x = disttorch.tensor([1.0, 0.0, -1.0])
            y = x.clone().requires_grad_()
            out = [x / 0, disttorch.log(x), disttorch.sqrt(x), disttorch.exp(x * 1e4), x.float() * 1e38 * 10]
            (disttorch.log(y) / y).sum().backward()
        assert not log, [str(w.message) for w in log]  # PyTorch computes these silently
        assert out[0].isinf().tolist() == [True, False, True] and out[1].isnan().tolist() == [False, False, True]
        with warnings.catch_warnings(record=True) as log:
            np.log(np.zeros(1))  # the user's own numpy still warns
        assert [str(w.message) for w in log] == ["divide by zero encountered in log"], log
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_bfloat16_imports_ml_dtypes_on_first_use():
    pytest.importorskip("ml_dtypes")
    proc = run("""
        import sys
        import disttorch
        t = disttorch.ones(3, dtype=disttorch.bfloat16)
        assert "ml_dtypes" in sys.modules and t.dtype is disttorch.bfloat16
        assert (t * 2).tolist() == [2.0, 2.0, 2.0]
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    # an array the user made with ml_dtypes before disttorch ever needed it
    proc = run("""
        import ml_dtypes, numpy as np
        import disttorch
        t = disttorch.tensor(np.array([1.5, -2], ml_dtypes.bfloat16))
        assert t.dtype is disttorch.bfloat16 and t.tolist() == [1.5, -2.0], t
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_set_num_threads_like_torch():
    torch = pytest.importorskip("torch")
    import disttorch

    before = disttorch.get_num_threads()
    try:
        for lib in (torch, disttorch):
            lib.set_num_threads(1)
            assert lib.get_num_threads() == 1
        from threadpoolctl import threadpool_info

        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    finally:
        disttorch.set_num_threads(before)
    for lib in (torch, disttorch):
        with pytest.raises(RuntimeError):
            lib.set_num_threads(0)


def test_set_num_threads_reaches_blas_libraries_loaded_later():
    """scipy brings its own OpenBLAS; one loaded after the first call is sized by the next call too."""
    proc = run("""
        import disttorch
        disttorch.set_num_threads(2)
        import scipy.linalg  # its own OpenBLAS, loaded now
        disttorch.set_num_threads(1)
        from threadpoolctl import threadpool_info
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        assert len(blas) >= 2 and all(i["num_threads"] == 1 for i in blas), blas
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_set_num_threads_never_fails_without_threadpoolctl():
    proc = run("""
        import sys
        sys.modules["threadpoolctl"] = None  # an install made with --no-deps
        import disttorch
        disttorch.set_num_threads(2)
        assert disttorch.get_num_threads() == 2
        print("ok")
    """)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_source_folder_shadowing_the_install_says_what_to_do(tmp_path):
    # the source folder alone on sys.path, as after `pip install .` and a run from the repository root
    os.symlink(ROOT / "disttorch", tmp_path / "disttorch")
    proc = run("import disttorch", "-S", cwd=tmp_path)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: disttorch was imported from its source folder"), proc.stderr
    assert "pip install -e ." in last and "run from another directory" in last, last


def test_suite_collects_without_torch():
    # with pytest but no torch, the modules that need torch skip; none stops the collection with an error
    proc = run("""
        import sys
        sys.modules["torch"] = None
        import pytest
        sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests"]))
    """, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "error" not in proc.stdout.splitlines()[-1], proc.stdout[-3000:]
