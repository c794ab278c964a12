import os
import sys

import pytest

sys.path.append(os.path.dirname(__file__))  # for `import oracle`; after the real packages

# DISTTORCH_FAKE_CUDA=1: the strict cupy stand-in in tests/fakecuda serves "cuda" (CI has no GPU). It goes first
# on sys.path, before disttorch is imported, and into PYTHONPATH so that ranks started as subprocesses get it too.
FAKE_CUDA = os.environ.get("DISTTORCH_FAKE_CUDA", "") not in ("", "0")
if FAKE_CUDA:
    _FAKE_DIR = os.path.join(os.path.dirname(__file__), "fakecuda")
    sys.path.insert(0, _FAKE_DIR)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_FAKE_DIR, os.environ.get("PYTHONPATH")) if p)
    if "cupy" in sys.modules and not getattr(sys.modules["cupy"], "_fake", False):
        raise RuntimeError("DISTTORCH_FAKE_CUDA=1 but a real cupy was imported before tests/conftest.py")


def _cuda_available() -> bool:
    try:
        import disttorch

        return disttorch.cuda.is_available()
    except Exception:
        return False


CUDA = _cuda_available()


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Runs a test on every backend; cuda skips (saying why) where no GPU is present."""
    if request.param == "cuda" and not CUDA:
        pytest.skip("no GPU here: cupy with a visible CUDA device is needed for the cuda backend "
                    "(DISTTORCH_FAKE_CUDA=1 runs it on the cupy stand-in in tests/fakecuda)")
    return request.param


@pytest.fixture(autouse=True)
def _pytorch_validates_distribution_arguments(request):
    """The distribution tests compare with PyTorch's argument validation on. PyTorch turns it off process-wide
    once torch.cond / torch._dynamo has run (test_func_transforms does), so those tests turn it back on."""
    if "distributions" not in request.node.path.parts:
        yield
        return
    torch = pytest.importorskip("torch")
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(True)
    yield
    torch.distributions.Distribution.set_default_validate_args(before)
