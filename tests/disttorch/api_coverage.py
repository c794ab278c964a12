"""PyTorch's public names against disttorch's, through one reviewed list of the names disttorch lacks.

``data/api_reviewed.txt`` has two sections. ``[reasons]``: ``key = one-line explanation``. ``[names]``: one
line per PyTorch public name (``dir()`` without a leading underscore) of the namespaces below that disttorch
does not provide, ``<qualified name> <reason key>``; the key ``missing`` means "not provided yet", every
other key "not provided on purpose". ``test_api_coverage.py`` keeps the list exact.

    python tests/disttorch/api_coverage.py                    list unlisted and stale names
    python tests/disttorch/api_coverage.py --write --status   refresh the list and docs/status.md

``--write`` drops the names disttorch now provides and adds each unlisted name with a guessed reason
(printed: review it); ``--status`` rewrites the generated section of docs/status.md from the list.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REVIEWED = os.path.join(HERE, "data", "api_reviewed.txt")
STATUS = os.path.join(HERE, "..", "..", "docs", "status.md")
BEGIN, END = "<!-- api-coverage:begin -->", "<!-- api-coverage:end -->"
MISSING = "missing"
WIDTH = 110  # line width of the generated markdown

NAMESPACES = ("torch", "torch.Tensor", "torch.nn", "torch.nn.functional", "torch.optim", "torch.optim.lr_scheduler",
              "torch.distributed", "torch.utils.data", "torch.autograd", "torch.linalg", "torch.fft", "torch.special",
              "torch.distributions", "torch.func",
              "torch.amp", "torch.utils.benchmark", "torch.distributed.nn", "torch.distributed.nn.functional",
              "torch.cuda")


def resolve(dotted: str) -> object | None:
    """The module or class a dotted name names (``torch.Tensor``, ``disttorch.nn``), None when absent."""
    try:
        return importlib.import_module(dotted)
    except ImportError:
        parent, _, last = dotted.rpartition(".")
        owner = resolve(parent) if parent else None
        return getattr(owner, last, None)


def _names_here() -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sorted(f"{ns}.{n}" for ns in NAMESPACES for n in dir(resolve(ns)) if not n.startswith("_"))


@functools.cache
def pytorch_names() -> frozenset[str]:
    """Every public name of the namespaces, qualified (``torch.nn.functional.conv2d``).

    Read in a fresh interpreter: a package's ``dir()`` grows with each submodule anyone imports
    (``torch.distributed.fsdp``...), so in this process the answer would depend on what ran before.
    """
    code = (f"import json, sys; sys.path.insert(0, {HERE!r}); import api_coverage; "
            "print(json.dumps(api_coverage._names_here()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return frozenset(json.loads(out.splitlines()[-1]))


def provided(qualified: str) -> bool:
    """Whether disttorch has the name at the same place (``torch.x.y`` -> ``disttorch.x.y``), as an
    attribute or as a submodule not imported yet."""
    ns, _, name = qualified.rpartition(".")
    where = "disttorch" + ns[len("torch"):]
    owner = resolve(where)
    try:
        if owner is not None and hasattr(owner, name):
            return True
    except Exception:  # a lazy attribute that fails to load is not provided
        return False
    return hasattr(owner, "__path__") and importlib.util.find_spec(f"{where}.{name}") is not None


def load(path: str = REVIEWED) -> tuple[dict[str, str], dict[str, str]]:
    """(reasons: key -> explanation, names: qualified name -> reason key) of the reviewed file."""
    reasons: dict[str, str] = {}
    names: dict[str, str] = {}
    section = None
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line in ("[reasons]", "[names]"):
                section = line
            elif section == "[reasons]" and "=" in line:
                key, _, text = (part.strip() for part in line.partition("="))
                reasons[key] = text
            elif section == "[names]" and len(line.split()) == 2:
                name, key = line.split()
                if name in names:
                    raise ValueError(f"{path}:{lineno}: {name} listed twice")
                names[name] = key
            else:
                raise ValueError(f"{path}:{lineno}: cannot read {raw.strip()!r}")
    return reasons, names


def unlisted(names: dict[str, str]) -> list[str]:
    """PyTorch public names that disttorch neither provides nor lists."""
    return sorted(n for n in pytorch_names() - names.keys() if not provided(n))


def stale(names: dict[str, str]) -> list[str]:
    """Listed names that disttorch provides after all."""
    return sorted(n for n in names if provided(n))


def not_pytorch(names: dict[str, str]) -> list[str]:
    """Listed names that are no public PyTorch name (a typo, or gone from PyTorch)."""
    return sorted(names.keys() - pytorch_names())


# First guesses for names the reviewed file does not list yet; each guess is reviewed by hand.
_GUESSES = [(key, re.compile(pattern)) for key, pattern in [
    ("internal", r"TYPE_CHECKING|_notes$|common_args$|\.(torch|sys|os|math|warnings|typing|inspect|np|importlib|"
                 r"builtins|ctypes|functools|glob|platform|textwrap|threading|dataclasses|traceback|Optional|"
                 r"Callable|Literal|Self|cast|wraps|overload|Mapping)$"),
    ("sparse", r"sparse|\.(smm|spmm|dsmm|hsmm|hspmm|saddmm|sspaddmm|coalesce|is_coalesced|(c?col|c?row)_indices"
               r"(_copy)?|indices(_copy)?|values(_copy)?|dense_dim|SparseAdam)$"),
    ("quantized", r"quantiz|qint|quint|\.q_|qscheme|qparams|per_(channel|tensor)|int_repr|\.fbgemm_|\.ao$|qat$"
                  r"|intrinsic$|QInt\d|QUInt"),
    ("missing", r"^torch\.Tensor\.is_\w+$"),  # device and layout flags answer False on dense tensors
    ("mkldnn", r"mkldnn"),
    ("vendor", r"\.(cudnn|miopen)_"),
    ("nested", r"nested|jagged|padded_tensor"),
    ("xpu_mps_xla", r"xpu|mps|xla|ipu|mtia|maia|vulkan|xccl|ucc"),
    ("dynamo", r"\.(compiler|export|Sym\w+|sym_\w+)$"),
    ("storage", r"Storage(Base)?$|\.storage_type$"),
    ("dispatcher", r"torch_function|\.(ops|library|overrides|DispatchKey\w*|ExcludeDispatchKeyGuard|Tag)$"),
]]


def guess(qualified: str) -> str:
    return next((key for key, pattern in _GUESSES if pattern.search(qualified)), MISSING)


def write(reasons: dict[str, str], names: dict[str, str], path: str = REVIEWED) -> None:
    """The reviewed file, with its header comments kept and names grouped by namespace."""
    with open(path) as f:
        header = f.read().split("[reasons]", 1)[0].splitlines(keepends=True)
    out = header + ["[reasons]\n"] + [f"{k} = {v}\n" for k, v in reasons.items()] + ["\n[names]\n"]
    for ns in NAMESPACES:
        rows = sorted(n for n in names if n.rpartition(".")[0] == ns)
        if rows:
            out += [f"# {ns}\n"] + [f"{n} {names[n]}\n" for n in rows] + ["\n"]
    with open(path, "w") as f:
        f.writelines(out[:-1])


def refresh() -> None:
    reasons, names = load()
    for n in stale(names):
        print(f"provided now, dropped: {n}")
        del names[n]
    for n in unlisted(names):
        names[n] = guess(n)
        print(f"review: {n} {names[n]}")
    write(reasons, names)


def status_section(reasons: dict[str, str], names: dict[str, str]) -> str:
    """The generated part of docs/status.md: counts per namespace, then the names by reason."""
    total = {ns: 0 for ns in NAMESPACES}
    for n in pytorch_names():
        total[n.rpartition(".")[0]] += 1
    by_ns: dict[str, dict[str, list[str]]] = {ns: {} for ns in NAMESPACES}
    for n, key in sorted(names.items()):
        ns, _, short = n.rpartition(".")
        by_ns[ns].setdefault(key, []).append(short)
    yet = {ns: len(by_ns[ns].get(MISSING, [])) for ns in NAMESPACES}
    purpose = {ns: sum(len(v) for k, v in by_ns[ns].items() if k != MISSING) for ns in NAMESPACES}
    lines = [
        BEGIN,
        "<!-- generated from tests/disttorch/data/api_reviewed.txt by"
        " `python tests/disttorch/api_coverage.py --status`; edit the list, not this section -->",
        "## Public PyTorch names",
        "",
        f"Public names (`dir()` without a leading underscore) of PyTorch {_torch_version()}'s namespaces against",
        "disttorch's, from the reviewed list `tests/disttorch/data/api_reviewed.txt`.",
        "",
        "| namespace | PyTorch | provided | not provided yet | not provided on purpose |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| `{ns}` | {total[ns]} | {total[ns] - yet[ns] - purpose[ns]} | {yet[ns]} | {purpose[ns]} |"
              for ns in NAMESPACES]
    lines += ["", "### Not provided yet", ""]
    for ns in NAMESPACES:
        if yet[ns]:
            lines.append(_item(f"- `{ns}` ({yet[ns]}): ", by_ns[ns][MISSING], "  "))
    if not any(yet.values()):
        lines.append("None: every public name of these namespaces is provided or listed below.")
    lines += ["", "### Not provided on purpose", ""]
    for key, text in reasons.items():
        if key == MISSING:
            continue
        rows = [(ns, by_ns[ns].get(key, [])) for ns in NAMESPACES]
        count = sum(len(r) for _, r in rows)
        if count:
            lines.append(textwrap.fill(f"- **{key}** ({count}): {text}.", WIDTH, subsequent_indent="  "))
            lines += [_item(f"  - `{ns}`: ", r, "    ") for ns, r in rows if r]
    return "\n".join(lines + [END]) + "\n"


def _item(head: str, short_names: list[str], indent: str) -> str:
    return textwrap.fill(head + ", ".join(f"`{n}`" for n in short_names), WIDTH, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def status_doc(text: str, section: str) -> str:
    """``text`` (docs/status.md) with the generated section replaced, or appended when it has none."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + section + rest.split(END, 1)[1].lstrip("\n")
    return text.rstrip("\n") + "\n\n" + section


def write_status() -> None:
    with open(STATUS) as f:
        text = f.read()
    with open(STATUS, "w") as f:
        f.write(status_doc(text, status_section(*load())))


def main(argv: list[str]) -> int:
    if "--write" in argv:
        refresh()
    if "--status" in argv:
        write_status()
    if not {"--write", "--status"} & set(argv):
        _, names = load()
        for n in unlisted(names):
            print(f"unlisted: {n} (guess: {guess(n)})")
        for n in stale(names):
            print(f"provided, still listed: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
