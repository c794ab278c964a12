"""benchmarks/gpu_check.py end to end in ``--fake --quick`` mode: every step runs on the cupy stand-in and
writes one JSON summary and its logs, within a short budget (the real run is the same script on a GPU)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_fake_quick(tmp_path):
    pytest.importorskip("mpi4py", reason="the mpi_ranks step starts 2 ranks with mpiexec")
    out = tmp_path / "gc"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--fake", "--quick",
                           "--budget", "200", "--out", str(out)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    steps = summary["steps"]
    assert list(steps) == ["versions", "probe", "training", "nccl_ddp", "mpi_ranks", "tests"]
    assert {k: v["status"] for k, v in steps.items()} == dict.fromkeys(steps, "ok"), json.dumps(steps, indent=1)
    assert summary["ok"] and summary["fake"] and summary["seconds"] < 200
    assert steps["versions"]["fake"] is True and steps["versions"]["devices"] == 2
    probe = steps["probe"]["observed"]
    assert probe["np.asarray(cupy array)"] == "raises TypeError" and probe["flags.writeable exists"] is False
    assert probe["multiply.at"] == "raises NotImplementedError" and probe["Generator.permutation"] is False
    assert set(steps["training"]["cases"]) == {"mlp", "cnn", "gpt"}
    assert all(2.0 < c["disttorch_first_loss"] < 7.0 for c in steps["training"]["cases"].values())
    assert steps["nccl_ddp"]["scenarios"] == {"passed": 5, "failed": 0}
    assert sorted(steps["mpi_ranks"]["collective_checks_per_rank"]) == ["0", "1"]
    assert steps["mpi_ranks"]["ddp_scenarios"] == {"passed": 10, "failed": 0}
    assert steps["tests"]["counts"]["passed"] > 10 and not steps["tests"]["failed"]
    for name in ("versions", "probe", "training", "nccl_ddp", "mpi_ranks", "tests"):
        assert (out / "logs" / f"{name}.log").stat().st_size > 0, name


def test_gpu_check_keeps_to_its_budget(tmp_path):
    """A budget too short for every step: the steps that cannot finish are skipped (saying why), the summary is
    still written, the exit status says not every step ran, and the run ends within the budget."""
    out = tmp_path / "gc"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--fake", "--quick",
                           "--budget", "12", "--out", str(out)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"]["tests"]["status"] == "skipped" and "of the budget left" in summary["steps"]["tests"]["why"]
    assert summary["ok"] is False and summary["seconds"] < 12 + 5
