"""Load a script of benchmarks/ as a module (they are scripts, not a package)."""
import importlib.util
import os
from types import ModuleType

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def load(script: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, script))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # train_step.py puts benchmarks/ on sys.path for numpy_steps
    return mod
