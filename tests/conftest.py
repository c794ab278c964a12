import os
import sys

import pytest

sys.path.append(os.path.dirname(__file__))  # for `import oracle`; after the real packages


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
        pytest.skip("no GPU here: cupy with a visible CUDA device is needed for the cuda backend")
    return request.param
