"""A multi-worker DataLoader whose iteration raised must not hang at interpreter exit or in __del__."""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import disttorch
    from disttorch.utils.data import DataLoader, Dataset

    where, persistent, ending, ctx = sys.argv[1:5] if len(sys.argv) > 4 else ("", "", "", "")

    class Slow(Dataset):
        def __len__(self):
            return 10000

        def __getitem__(self, i):
            if where == "worker" and i == 40:
                raise ValueError("bad item")
            return disttorch.tensor([float(i)])

    KEPT = []

    def main():
        loader = DataLoader(Slow(), batch_size=2, num_workers=2, persistent_workers=persistent == "p",
                            prefetch_factor=4, multiprocessing_context=ctx)
        it = iter(loader)
        try:
            for k, _ in enumerate(it):
                if where == "main" and k == 3:
                    raise RuntimeError("main loop failed")
        except Exception as exc:
            print("caught", type(exc).__name__, flush=True)
            if ending == "raise":
                raise
            if ending == "del":
                del it, exc
                print("deleted", flush=True)
            else:
                KEPT.append((it, exc))  # alive until interpreter exit
        print("end", flush=True)

    if __name__ == "__main__":  # spawned workers re-import this file
        main()
""")


@pytest.mark.parametrize("where", ["worker", "main"])
@pytest.mark.parametrize("ending", ["keep", "del", "raise"])
@pytest.mark.parametrize("persistent", ["p", "n"])
def test_no_hang_after_error(tmp_path, where, ending, persistent):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), where, persistent, ending, "fork"],
                          capture_output=True, text=True, timeout=60)
    expected = "ValueError" if where == "worker" else "RuntimeError"
    assert f"caught {expected}" in proc.stdout, proc.stderr
    if ending == "raise":
        assert proc.returncode == 1 and expected in proc.stderr
    else:
        assert proc.returncode == 0 and proc.stdout.rstrip().endswith("end"), proc.stderr
    if ending == "del":
        assert "deleted" in proc.stdout


def test_no_hang_with_spawn(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), "worker", "n", "keep", "spawn"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "caught ValueError" in proc.stdout, proc.stderr
