"""disttorch.load of hostile or unusual files written by real torch.save: memory bounded by the stored storages
(views stay views), compressed entries refused, header sizes checked against the file's size."""
import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")


def _peak_bytes(fn):
    """Peak bytes traced (numpy's buffers included) while ``fn()`` runs, and its result."""
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


def test_expanded_tensor_loads_as_a_stride_0_view(tmp_path):
    path = tmp_path / "expanded.pt"
    src = torch.arange(3.0).reshape(3, 1, 1).expand(3, 20000, 10000)  # 3 floats, 2.4 GB if dense
    torch.save({"e": src, "plain": torch.ones(2)}, path)
    assert path.stat().st_size < 4096
    peak, out = _peak_bytes(lambda: disttorch.load(path))
    e = out["e"]
    assert tuple(e.shape) == tuple(src.shape) and e.stride() == src.stride() == (1, 0, 0)
    assert peak < 1 << 20, peak  # far below the 2.4 GB a materialised copy would need
    assert e[2, 123, 456].item() == 2.0 and e[:, -1, -1].tolist() == [0.0, 1.0, 2.0]


def test_many_views_of_one_storage_share_it(tmp_path):
    path = tmp_path / "views.pt"
    base = torch.arange(250_000, dtype=torch.float32)  # 1 MB
    views = [base[i:] for i in range(0, 200_000, 1000)] + [base.view(500, 500).t(), base[::7]]
    torch.save(views, path)
    materialised = sum(v.numel() * 4 for v in views)  # about 100 MB
    peak, out = _peak_bytes(lambda: disttorch.load(path))
    assert peak < 3 * base.numel() * 4 + (1 << 20), (peak, materialised)
    for got, want in zip(out, views):
        assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert out[-2][3, 1].item() == views[-2][3, 1].item() and out[-1][5].item() == 35.0
    out[0][1400] = -1.0  # one storage: a write through one view shows in the others
    assert out[1][400].item() == -1.0 and out[-1][200].item() == -1.0 and out[-2][400 % 500, 2].item() == -1.0


def _recompress(data: bytes, only: str | None = None) -> bytes:
    """The same archive with its entries (or the one ending in ``only``) deflate-compressed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            deflate = only is None or info.filename.endswith(only)
            dst.writestr(info.filename, src.read(info), zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
    return out.getvalue()


@pytest.mark.parametrize("only", [None, "data/0", "data.pkl"])
def test_compressed_entries_are_refused(tmp_path, only):
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(1 << 16)}, buf)  # 256 KB of zeros: deflates to almost nothing
    blob = _recompress(buf.getvalue(), only)
    assert only == "data.pkl" or len(blob) < len(buf.getvalue()) // 10
    path = tmp_path / "deflated.pt"
    path.write_bytes(blob)
    with pytest.raises(RuntimeError, match=r"deflated.pt' is not a disttorch checkpoint .*entry \S+ is compressed "
                                           r"\(deflate\).*neither torch.save nor disttorch.save compresses"):
        disttorch.load(path)


def _central_record(data: bytes, name: str) -> int:
    """Offset of ``name``'s record in the archive's central directory."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        at = z.start_dir
    while data[at:at + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<HHH", data, at + 28)
        if data[at + 46:at + 46 + n].decode().endswith(name):
            return at
        at += 46 + n + m + k
    raise AssertionError(f"no {name} in the central directory")


def test_storage_entry_larger_than_the_file(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.ones(1000)}, buf)
    data = bytearray(buf.getvalue())
    at = _central_record(bytes(data), "data/0")
    assert struct.unpack_from("<II", data, at + 20) == (4000, 4000)
    struct.pack_into("<II", data, at + 20, 0xFFFFFFF0, 0xFFFFFFF0)  # its sizes: 4 GB
    path = tmp_path / "lying.pt"
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match=r"is not a disttorch checkpoint .*entry \S+data/0 claims 4294967280 bytes "
                                           r"at offset \d+ of a \d+-byte file"):
        disttorch.load(path)


def test_storage_numel_checked_before_reading():
    """A pickle claiming 10^12 elements for a 10-element storage: an error naming the sizes."""
    buf = io.BytesIO()
    torch.save(torch.ones(10), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    pkl = next(n for n in entries if n.endswith("data.pkl"))
    assert b"K\n" in entries[pkl]  # BININT1 10: the storage's numel, first in the pickle
    entries[pkl] = entries[pkl].replace(b"K\n", b"\x8a\x06\x00\x10\xa5\xd4\xe8\x00", 1)  # LONG1 10^12
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, content in entries.items():
            z.writestr(name, content)
    with pytest.raises(RuntimeError, match=r"storage 0 holds 40 bytes, expected 1000000000000 x 4"):
        disttorch.load(io.BytesIO(out.getvalue()))


def _legacy_with_npy(header_shape: tuple) -> bytes:
    """disttorch's first format whose one .npy entry's header claims ``header_shape`` (the data: 6 floats)."""
    arr = np.arange(6, dtype=np.float32)
    npy = io.BytesIO()
    np.lib.format.write_array(npy, arr, allow_pickle=False)
    raw = npy.getvalue()
    header = {"descr": "<f4", "fortran_order": False, "shape": header_shape}
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, header)
    forged = npy.getvalue() + raw[-arr.nbytes:]
    doc = {"format": "disttorch-checkpoint", "version": 1,
           "root": {"t": "tensor", "array": 0, "device": "cpu", "requires_grad": False, "parameter": False},
           "arrays": [{"dtype": "float32", "shape": list(header_shape)}]}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/format", b"disttorch-checkpoint 1")
        z.writestr("archive/arrays/0.npy", forged)
        z.writestr("archive/data.json", json.dumps(doc))
    return out.getvalue()


def test_npy_header_claiming_10_12_elements():
    assert disttorch.load(io.BytesIO(_legacy_with_npy((6,)))).tolist() == list(range(6))  # the honest one loads
    with pytest.raises(RuntimeError, match=r"is not a disttorch checkpoint .*array 0: its header claims "
                                           r"1000000000000 x 4 bytes, the entry holds 24"):
        disttorch.load(io.BytesIO(_legacy_with_npy((10**12,))))


def test_a_large_storage_is_read_without_a_second_copy(tmp_path):
    path = tmp_path / "big.pt"
    nbytes = 48 << 20
    torch.save(torch.ones(nbytes // 4), path)
    peak, out = _peak_bytes(lambda: disttorch.load(path))
    assert out.shape == (nbytes // 4,) and out[-1].item() == 1.0
    assert peak < nbytes + (12 << 20), peak  # the storage plus a 4 MiB piece in flight, not two copies
