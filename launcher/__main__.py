"""Entry point of ``disttorchrun`` and ``python -m disttorch.launcher``."""
import sys


def main(argv: list[str] | None = None) -> int:
    print("disttorchrun is not implemented yet; start ranks with `mpiexec -n N python script.py`",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
