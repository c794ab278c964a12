"""Every public PyTorch name is provided by disttorch or listed, with a reason, in data/api_reviewed.txt.

Refresh after adding names: ``python tests/disttorch/api_coverage.py --write --status`` (see its docstring).
"""
from __future__ import annotations

import pytest

pytest.importorskip("torch")

import api_coverage  # noqa: E402  (after the skip: it compares against torch)

HINT = "; refresh with `python tests/disttorch/api_coverage.py --write --status` and review the file"


@pytest.fixture(scope="module")
def reviewed() -> tuple[dict[str, str], dict[str, str]]:
    return api_coverage.load()


def test_every_reason_key_is_explained(reviewed):
    reasons, names = reviewed
    assert api_coverage.MISSING in reasons
    unknown = sorted(f"{n} {key}" for n, key in names.items() if key not in reasons)
    assert not unknown, f"names with an unknown reason key: {unknown}"
    unexplained = sorted(key for key, text in reasons.items() if not text)
    assert not unexplained, f"reason keys without an explanation: {unexplained}"


def test_every_pytorch_name_is_provided_or_listed(reviewed):
    unlisted = api_coverage.unlisted(reviewed[1])
    assert not unlisted, f"PyTorch public names neither provided by disttorch nor listed: {unlisted}{HINT}"


def test_no_listed_name_is_provided(reviewed):
    stale = api_coverage.stale(reviewed[1])
    assert not stale, f"listed as not provided, but disttorch provides them: {stale}{HINT}"


def test_every_listed_name_is_a_pytorch_name(reviewed):
    unknown = api_coverage.not_pytorch(reviewed[1])
    assert not unknown, f"listed names that are no public PyTorch name: {unknown}{HINT}"


def test_status_doc_is_current(reviewed):
    with open(api_coverage.STATUS) as f:
        text = f.read()
    assert api_coverage.BEGIN in text and api_coverage.END in text, "docs/status.md lost its generated markers"
    assert text == api_coverage.status_doc(text, api_coverage.status_section(*reviewed)), (
        "docs/status.md is out of date with tests/disttorch/data/api_reviewed.txt; "
        "run `python tests/disttorch/api_coverage.py --status`")


def test_reader_rejects_malformed_lines(tmp_path):
    bad = tmp_path / "reviewed.txt"
    bad.write_text("[reasons]\nmissing = not yet\n[names]\ntorch.x missing extra\n")
    with pytest.raises(ValueError, match="cannot read"):
        api_coverage.load(str(bad))
    bad.write_text("[reasons]\nmissing = not yet\n[names]\ntorch.x missing\ntorch.x missing\n")
    with pytest.raises(ValueError, match="listed twice"):
        api_coverage.load(str(bad))
