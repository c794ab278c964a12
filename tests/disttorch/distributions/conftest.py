"""The distribution tests compare with PyTorch's argument validation on. PyTorch turns it off process-wide once
torch.cond / torch._dynamo has been used (test_func_transforms does), so each test here turns it back on."""
import pytest


@pytest.fixture(autouse=True)
def _pytorch_validates_arguments():
    torch = pytest.importorskip("torch")
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(True)
    yield
    torch.distributions.Distribution.set_default_validate_args(before)
