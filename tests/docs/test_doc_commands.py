"""Every command in README.md, docs/*.md and benchmarks/README.md runs as written.

The commands come from the ```bash blocks. Cheap ones run here: the README's python snippet (its printed
output is the one its comment shows), `disttorchrun` command lines (as `--dry-run`, which checks every flag),
and the README's main job itself (2 ranks, a few seconds). The others are checked without running them: the
scripts they name exist and define every `--flag` the command passes, the `pip install` extras exist in
pyproject.toml, the pytest paths exist. The README's test command is run by `.ci/run`, verbatim.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", *sorted(os.path.relpath(p, ROOT) for p in glob.glob(str(ROOT / "docs" / "*.md"))),
        "benchmarks/README.md"]
PLACEHOLDERS = {"train.py"}  # the docs' name for "your script"


def bash_commands(name: str) -> list[str]:
    text = (ROOT / name).read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


ALL = [(name, cmd) for name in DOCS for cmd in bash_commands(name)]


def readme_two_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_readme_opens_with_two_one_line_commands_and_ci_runs_the_second():
    text = (ROOT / "README.md").read_text()
    assert re.findall(r"^## .*$", text, re.M)[0] == "## The two commands"  # the first section
    first, second = readme_two_commands()
    assert "\n" not in first and "\n" not in second
    assert first.startswith("python3 -m venv .venv && ") and "disttorchrun --nproc-per-node 2 examples/" in first
    assert second.startswith("python3 -m venv .venv && ") and second.endswith("python -m pytest -q")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert second in ci, "the README's test command must be a line of .ci/run, verbatim"


def test_readme_python_snippet_prints_what_its_comment_says():
    text = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    expected = re.findall(r"#\s*(tensor\(.*\))\s*$", code, re.M)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == expected
    quick = subprocess.run([sys.executable, "examples/quickstart.py"], capture_output=True, text=True, timeout=120,
                           cwd=ROOT)
    assert quick.stdout.splitlines() == expected, "README's sample output and examples/quickstart.py differ"


def _pieces(cmd: str) -> list[list[str]]:
    return [shlex.split(part) for part in re.split(r"\s*&&\s*", cmd)]


def _script_and_flags(argv: list[str]) -> tuple[str | None, list[str]]:
    """The repository script a command line runs, and the --flags given to it."""
    for i, arg in enumerate(argv):
        if arg.endswith(".py") or arg.endswith(".sh"):
            return arg, [a.split("=")[0] for a in argv[i + 1:] if a.startswith("--")]
    return None, []


@pytest.mark.parametrize("name, cmd", ALL, ids=[f"{n}:{c[:60]}" for n, c in ALL])
def test_documented_command_is_valid(name, cmd):
    table = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([\w-]+)\s*=", table, re.M))
    for argv in _pieces(cmd):
        if not argv:
            continue
        tool = os.path.basename(argv[0])
        if "install" in argv and tool in ("pip", "pip3") or argv[:4] == ["python3", "-m", "pip", "install"]:
            for spec in argv[argv.index("install") + 1:]:
                m = re.fullmatch(r"\.\[(.*)\]", spec)
                for extra in (m.group(1).split(",") if m else []):
                    assert extra in extras, f"{name}: extra {extra!r} is not in pyproject.toml"
            continue
        if "pytest" in argv:
            for path in argv[argv.index("pytest") + 1:]:
                if not path.startswith("-"):
                    assert (ROOT / path).exists(), f"{name}: {path} does not exist"
            continue
        script, flags = _script_and_flags(argv)
        if script is None or script in PLACEHOLDERS:
            continue
        assert (ROOT / script).exists(), f"{name}: {script} does not exist"
        source = (ROOT / script).read_text()
        if script.endswith(".py"):
            defined = set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", source))
            if "add_arguments(ap)" in source:  # the examples' shared --metrics/--no-progress/--print-every
                defined |= set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"",
                                          (ROOT / "examples" / "_training_log.py").read_text()))
            missing = [f for f in flags if f not in defined]
            assert not missing, f"{name}: {script} has no {missing}"
        if tool == "disttorchrun":
            launcher = argv[1:argv.index(script)]
            proc = subprocess.run([sys.executable, "-m", "disttorch.launcher", "--dry-run", *launcher, script,
                                   *argv[argv.index(script) + 1:]], capture_output=True, text=True, timeout=60,
                                  cwd=ROOT)
            assert proc.returncode == 0, f"{name}: {cmd}\n{proc.stderr}"


def test_readme_main_job_runs(tmp_path):
    """The README's first command, after its install step: 2 ranks through disttorchrun, metrics and plot."""
    first = readme_two_commands()[0]
    run = _pieces(first)[-1]
    assert run[0] == ".venv/bin/disttorchrun"
    metrics = tmp_path / "ddp.jsonl"
    args = [str(metrics) if a == "runs/ddp.jsonl" else a for a in run[1:]]
    proc = subprocess.run([sys.executable, "-m", "disttorch.launcher", *args, "--no-progress"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "training on 2 rank(s)" in proc.stdout and "test accuracy:" in proc.stdout, proc.stdout
    lines = metrics.read_text().splitlines()
    assert lines and all(set(json.loads(line)) == {"step", "loss", "lr", "throughput", "elapsed"} for line in lines)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "ddp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
