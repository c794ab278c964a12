"""torch.hub: local hubconf entry points, the cache folder, weights from a (file://) URL."""
from __future__ import annotations

import hashlib

import pytest

import disttorch

HUBCONF = '''
dependencies = ["numpy"]

def tiny(width=3):
    """A linear layer of the given width."""
    import disttorch
    return disttorch.nn.Linear(width, 1)

def _private():
    pass
'''


def test_local_repository_entry_points(tmp_path):
    (tmp_path / "hubconf.py").write_text(HUBCONF)
    assert disttorch.hub.list(str(tmp_path), source="local") == ["tiny"]
    assert "linear layer" in disttorch.hub.help(str(tmp_path), "tiny", source="local")
    model = disttorch.hub.load(str(tmp_path), "tiny", 5, source="local")
    assert model.weight.shape == (1, 5)
    with pytest.raises(RuntimeError, match="Cannot find callable nope in hubconf"):
        disttorch.hub.load(str(tmp_path), "nope", source="local")
    with pytest.raises(ValueError, match="Unknown source"):
        disttorch.hub.load(str(tmp_path), "tiny", source="ftp")
    (tmp_path / "hubconf.py").write_text('dependencies = ["no_such_package_here"]\n')
    with pytest.raises(RuntimeError, match="Missing dependencies: no_such_package_here"):
        disttorch.hub.list(str(tmp_path), source="local")


def test_cache_dir_and_load_state_dict_from_url(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    assert disttorch.hub.get_dir() == str(tmp_path / "home" / "hub")
    disttorch.hub.set_dir(tmp_path / "hubdir")
    try:
        assert disttorch.hub.get_dir() == str(tmp_path / "hubdir")
        src = tmp_path / "weights.pt"
        disttorch.save({"w": disttorch.arange(3.0)}, src)
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        named = tmp_path / f"weights-{digest[:8]}.pt"
        named.write_bytes(src.read_bytes())
        state = disttorch.hub.load_state_dict_from_url(named.as_uri(), check_hash=True)
        assert state["w"].tolist() == [0.0, 1.0, 2.0]
        assert (tmp_path / "hubdir" / "checkpoints" / named.name).exists()
        named.unlink()  # now served from the cache
        assert disttorch.hub.load_state_dict_from_url(named.as_uri())["w"].tolist() == [0.0, 1.0, 2.0]
        bad = tmp_path / "other-deadbeef.pt"
        bad.write_bytes(src.read_bytes())
        with pytest.raises(RuntimeError, match="invalid hash value"):
            disttorch.hub.load_state_dict_from_url(bad.as_uri(), check_hash=True)
        with pytest.raises(RuntimeError, match="not in the hub cache"):
            disttorch.hub.load("someone/repo", "tiny")
    finally:
        disttorch.hub._hub_dir[0] = None
