"""The layers hold: dependencies point downwards only (docs: DESIGN "Layers").

- ``backends`` and ``collectives`` speak raw arrays: they never import the Tensor or any other module of the
  framework (checked in the source, imports at any depth, and by importing them in a fresh interpreter);
- starting ``disttorchrun`` imports no framework module;
- device-specific modules (``cupy``, ``cupyx``) are imported only in ``backends/`` and ``collectives/nccl.py``.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# source folder -> the package it is installed as (pyproject.toml's package-dir)
PACKAGES = {"disttorch": "disttorch", "backends": "disttorch.backends", "collectives": "disttorch.collectives",
            "launcher": "disttorch.launcher"}
# what each lower layer may import of disttorch (a module, or a package and everything below it);
# disttorch.__version__ is a constant of the light package __init__
MAY_IMPORT = {
    "backends": ("disttorch.backends", "disttorch.__version__"),
    "collectives": ("disttorch.collectives", "disttorch.backends", "disttorch.__version__"),
    "launcher": ("disttorch.launcher", "disttorch.backends", "disttorch.__version__"),
}
CUPY_ALLOWED = ("backends/", "collectives/nccl.py")


def sources(folder: str) -> Iterator[tuple[Path, str]]:
    """Each .py file under ``folder`` with its module name once installed."""
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield path, ".".join([PACKAGES[folder], *parts])


def imported(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """``(line, target)`` for every import in the file, at any depth (inside functions, try blocks...).

    Relative imports are resolved; ``from package import name`` gives ``package.name`` (a submodule or a name
    of the package: either way something the package must load); ``importlib.import_module("x")`` and
    ``__import__("x")`` with a literal name count too."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if alias.name != "*" else base
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) == "import_module" or getattr(node.func, "id", None)
                   in ("import_module", "__import__"))):
            yield node.lineno, node.args[0].value


def within(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def fresh_modules(code: str, *args: str) -> list[str]:
    """The ``disttorch`` modules (and numpy, if loaded) in ``sys.modules`` after running ``code`` in a fresh
    interpreter (from the repository root, as the tests' own interpreter sees the package)."""
    report = ("\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(m for m in sys.modules "
              "if m.split('.')[0] in ('disttorch', 'numpy'))), file=sys.__stderr__)")
    done = subprocess.run([sys.executable, "-c", code + report, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env=dict(os.environ, DISTTORCH_SELECT_DEVICE="0"))
    lines = [line for line in done.stderr.splitlines() if line.startswith("MODULES=")]
    assert lines, f"the subprocess failed (rc {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return json.loads(lines[-1][len("MODULES="):])


# -- (a) backends/ and collectives/ never import the framework ---------------------------------------
@pytest.mark.parametrize("layer", ["backends", "collectives"])
def test_lower_layer_sources_import_no_framework_module(layer):
    bad = [f"{path.relative_to(ROOT)}:{line}: {target}"
           for path, module in sources(layer) for line, target in imported(path, module)
           if within(target, ("disttorch",)) and not within(target, MAY_IMPORT[layer])]
    assert not bad, f"{layer}/ must speak raw arrays, not import the framework:\n" + "\n".join(bad)


@pytest.mark.parametrize("layer", ["backends", "collectives"])
def test_importing_a_lower_layer_loads_no_framework_module(layer):
    # every module of the layer, also those its package imports only on demand (mpi, nccl)
    names = [module for _, module in sources(layer)]
    loaded = fresh_modules("import importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in names))
    # the package itself reads the launcher's environment at import (launcher/env.py: standard library only)
    package = {"disttorch", "disttorch.launcher", "disttorch.launcher.env"}
    bad = [m for m in loaded if m.startswith("disttorch") and m not in package and not within(m, MAY_IMPORT[layer])]
    assert not bad, f"importing disttorch.{layer} loaded framework modules: {bad}"


# -- (b) disttorchrun starts without the framework ------------------------------------------------------
def test_launcher_sources_import_no_framework_module():
    bad = [f"{path.relative_to(ROOT)}:{line}: {target}"
           for path, module in sources("launcher") for line, target in imported(path, module)
           if within(target, ("disttorch",)) and not within(target, MAY_IMPORT["launcher"])]
    assert not bad, "the launcher must not import the framework:\n" + "\n".join(bad)


RUN_LAUNCHER = """\
import runpy, sys
sys.argv = ["disttorchrun", *sys.argv[1:]]
try:
    runpy.run_module("disttorch.launcher", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
"""
RUN_ENTRY_POINT = """\
import sys
from importlib.metadata import entry_points
main = entry_points(group="console_scripts")["disttorchrun"].load()
sys.argv = ["disttorchrun", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
"""
RUN_BOOTSTRAP = """\
import runpy, sys
sys.argv = ["bootstrap", *sys.argv[1:]]
try:
    runpy.run_module("disttorch.launcher.bootstrap", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
"""


@pytest.mark.parametrize("how, code, args", [
    ("python -m disttorch.launcher --help", RUN_LAUNCHER, ["--help"]),
    ("python -m disttorch.launcher --version", RUN_LAUNCHER, ["--version"]),
    ("python -m disttorch.launcher --dry-run", RUN_LAUNCHER, ["--dry-run", "--nproc-per-node", "2", "train.py"]),
    ("disttorchrun --dry-run", RUN_ENTRY_POINT, ["--dry-run", "--launcher", "local", "train.py", "--lr", "1"]),
    ("python -m disttorch.launcher.bootstrap --help", RUN_BOOTSTRAP, ["--help"]),
])
def test_launcher_start_loads_no_framework_module(how, code, args):
    loaded = fresh_modules(code, *args)
    assert "disttorch.launcher.cli" in loaded or "bootstrap" in how, f"{how} did not run: {loaded}"
    bad = [m for m in loaded if m != "disttorch" and not within(m, ("disttorch.launcher",))]
    assert not bad, f"{how} imported modules the launcher has no use for: {bad}"


# -- (c) cupy and cupyx stay behind the backend objects -------------------------------------------------
def test_cupy_is_imported_only_by_backends_and_nccl():
    bad = [f"{path.relative_to(ROOT)}:{line}: {target}"
           for folder in ("disttorch", "launcher", "collectives") for path, module in sources(folder)
           if not str(path.relative_to(ROOT)).startswith(CUPY_ALLOWED)
           for line, target in imported(path, module) if target.split(".")[0] in ("cupy", "cupyx")]
    assert not bad, ("device-specific calls belong behind the backend object (backends/: backend_for_array, "
                     "its kernels, device_index); cupy/cupyx imported at:\n" + "\n".join(bad))


# -- the lazy package itself --------------------------------------------------------------------------
def test_the_framework_loads_on_first_use():
    loaded = fresh_modules("import disttorch, sys\n"
                           "assert 'disttorch._tensor' not in sys.modules\n"
                           "t = disttorch.tensor([1.0, 2.0])\n"
                           "assert isinstance(t * 2, disttorch.Tensor) and disttorch.nn.Linear\n"
                           "assert 'tensor' in vars(disttorch)  # published: no __getattr__ from now on\n")
    assert "disttorch._tensor" in loaded and "disttorch.nn" in loaded


WHOLE_AND_ONCE = """
import gc, sys, types
import disttorch
assert disttorch._state == "loaded", disttorch._state
# every module object exists once: no file of the framework was executed twice
names = [m.__name__ for m in gc.get_objects() if isinstance(m, types.ModuleType) and m.__name__.startswith("disttorch")]
twice = sorted({n for n in names if names.count(n) > 1})
assert not twice, f"executed twice: {twice}"
assert all(sys.modules[n] is getattr(disttorch, n.split(".")[1]) for n in ("disttorch._tensor", "disttorch.nn"))
assert disttorch._tensor.Tensor is disttorch.Tensor and disttorch.nn.Linear is disttorch.nn.modules.linear.Linear
"""


@pytest.mark.parametrize("first", [
    # (in a namespace of its own: the star import shadows builtins such as all, float and range, as in torch)
    "ns = {}\nexec('from disttorch import *', ns)\nassert ns['tensor']([1]).sum().item() == 1 and ns['nn'].Module",
    "import disttorch.nn.functional as F\nimport disttorch\nassert F.relu(disttorch.tensor([-1.0])).item() == 0",
    "from disttorch.nn import Linear\nassert Linear(2, 3)(__import__('disttorch').ones(1, 2)).shape == (1, 3)",
    "from disttorch import nn\nassert nn.Linear",
    "import disttorch, pickle\nt = pickle.loads(pickle.dumps(disttorch.arange(3)))\nassert t.tolist() == [0, 1, 2]",
    "import disttorch\nassert 'Tensor' in dir(disttorch) and not hasattr(disttorch, 'no_such_name')",
    "from disttorch._tensor import Tensor\nimport disttorch\nassert Tensor is disttorch.Tensor",
    "import disttorch._api",
    "import disttorch.utils.safetensors",  # a module the framework's load does not import
    "import disttorch.backends, disttorch.optim as optim\nassert optim.SGD",
])
def test_any_first_use_loads_the_whole_framework_once(first):
    loaded = fresh_modules(first + WHOLE_AND_ONCE)
    assert {"disttorch._api", "disttorch.optim", "disttorch.distributed"} <= set(loaded)


def test_threads_using_it_first_at_once_all_get_the_framework():
    code = """
import importlib, threading
errors = []
def use(what):
    try:
        if what == "name":
            import disttorch
            assert (disttorch.ones(2) * 2).tolist() == [2.0, 2.0]
        else:
            importlib.import_module(what)
    except BaseException as exc:
        errors.append(f"{what}: {exc!r}")
threads = [threading.Thread(target=use, args=(w,)) for w in
           ("name", "disttorch._tensor", "name", "disttorch.optim", "disttorch.nn", "name")]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors
"""
    fresh_modules(code + WHOLE_AND_ONCE)
