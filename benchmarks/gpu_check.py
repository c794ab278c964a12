"""The GPU check: everything disttorch's cuda path needs, on one machine with one NVIDIA GPU and no internet,
in at most 8 minutes. Writes ``OUT/summary.json`` (one object) and ``OUT/logs/<step>.log``.

    python benchmarks/gpu_check.py                   # on a GPU machine: OUT is gpu_check_out/
    python benchmarks/gpu_check.py --out /tmp/gc --budget 300
    python benchmarks/gpu_check.py --fake --quick    # no GPU: every step on the cupy stand-in (tests/fakecuda)

Steps, each timed, each ``ok`` / ``failed`` / ``skipped`` (with why) in the summary:

  versions   driver (nvidia-smi), CUDA runtime and driver API, cupy, NCCL, mpi4py/MPI, torch, numpy, python
  probe      the cupy behaviours the stand-in imitates (array flags, ``__array__`` raising, numpy operands,
             Generator methods and ``bit_generator.state``, ``ufunc.at``, linalg on singular input, ``argsort``
             ``kind=``, reductions' result type, per-device streams, ``Device.pci_bus_id``), run on this cupy
             and on the stand-in; ``mismatches`` lists where the stand-in differs and must be corrected
  tests      pytest on the device-parametrised tests (``-k cuda``) and the cuda test files, stand-in off
  training   MLP, CNN and GPT-block training steps (benchmarks/train_step.py) on cuda: disttorch vs PyTorch
             CUDA when torch has CUDA (first-step loss difference and median ms per step)
  nccl_ddp   DDP and SyncBatchNorm scenarios in a world of one over NCCL (tests/.../_ddp_worker.py)
  mpi_ranks  2 ranks over MPI on the one GPU, cuda arrays staged through host memory: every collective
             (_dist_worker.py) and the DDP scenarios

A step that would run past the budget is skipped; each subprocess has its own share of the time left and is
killed (with everything it started) when it overruns. The exit status is 0 only when every step is ``ok``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
FAKE_DIR = ROOT / "tests" / "fakecuda"
DDP_WORKER = ROOT / "tests" / "disttorch" / "nn" / "parallel" / "_ddp_worker.py"
DIST_WORKER = ROOT / "tests" / "disttorch" / "distributed" / "_dist_worker.py"
DDP_SCENARIOS = ("equivalence", "sync_batchnorm", "no_sync", "bucket_view", "buffers")
CUDA_TEST_FILES = ("tests/disttorch/test_cuda_standin.py", "tests/disttorch/distributed/test_cuda_distributed.py",
                   "tests/collectives/test_collectives_nccl.py")


# -- the probe: run as ``gpu_check.py --_probe`` in a process whose cupy is the one to describe ----------------
def _outcome(fn: Callable[[], Any]) -> Any:
    """What ``fn()`` gives: its value (made JSON-friendly) or ``raises <Type>``."""
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn()
        if caught and value is None:
            return f"warns {caught[0].category.__name__}"
    except Exception as exc:  # the behaviour being probed
        return f"raises {type(exc).__name__}"
    if isinstance(value, float) and value != value:
        return "nan"  # strict JSON has no NaN
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return type(value).__name__


def probe() -> dict[str, Any]:
    """The cupy behaviours the stand-in imitates, as name -> observed outcome."""
    import cupy
    import numpy as np

    a = cupy.arange(6, dtype=cupy.float32)
    singular = cupy.zeros((3, 3), cupy.float64)
    out: dict[str, Any] = {
        "flags.writeable exists": hasattr(a.flags, "writeable"),
        "flags.c_contiguous": _outcome(lambda: bool(a.flags.c_contiguous)),
        "flags.owndata exists": hasattr(a.flags, "owndata"),
        "np.asarray(cupy array)": _outcome(lambda: np.asarray(a)),
        "cupy array + numpy array": _outcome(lambda: a + np.ones(6, np.float32)),
        "cupy.add(cupy, numpy)": _outcome(lambda: cupy.add(a, np.ones(6, np.float32))),
        "cupy array + numpy scalar": _outcome(lambda: a + np.float32(1)),
        "cupy array + python float": _outcome(lambda: a + 1.0),
        "a.sum() type": type(a.sum()).__name__,
        "float(a.sum())": _outcome(lambda: float(a.sum())),
        "a.tolist()": _outcome(lambda: a.tolist()),
        "a[0] type": type(a[0]).__name__,
        "bool(cupy 0-d)": _outcome(lambda: bool(a[1])),
        "int(cupy 0-d)": _outcome(lambda: int(a[2])),
        "argsort kind=stable": _outcome(lambda: cupy.argsort(a, kind="stable")),
        "argsort kind=quicksort": _outcome(lambda: cupy.argsort(a, kind="quicksort")),
        "sort kind=stable": _outcome(lambda: cupy.sort(a, kind="stable")),
        "linalg.inv singular": _outcome(lambda: float(cupy.linalg.inv(singular).sum())),
        "linalg.solve singular": _outcome(lambda: float(cupy.linalg.solve(singular, cupy.ones(3)).sum())),
        "linalg.cholesky not PD": _outcome(lambda: float(cupy.linalg.cholesky(-cupy.eye(3)).sum())),
        "linalg.det singular": _outcome(lambda: float(cupy.linalg.det(singular))),
        "cupyx.scatter_add": _outcome(lambda: _scatter_add(cupy)),
        "Device().pci_bus_id": _outcome(lambda: str(cupy.cuda.Device(0).pci_bus_id)[:4]),
        "get_current_stream(device_id=0)": _outcome(lambda: cupy.cuda.get_current_stream(0)),
        "Stream().device_id": _outcome(lambda: int(cupy.cuda.Stream().device_id)),
        "Event().done after record": _outcome(lambda: bool(cupy.cuda.Stream.null.record().done)),
        "nccl.available": _outcome(lambda: bool(__import__("cupy.cuda.nccl", fromlist=["x"]).available)),
    }
    for ufunc in ("add", "subtract", "multiply", "maximum", "minimum", "divide"):
        def at(name: str = ufunc) -> None:
            b = cupy.zeros(4, cupy.float32)
            getattr(cupy, name).at(b, cupy.array([0, 0, 2]), cupy.float32(2))
        out[f"{ufunc}.at"] = "ok" if _outcome(at) is None else _outcome(at)
    rng = _outcome(lambda: cupy.random.default_rng(0))
    rng = cupy.random.default_rng(0) if rng == "Generator" else None
    for name in ("random", "standard_normal", "normal", "uniform", "integers", "permutation", "choice",
                 "lognormal", "standard_cauchy", "exponential", "binomial", "poisson", "shuffle"):
        out[f"Generator.{name}"] = hasattr(rng, name) if rng is not None else "no default_rng"
    out["bit_generator.state is callable"] = _outcome(lambda: callable(rng.bit_generator.state))
    out["RandomState.permutation"] = _outcome(lambda: hasattr(cupy.random.RandomState(0), "permutation"))
    return out


def _scatter_add(cupy: Any) -> None:
    import cupyx

    cupyx.scatter_add(cupy.zeros(3, cupy.float32), cupy.array([0, 1]), cupy.float32(1))


# -- running steps ---------------------------------------------------------------------------------------------
class StepFailed(RuntimeError):
    """A step's failure with what it found so far (merged into its record in the summary)."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


class Check:
    def __init__(self, out: Path, budget: float, fake: bool, quick: bool) -> None:
        self.out, self.logs = out, out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.deadline = time.perf_counter() + budget
        self.fake, self.quick = fake, quick
        self.summary: dict[str, Any] = {"budget_s": budget, "fake": fake, "quick": quick,
                                        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "steps": {}}

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def env(self, fake: bool | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DISTTORCH_FAKE_CUDA", "DISTTORCH_FAKE_NO_NCCL")}
        paths = [str(ROOT)] + ([p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and
                                Path(p).resolve() != FAKE_DIR.resolve()])
        if self.fake if fake is None else fake:
            env["DISTTORCH_FAKE_CUDA"] = "1"
            paths.insert(0, str(FAKE_DIR))
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.setdefault("OMP_NUM_THREADS", "1")
        return env

    def run(self, name: str, cmd: list[str], share: float = 1.0, fake: bool | None = None) -> tuple[int, str]:
        """Run ``cmd`` with at most ``share`` of the time left; its output goes to ``logs/<name>.log``."""
        limit = max(5.0, self.left() * share)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                env=self.env(fake), start_new_session=True)
        try:
            text, _ = proc.communicate(timeout=limit)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the command and everything it started (mpiexec's ranks)
            text, _ = proc.communicate()
            code, text = 124, f"{text}\n[gpu_check] killed after {limit:.0f} s"
        with open(self.logs / f"{name}.log", "a") as log:
            log.write(f"$ {' '.join(cmd)}\n[exit {code} after {time.perf_counter() - start:.1f} s]\n{text}\n")
        return code, text

    def step(self, name: str, fn: Callable[[], dict[str, Any]], need: float) -> None:
        record: dict[str, Any]
        start = time.perf_counter()
        if self.left() < need:
            record = {"status": "skipped", "why": f"{self.left():.0f} s of the budget left, the step needs ~{need:.0f}"}
        else:
            try:
                record = {"status": "ok", **fn()}
            except Exception as exc:
                record = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", **getattr(exc, "details", {})}
                with open(self.logs / f"{name}.log", "a") as log:
                    log.write(traceback.format_exc())
        record["seconds"] = round(time.perf_counter() - start, 2)
        self.summary["steps"][name] = record
        print(f"[gpu_check] {name}: {record['status']} ({record['seconds']} s)"
              + (f" {record.get('error') or record.get('why') or ''}" if record["status"] != "ok" else ""), flush=True)
        self.write()

    def write(self) -> None:
        self.summary["seconds"] = round(self.summary["budget_s"] - self.left(), 2)
        (self.out / "summary.json").write_text(json.dumps(self.summary, indent=2, sort_keys=False) + "\n")


# -- the steps -------------------------------------------------------------------------------------------------
def step_versions(c: Check) -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    smi = shutil.which("nvidia-smi")
    if smi:
        code, text = c.run("versions", [smi, "--query-gpu=name,driver_version,memory.total,compute_cap",
                                        "--format=csv,noheader"], share=0.05)
        info["nvidia-smi"] = text.strip().splitlines()[:4] if code == 0 else f"exit {code}"
    else:
        info["nvidia-smi"] = "not found"
    script = ("import json, numpy, cupy\n"
              "from cupy.cuda import runtime\n"
              "d = {'numpy': numpy.__version__, 'cupy': cupy.__version__, 'fake': bool(getattr(cupy, '_fake', 0)),\n"
              "     'cuda_runtime': runtime.runtimeGetVersion(), 'cuda_driver': runtime.driverGetVersion(),\n"
              "     'devices': runtime.getDeviceCount()}\n"
              "p = runtime.getDeviceProperties(0); d['device0'] = p['name'].decode() if isinstance(p['name'], bytes) "
              "else str(p['name'])\n"
              "try:\n    from cupy.cuda import nccl\n    d['nccl'] = nccl.get_version() if nccl.available else "
              "'libnccl not loadable'\nexcept Exception as e:\n    d['nccl'] = repr(e)\n"
              "for m in ('torch', 'mpi4py'):\n    try:\n        mod = __import__(m); d[m] = mod.__version__\n"
              "    except Exception as e:\n        d[m] = 'absent'\n"
              "try:\n    import torch; d['torch_cuda'] = torch.cuda.is_available()\nexcept Exception:\n    pass\n"
              "try:\n    from mpi4py import MPI; d['mpi'] = MPI.Get_library_version().splitlines()[0]\n"
              "except Exception as e:\n    d['mpi'] = repr(e)\n"
              "print(json.dumps(d))\n")
    code, text = c.run("versions", [sys.executable, "-c", script], share=0.1)
    if code != 0:
        raise RuntimeError(f"the versions script failed (exit {code}): see logs/versions.log")
    info.update(json.loads(text.strip().splitlines()[-1]))
    return info


def step_probe(c: Check) -> dict[str, Any]:
    results = {}
    for label, fake in (("this cupy", c.fake), ("stand-in", True)):
        if label == "stand-in" and c.fake:
            break
        code, text = c.run("probe", [sys.executable, str(Path(__file__).resolve()), "--_probe"], share=0.1,
                           fake=fake)
        if code != 0:
            raise RuntimeError(f"the probe failed on {label} (exit {code}): see logs/probe.log")
        results[label] = json.loads(text.strip().splitlines()[-1])
    real = results["this cupy"]
    if "stand-in" not in results:
        return {"observed": real, "mismatches": "not compared: --fake runs the probe on the stand-in only"}
    fake = results["stand-in"]
    mismatches = {k: {"cupy": real.get(k), "stand-in": fake.get(k)} for k in sorted(set(real) | set(fake))
                  if real.get(k) != fake.get(k)}
    return {"observed": real, "mismatches": mismatches}


def step_tests(c: Check) -> dict[str, Any]:
    files = subprocess.run(["grep", "-rlE", r"def test_.*\(.*device", "tests", "--include=test_*.py"],
                           capture_output=True, text=True, cwd=ROOT).stdout.split()
    files = sorted(files) + list(CUDA_TEST_FILES)
    if c.quick:  # a smoke run: the dedicated cuda files and a few device-parametrised ones
        files = [f for f in files if "test_cuda" in f or f.endswith(("test_ddp.py", "test_dispatch.py"))][:4]
    cmd = [sys.executable, "-m", "pytest", "-q", "-k", "cuda", "-p", "no:cacheprovider", "--timeout", "120",
           "-x" if c.quick else "--maxfail=200", *files]
    code, text = c.run("tests", cmd, share=0.9)
    tail = text.strip().splitlines()[-1] if text.strip() else ""
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", tail)}
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", text, re.M)
    result = {"files": len(files), "counts": counts, "failed": failed[:50], "summary_line": tail}
    if code == 124:  # out of time: what the progress lines say so far
        marks = "".join(m for m in re.findall(r"^([.FEsx]+)\s*\[\s*\d+%\]", text, re.M))
        result.update(incomplete=True, counts={"passed": marks.count("."), "failed": marks.count("F"),
                                               "errors": marks.count("E"), "skipped": marks.count("s")})
        raise StepFailed(f"the cuda tests did not finish in the budget: {result['counts']} so far "
                         f"(logs/tests.log)", result)
    if code not in (0, 1):
        raise RuntimeError(f"pytest ended with exit {code}: {tail or 'no summary'} (logs/tests.log)")
    if code == 1:
        raise StepFailed(f"cuda tests failed: {tail}; first: {', '.join(failed[:5])} (logs/tests.log)", result)
    return result


def step_training(c: Check) -> dict[str, Any]:
    code, text = c.run("training", [sys.executable, str(Path(__file__).resolve()), "--_training"]
                       + (["--quick"] if c.quick else []), share=0.5)
    if code != 0:
        raise RuntimeError(f"the training steps failed (exit {code}): see logs/training.log")
    return json.loads(text.strip().splitlines()[-1])


def training(quick: bool) -> dict[str, Any]:
    """Run in a subprocess: the train_step cases on cuda, disttorch against PyTorch where torch has CUDA."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import train_step

    try:
        import torch

        torch_device = "cuda" if torch.cuda.is_available() else None
    except ImportError:
        torch_device = None
    cases: dict[str, Any] = {}
    for case in ("mlp", "cnn", "gpt"):
        times = train_step.time_case(case, ("disttorch",), 1, 1 if quick else 3, 2 if quick else 5, 0.0, 0.0,
                                     "cuda")
        first = times["first_loss"]
        row: dict[str, Any] = {"disttorch_ms": round(statistics.median(times["wall"]["disttorch"]) * 1e3, 3),
                               "disttorch_first_loss": first["disttorch"]}
        if torch_device:
            ttimes = train_step.time_case(case, ("torch",), 1, 1 if quick else 3, 2 if quick else 5, 0.0, 0.0,
                                          torch_device)
            tfirst = ttimes["first_loss"]
            row["torch_cuda_ms"] = round(statistics.median(ttimes["wall"]["torch"]) * 1e3, 3)
            row["torch_first_loss"] = tfirst["torch"]
            row["first_loss_diff"] = abs(first["disttorch"] - tfirst["torch"])
            row["vs_torch"] = round(row["disttorch_ms"] / row["torch_cuda_ms"], 2)
        cases[case] = row
    return {"torch_cuda": bool(torch_device), "cases": cases}


def _scenario_passes(text: str) -> dict[str, int]:
    # ranks' lines can run together (two ranks writing at once), so no anchoring at line starts
    return {"passed": len(re.findall(r"PASS \w+ rank \d+", text)), "failed": len(re.findall(r"FAIL \w+ rank", text))}


def step_nccl_ddp(c: Check) -> dict[str, Any]:
    code, text = c.run("nccl_ddp", [sys.executable, str(DDP_WORKER), "--device=cuda", "--backend=nccl",
                                    *DDP_SCENARIOS], share=0.3)
    result = {"scenarios": _scenario_passes(text), "exit": code}
    if code != 0:
        raise StepFailed(f"DDP over NCCL (world of one) failed: {result} (logs/nccl_ddp.log)", result)
    return result


def step_mpi_ranks(c: Check) -> dict[str, Any]:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    exe = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    if exe is None:
        raise RuntimeError("no mpiexec (pip install mpi4py mpich)")
    code, text = c.run("mpi_ranks", [exe, "-n", "2", sys.executable, str(DIST_WORKER), "mpi", "cuda"], share=0.4)
    checks = {int(r): int(k) for r, k in re.findall(r"OK rank (\d+) checks (\d+)", text)}
    if code != 0 or sorted(checks) != [0, 1]:
        raise RuntimeError(f"2 ranks over MPI with cuda tensors failed (exit {code}; logs/mpi_ranks.log)")
    code, text = c.run("mpi_ranks", [exe, "-n", "2", sys.executable, str(DDP_WORKER), "--device=cuda",
                                     "--backend=mpi", *DDP_SCENARIOS], share=0.5)
    ddp = _scenario_passes(text)
    if code != 0 or ddp["failed"]:
        raise RuntimeError(f"DDP on 2 ranks over MPI with cuda tensors failed: {ddp} (logs/mpi_ranks.log)")
    return {"collective_checks_per_rank": checks, "ddp_scenarios": ddp}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="gpu_check_out", help="folder for summary.json and logs/")
    ap.add_argument("--budget", type=float, default=480.0, help="seconds for the whole check")
    ap.add_argument("--fake", action="store_true", help="run every step on the cupy stand-in (no GPU needed)")
    ap.add_argument("--quick", action="store_true", help="fewer steps and tests (a smoke run)")
    ap.add_argument("--_probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_training", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._probe:
        print(json.dumps(probe()))
        return
    if args._training:
        print(json.dumps(training(args.quick)))
        return
    out = Path(args.out).resolve()
    c = Check(out, args.budget, args.fake, args.quick)
    # rough needs, in seconds, so that a step that cannot finish is skipped rather than cut off
    c.step("versions", lambda: step_versions(c), 5)
    c.step("probe", lambda: step_probe(c), 10)
    c.step("training", lambda: step_training(c), 20)
    c.step("nccl_ddp", lambda: step_nccl_ddp(c), 10)
    c.step("mpi_ranks", lambda: step_mpi_ranks(c), 15)
    c.step("tests", lambda: step_tests(c), 30)
    c.summary["ok"] = all(s["status"] == "ok" for s in c.summary["steps"].values())
    c.write()
    print(f"[gpu_check] summary: {out / 'summary.json'} ({'all ok' if c.summary['ok'] else 'not all ok'}, "
          f"{c.summary['seconds']} s)")
    if not c.summary["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
