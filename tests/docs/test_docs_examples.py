"""The code in the contributor docs runs as written."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")


def python_blocks(name: str) -> list[str]:
    with open(os.path.join(DOCS, name)) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


@pytest.mark.parametrize("name", ["autograd.md", "architecture.md"])
def test_python_blocks_run(name):
    blocks = python_blocks(name)
    assert blocks, f"docs/{name} has no python example"
    for i, code in enumerate(blocks):
        # each block in a fresh interpreter: a block must not lean on another one's definitions
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"docs/{name} block {i} failed:\n{code}\n{proc.stderr}"
