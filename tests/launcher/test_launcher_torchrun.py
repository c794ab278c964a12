"""torchrun's command line under disttorchrun: every torchrun option is accepted (mapped, or noted and
ignored), the ranks get torchrun's variables, and the launcher's leftovers are gone."""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from _launcher_util import RANK_SCRIPT, ROOT, clean_env, launch, need_mpi
from disttorch.launcher import cli
from disttorch.launcher import env as launch_env
from test_launcher_cli import VERSIONS, dry_run, fake_exe

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def mpich(tmp_path, monkeypatch):
    for name in ("SLURM_JOB_ID", "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE", "SLURM_CPUS_ON_NODE",
                 "SLURM_JOB_NODELIST", "SLURM_NODELIST", "OMP_NUM_THREADS", "PYTHON_EXEC"):
        monkeypatch.delenv(name, raising=False)
    return fake_exe(tmp_path, "mpiexec", VERSIONS["mpich"])


def target_of(cmd: list[str]) -> list[str]:
    return cmd[cmd.index(cli.BOOTSTRAP) + 1:]


def torchrun_options() -> list[str]:
    """The option strings torchrun's parser declares, read from torch/distributed/run.py without importing
    torch (seconds): the string arguments of its ``add_argument`` calls."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("torch is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / "distributed" / "run.py"
    found = []
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            found += [a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")]
    return found


def test_every_torchrun_option_is_accepted():
    """Each option string of torchrun's own parser is one of ours (a new torchrun option fails this test)."""
    ours = cli.make_parser()._option_string_actions
    theirs = torchrun_options()
    assert len(theirs) > 40 and "--standalone" in theirs and "--nproc_per_node" in theirs
    assert [s for s in theirs if s not in ours] == []


@pytest.mark.parametrize("spelling", [
    ["--standalone", "--nproc_per_node=2"], ["--standalone", "--nproc-per-node", "2"],
    ["--nproc_per_node", "2", "--standalone"],
])
def test_standalone(mpich, capsys, spelling):
    env, cmd, text = dry_run(capsys, "--mpiexec", mpich, *spelling, "train.py", "--lr", "1")
    assert cmd[1:3] == ["-n", "2"] and target_of(cmd) == ["train.py", "--lr", "1"]
    assert env["MASTER_ADDR"] == "127.0.0.1" and 0 < int(env["MASTER_PORT"]) < 65536
    assert str(uuid.UUID(env["TORCHELASTIC_RUN_ID"])) == env["TORCHELASTIC_RUN_ID"]
    assert env["TORCHELASTIC_RESTART_COUNT"] == "0" and env["TORCHELASTIC_MAX_RESTARTS"] == "0"
    assert env["ROLE_NAME"] == "default" and "ignored" not in text


def test_standalone_refuses_other_machines(mpich, capsys):
    assert cli.main(["--standalone", "--hosts", "a,b", "t.py"]) == 2
    assert "--standalone runs every rank on this machine" in capsys.readouterr().err
    assert cli.main(["--standalone", "--nnodes", "2", "t.py"]) == 2
    assert "asks for more" in capsys.readouterr().err


@pytest.mark.parametrize("addr, port", [("--master-addr", "--master-port"), ("--master_addr", "--master_port")])
def test_master_addr_and_port(mpich, capsys, addr, port):
    env, _, _ = dry_run(capsys, "--mpiexec", mpich, addr, "10.1.2.3", f"{port}=1234", "t.py")
    assert env["MASTER_ADDR"] == "10.1.2.3" and env["MASTER_PORT"] == "1234"
    env, _, _ = dry_run(capsys, "--mpiexec", mpich, "--hosts", "n1:2,n2:2", "t.py")
    assert env["MASTER_ADDR"] == "n1" and env["MASTER_PORT"] == "29500"  # torchrun's default port off one machine


@pytest.mark.parametrize("option", ["--node-rank", "--node_rank"])
def test_node_rank_noted(mpich, capsys, option):
    _, cmd, text = dry_run(capsys, "--mpiexec", mpich, option, "1", "t.py")
    assert f"{option.replace('_', '-')} 1 ignored: one disttorchrun starts the ranks of every machine" in text
    assert cmd[1:3] == ["-n", "1"]


def test_rendezvous_options_noted(mpich, capsys):
    args = ["--rdzv-backend", "c10d", "--rdzv_endpoint", "node1:29400", "--rdzv-id", "job7", "--rdzv-conf",
            "timeout=60", "--monitor-interval", "5", "--start-method", "spawn", "--local-addr", "x"]
    env, cmd, text = dry_run(capsys, "--mpiexec", mpich, "--nproc-per-node", "2", *args, "t.py")
    notes = [line for line in text.splitlines() if " ignored: " in line]
    assert [n.split()[1] for n in notes] == ["--rdzv-backend", "--rdzv-endpoint", "--rdzv-conf",
                                              "--monitor-interval", "--start-method", "--local-addr"]
    assert env["TORCHELASTIC_RUN_ID"] == "job7"  # the run id is kept
    assert cmd[1:3] == ["-n", "2"] and target_of(cmd) == ["t.py"]
    env, _, _ = dry_run(capsys, "--mpiexec", mpich, "--standalone", "--rdzv-id", "job7", "t.py")
    assert env["TORCHELASTIC_RUN_ID"] != "job7"  # as torchrun: --standalone picks its own


def test_max_restarts(mpich, capsys):
    env, _, text = dry_run(capsys, "--mpiexec", mpich, "--max_restarts=2", "t.py")
    assert env["TORCHELASTIC_MAX_RESTARTS"] == env["DISTTORCH_MAX_RESTARTS"] == "2" and "up to 2" in text
    job = cli.plan(cli.parse_args(["--mpiexec", mpich, "--max-restarts", "2", "t.py"]))
    assert job.env_for(1)["TORCHELASTIC_RESTART_COUNT"] == job.env_for(1)["DISTTORCH_RESTART_COUNT"] == "1"


def test_program_kinds(mpich, capsys, monkeypatch):
    _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "--no-python", "./prog", "-x")
    assert target_of(cmd) == ["--no-python", "./prog", "-x"]
    _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "--no_python", "--run-path", "/abs/t.py")
    assert target_of(cmd) == ["/abs/t.py"]  # --run-path wins, as in torchrun
    for spelling in ("-m", "--module"):
        _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, spelling, "pkg.train", "a")
        assert target_of(cmd) == ["-m", "pkg.train", "a"]
    assert cli.main(["--no-python", "-m", "pkg"]) == 2
    assert "don't use both --no-python and --module" in capsys.readouterr().err
    monkeypatch.setenv("PYTHON_EXEC", "/opt/other/python3")  # torchrun's override of the interpreter
    _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "t.py")
    assert cmd[cmd.index(cli.BOOTSTRAP) - 1] == "/opt/other/python3"


def test_nnodes_range(mpich, tmp_path, capsys, monkeypatch):
    _, cmd, text = dry_run(capsys, "--mpiexec", mpich, "--nnodes=1:2", "--nproc-per-node", "2", "t.py")
    assert cmd[1:3] == ["-n", "2"] and "--nnodes 1:2: no elastic membership under MPI" in text
    _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "--nnodes", "1:2", "--hosts", "a:1,b:1", "t.py")
    assert cmd[1:5] == ["-n", "2", "-hosts", "a:1,b:1"]
    for spec, message in [("3:4", "but 2 hosts given"), ("2:1", "MIN:MAX"), ("x", "MIN:MAX")]:
        assert cli.main(["--mpiexec", mpich, "--nnodes", spec, "--hosts", "a,b", "t.py"]) == 2
        assert message in capsys.readouterr().err
    fake_exe(tmp_path, "srun", "slurm 23.02.6\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "1")
    monkeypatch.setenv("SLURM_JOB_NODELIST", "gpu[07-09],cpu1")
    env, cmd, _ = dry_run(capsys, "--nnodes", "1:2", "--nproc_per_node", "4", "t.py")
    assert "--nodes=1-2" in cmd and "--ntasks-per-node=4" in cmd and not any(a.startswith("--ntasks=") for a in cmd)
    assert env["MASTER_ADDR"] == "gpu07"


def test_nproc_per_node_words(mpich, capsys):
    cores = len(os.sched_getaffinity(0))
    _, cmd, text = dry_run(capsys, "--mpiexec", mpich, "--nproc-per-node=cpu", "t.py")
    assert cmd[1:3] == ["-n", str(cores)] and f"--nproc-per-node cpu: {cores} (cores)" in text
    gpus = cli.gpu_count()
    if gpus:
        _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "--nproc_per_node", "gpu", "t.py")
        assert cmd[1:3] == ["-n", str(gpus)]
    else:
        assert cli.main(["--mpiexec", mpich, "--nproc_per_node", "gpu", "t.py"]) == 2
        assert "--nproc-per-node gpu: no cuda device" in capsys.readouterr().err


def test_output_options(mpich, capsys):
    def streams(*args: str) -> list[tuple[int, int]]:
        job = cli.plan(cli.parse_args(["--mpiexec", mpich, "--nproc-per-node", "3", *args, "t.py"]))
        return [(job.file_streams(r), job.console_streams(r)) for r in range(3)]

    assert streams() == [(0, 3)] * 3  # the console
    assert streams("--log-dir", "L") == [(3, 0)] * 3  # files only
    assert streams("--log_dir", "L", "--tee") == [(3, 3)] * 3
    assert streams("--log-dir", "L", "-t", "2") == [(3, 2)] * 3
    assert streams("--log-dir", "L", "--redirects", "1") == [(1, 2)] * 3  # torchrun: stderr stays on the console
    assert streams("--log-dir", "L", "-r", "0:3,1:2", "--tee", "1:2") == [(3, 0), (2, 3), (0, 3)]
    assert streams("--local-ranks-filter", "0,2") == [(0, 3), (0, 0), (0, 3)]
    assert streams("--log-dir", "L", "--tee", "--local_ranks_filter=1") == [(3, 0), (3, 3), (3, 0)]
    _, _, text = dry_run(capsys, "--mpiexec", mpich, "--tee", "3", "--redirects", "3", "t.py")
    assert "--redirects and --tee ignored without --log-dir: all output goes to the console" in text
    for bad in (["--tee", "5"], ["--redirects", "0:x"], ["--local-ranks-filter", "a"]):
        assert cli.main(["--mpiexec", mpich, *bad, "t.py"]) == 2
        assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("form", [["--mpi-args", "--mpi=pmi2"], ["--mpi-args=--mpi=pmi2"],
                                  ["--mpi_args", "--mpi=pmi2"]])
def test_mpi_args_that_start_with_a_dash(mpich, capsys, form):
    """The SLURM template's line: a value starting with '-', after a bare --tee."""
    _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "--max-restarts", "3", "--log-dir", "logs", "--tee", *form,
                        "train.py", "--steps", "5")
    assert cmd[cmd.index(cli.BOOTSTRAP) - 2:] == ["--mpi=pmi2", sys.executable, cli.BOOTSTRAP, "train.py",
                                                 "--steps", "5"]


def test_group_variables_from_each_launcher():
    two_nodes = {"PMI_RANK": "3", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}
    slurm = {"SLURM_PROCID": "5", "SLURM_NTASKS": "6", "SLURM_LOCALID": "1", "SLURM_NODEID": "2",
             "SLURM_TASKS_PER_NODE": "2(x3)", "SLURM_NNODES": "3"}
    for env, group in ((two_nodes, ("1", "2")), (slurm, ("2", "3")), ({}, ("0", "1"))):
        launch_env.export_torchrun_env(env)
        assert (env["GROUP_RANK"], env["GROUP_WORLD_SIZE"]) == group
        assert (env["ROLE_RANK"], env["ROLE_WORLD_SIZE"]) == (env["RANK"], env["WORLD_SIZE"])
        assert env["ROLE_NAME"] == "default" and env["TORCHELASTIC_RESTART_COUNT"] == "0"


ENV_SCRIPT = """\
import json, os, sys
names = {names!r}
with open(os.path.join(sys.argv[1], "rank" + os.environ["RANK"] + ".json"), "w") as fh:
    json.dump({{n: os.environ.get(n) for n in names}}, fh)
"""
TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
                 "ROLE_RANK", "ROLE_NAME", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                 "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_RUN_ID", "TORCHELASTIC_MAX_RESTARTS")


def test_torchrun_standalone_line_runs_unchanged(tmp_path):
    """`torchrun --standalone --nproc_per_node=2 train.py` with torchrun replaced by disttorchrun."""
    need_mpi()
    script = tmp_path / "train.py"
    script.write_text(ENV_SCRIPT.format(names=TORCHRUN_VARS))
    r = launch("--standalone", "--nproc_per_node=2", script, tmp_path, cwd=tmp_path)
    assert r.returncode == 0 and r.err == "", r
    seen = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    for rank, env in enumerate(seen):
        assert env == dict(seen[0], RANK=str(rank), LOCAL_RANK=str(rank), ROLE_RANK=str(rank)), env
        assert {k: env[k] for k in ("WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
                                    "ROLE_NAME", "ROLE_WORLD_SIZE", "MASTER_ADDR", "TORCHELASTIC_RESTART_COUNT",
                                    "TORCHELASTIC_MAX_RESTARTS")} == {
            "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "GROUP_RANK": "0", "GROUP_WORLD_SIZE": "1",
            "ROLE_NAME": "default", "ROLE_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
            "TORCHELASTIC_RESTART_COUNT": "0", "TORCHELASTIC_MAX_RESTARTS": "0"}
        assert 0 < int(env["MASTER_PORT"]) < 65536 and uuid.UUID(env["TORCHELASTIC_RUN_ID"])


# -- leftovers --------------------------------------------------------------------------------------
def _open_files() -> set[str]:
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            found.update(os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return found


def test_no_hwloc_file_left_after_mpi_abort():
    """MPICH's proxies keep the topology in /tmp/hydra_hwloc_xmlfile_*; killed by MPI_Abort they leave it.
    The file names say nothing of their job, so a file left meanwhile by another MPI job on the machine (a bare
    ``mpiexec`` killed, which disttorchrun does not clean up after) looks the same: a job that really leaves its
    file leaves it every time, so up to three tries, and one clean try passes."""
    need_mpi()
    leftovers = []
    for _ in range(3):
        before = set(Path("/tmp").glob("hydra_hwloc_xmlfile_*"))
        r = launch("--nproc-per-node", 2, RANK_SCRIPT, "mpi", 1)
        assert r.returncode == 1 and "failure after MPI_Init" in r.err, r
        # files other jobs running now still hold open are theirs, not leftovers
        left = {str(p) for p in set(Path("/tmp").glob("hydra_hwloc_xmlfile_*")) - before} - _open_files()
        if not left:
            return
        leftovers.append(left)
    pytest.fail(f"each of three jobs left a topology file: {leftovers}")


def test_log_dir_has_a_folder_for_a_silent_rank(tmp_path):
    need_mpi()
    script = tmp_path / "quiet.py"
    script.write_text("import os\nif os.environ['RANK'] == '0':\n    print('only rank 0 talks')\n")
    r = launch("--nproc-per-node", 2, "--log-dir", tmp_path / "logs", script)
    assert r.returncode == 0, r
    for rank, text in ((0, "only rank 0 talks\n"), (1, "")):
        folder = tmp_path / "logs" / "attempt_0" / str(rank)
        assert (folder / "stdout.log").read_text() == text and (folder / "stderr.log").read_text() == ""


def test_one_prefix_per_line():
    r = launch("--launcher", "local", RANK_SCRIPT, "raise", 0)
    assert r.returncode == 1, r
    assert "[rank 0] failed with an uncaught exception:" in r.err, r
    assert not re.search(r"\[rank \d+\] rank \d+", r.out + r.err), r


def test_missing_script_starts_nothing(tmp_path, mpich, capsys):
    for args, message in [(["missing.py"], "can't open file 'missing.py': no such file"),
                          (["-m", "no_such_module_here"], "no module named 'no_such_module_here'"),
                          (["--no-python", "./no-such-program"], "is not an executable file")]:
        assert cli.main(["--mpiexec", mpich, "--nproc-per-node", "2", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and "nothing was started" in err
    assert Path(mpich + ".argv").read_text() == "--version\n" * 3  # mpiexec was only asked for its version


def test_launcher_start_imports_no_framework():
    code = ("import sys, contextlib, io\nfrom disttorch.launcher import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    cli.main(['--dry-run', '--nproc-per-node', '2', 't.py'])\n"
            "    try:\n        cli.main(['--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('disttorch', 'numpy', 'torch', 'mpi4py')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT,
                          env=clean_env())
    assert done.returncode == 0, done.stderr
    loaded = eval(done.stdout)
    assert [m for m in loaded if not m.startswith("disttorch.launcher")] == ["disttorch"], loaded


def test_no_python_program_is_an_mpi_rank(tmp_path):
    """--no-python: the executable is started by the rank's bootstrap and still joins MPI (PMI's fds)."""
    need_mpi()
    prog = tmp_path / "prog"
    prog.write_text(f"#!{sys.executable}\nimport os\nfrom mpi4py import MPI\n"
                    "print('sum', MPI.COMM_WORLD.allreduce(1), 'rank', os.environ['RANK'])\n")
    prog.chmod(0o755)
    r = launch("--no-python", "--nproc-per-node", 2, "./prog", cwd=tmp_path)
    assert r.returncode == 0, r
    assert sorted(r.out.splitlines()) == ["[rank 0] sum 2 rank 0", "[rank 1] sum 2 rank 1"], r


def test_pet_environment_defaults(mpich, capsys, monkeypatch):
    """torchrun's PET_<OPTION> variables give defaults; the command line wins."""
    for name, value in (("PET_NPROC_PER_NODE", "3"), ("PET_STANDALONE", "1"), ("PET_MASTER_PORT", "4242"),
                        ("PET_MAX_RESTARTS", "2")):
        monkeypatch.setenv(name, value)
    env, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "t.py")
    assert cmd[1:3] == ["-n", "3"] and env["MASTER_PORT"] == "4242" and env["TORCHELASTIC_MAX_RESTARTS"] == "2"
    _, cmd, _ = dry_run(capsys, "--mpiexec", mpich, "--nproc-per-node", "2", "t.py")
    assert cmd[1:3] == ["-n", "2"]
    assert cli.main(["--mpiexec", mpich, "--hosts", "a,b", "t.py"]) == 2  # PET_STANDALONE=1 is --standalone
    assert "--standalone runs every rank on this machine" in capsys.readouterr().err
    monkeypatch.setenv("PET_STANDALONE", "yes")
    assert cli.main(["--mpiexec", mpich, "t.py"]) == 2 and "PET_STANDALONE='yes'" in capsys.readouterr().err
