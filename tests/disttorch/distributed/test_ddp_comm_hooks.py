"""DDP communication hooks (register_comm_hook, the default allreduce/fp16/bf16 hooks, GradBucket) under
``mpiexec -n 2`` and ``-n 3``."""
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402

WORKER = Path(__file__).parent / "_comm_hook_worker.py"


@pytest.mark.timeout(150)
@pytest.mark.parametrize("n", [2, 3])
def test_ddp_comm_hooks(n):
    result = _mpirun.run(WORKER, [], n, timeout=120)
    assert result.returncode == 0, result.output
    assert sorted(map(int, re.findall(r"PASS hooks rank (\d+)", result.output))) == list(range(n)), result.output
