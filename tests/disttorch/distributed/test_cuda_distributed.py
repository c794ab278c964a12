"""torch.distributed on cuda through the cupy stand-in (tests/fakecuda: 2 devices, an NCCL world of one):
the NCCL communicator made at init_process_group, Work.wait on the stream of the work's device, NCCL's
asynchronous errors and timeouts raised or acted on by the watchdog, batch_isend_irecv as one NCCL group, the
device each rank gets under a plain mpiexec, and what is said when NCCL cannot be used.

The in-process tests read the stand-in's records (which stream waited, a communicator that never finishes), so
they need DISTTORCH_FAKE_CUDA=1; the mpiexec tests start their ranks on the stand-in themselves."""
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import disttorch as torch
import disttorch.distributed as dist

sys.path.insert(0, str(Path(__file__).parents[2] / "collectives"))
import _mpirun  # noqa: E402

HERE = Path(__file__).parent
FAKE = str(Path(__file__).parents[2] / "fakecuda")
STANDIN = os.environ.get("DISTTORCH_FAKE_CUDA", "") not in ("", "0")
standin = pytest.mark.skipif(not STANDIN, reason="reads the cupy stand-in's records: run with DISTTORCH_FAKE_CUDA=1 "
                                                 "(the mpiexec tests below run on it either way)")


@pytest.fixture
def nccl_world():
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group("nccl")
    yield dist.group.WORLD
    if dist.is_initialized():
        dist.destroy_process_group()


def _comm(timeout=5.0, debug=False, host=None):
    from disttorch.collectives import SingleCommunicator
    from disttorch.collectives.nccl import NCCLCommunicator

    return NCCLCommunicator(host or SingleCommunicator(timeout=timeout), 0, timeout, debug)


def _stuck(comm, error=None):
    """Make ``comm``'s next collective never finish (its event is never done: a peer died); with ``error``,
    NCCL reports it asynchronously."""
    import cupy

    class Never(cupy.cuda.Event):
        done = False

    comm._stream.record = lambda *a: Never()
    if error is not None:
        nccl = comm._nccl_mod

        def check():
            raise nccl.NcclError(error)
        comm._comm.check_async_error = check


@standin
def test_cuda_nccl_communicator_is_made_at_init_process_group(nccl_world):
    """Bootstrapping NCCL is a broadcast over every rank of the group: it must not wait for a first send/recv
    that only two ranks join."""
    assert dist.get_backend() == "nccl" and list(nccl_world._device_comms) == [0]
    g = dist.new_group([0])
    assert list(g._device_comms) == [0]
    t = torch.arange(4.0, device="cuda")
    dist.all_reduce(t)
    assert nccl_world.communicator_for(t._data) is nccl_world._device_comms[0]


@standin
def test_cuda_nccl_collectives_in_a_world_of_one(nccl_world):
    x = torch.arange(6.0, device="cuda")
    outs = [torch.zeros(6, device="cuda")]
    dist.all_gather(outs, x)
    np.testing.assert_array_equal(outs[0].cpu().numpy(), np.arange(6.0, dtype=np.float32))
    y = torch.zeros(6, device="cuda")
    dist.all_to_all_single(y, x * 2)  # a send and a receive to self: one NCCL group
    np.testing.assert_array_equal(y.cpu().numpy(), np.arange(6.0, dtype=np.float32) * 2)
    work = dist.all_reduce(x[::2], async_op=True)
    assert work.wait() and work.is_completed()


@standin
def test_cuda_nccl_wait_uses_the_stream_of_the_works_device(nccl_world):
    """A collective on cuda:0 waited for while cuda:1 is current: cuda:0's stream must wait for it."""
    import cupy

    streams = {}
    for d in (0, 1):
        with cupy.cuda.Device(d):
            streams[d] = cupy.cuda.Stream()
            streams[d].use()
    try:
        t = torch.ones(3, device="cuda:0")
        work = dist.all_reduce(t, async_op=True)
        with torch.cuda.device(1):
            work.wait()
        assert len(streams[0].waited) == 1 and streams[1].waited == []
    finally:
        for d in (0, 1):
            with cupy.cuda.Device(d):
                cupy.cuda.Stream.null.use()


@standin
def test_cuda_nccl_async_error_raises_naming_the_group():
    """Blocking mode (DISTTORCH_DEBUG): the wait polls NCCL's asynchronous error, raises naming the group, and
    the aborted communicator refuses what follows."""
    from disttorch.collectives import CollectiveError

    comm = _comm(debug=True)
    _stuck(comm, "NCCL_ERROR_REMOTE_ERROR: remote process exited")
    work = comm.all_reduce(torch.ones(3, device="cuda")._data, async_op=True)
    with pytest.raises(CollectiveError, match=r"all_reduce on the NCCL group of ranks \[0\] .*asynchronous error: "
                                              r"NCCL_ERROR_REMOTE_ERROR"):
        work.wait()
    assert not comm._comm._alive  # ncclCommAbort: kernels waiting for the dead peer return
    with pytest.raises(CollectiveError, match="remote process exited"):
        comm.all_reduce(torch.ones(3, device="cuda")._data)
    comm.free()


@standin
def test_cuda_nccl_timeout_raises_in_blocking_mode():
    from disttorch.collectives import CollectiveError

    comm = _comm(timeout=0.2, debug=True)
    _stuck(comm)
    start = time.perf_counter()
    with pytest.raises(CollectiveError, match=r"broadcast on the NCCL group of ranks \[0\] .* did not complete "
                                              r"within 0.2 s"):
        comm.broadcast(torch.ones(3, device="cuda")._data, 0)
    assert time.perf_counter() - start < 5


@standin
@pytest.mark.parametrize("error", [None, "NCCL_ERROR_SYSTEM_ERROR: unhandled system error"])
def test_cuda_nccl_watchdog_ends_the_job_on_a_dead_peer(error):
    """Default mode: wait does not block the host; the watchdog thread sees the error (or the timeout), says
    so and ends the job through the host communicator."""
    from disttorch.collectives import SingleCommunicator

    class Host(SingleCommunicator):
        aborted = []

        def abort(self, code=1):
            self.aborted.append(code)

    host = Host(timeout=0.3)
    comm = _comm(timeout=0.3, host=host)
    _stuck(comm, error)
    work = comm.all_reduce(torch.ones(3, device="cuda")._data, async_op=True)
    assert work.wait()  # the host goes on: the device's stream waits, the watchdog watches
    deadline = time.perf_counter() + 10
    while not host.aborted and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert host.aborted == [1]
    want = "asynchronous error" if error else "did not complete within 0.3 s"
    assert comm._broken is not None and want in comm._broken and "ranks [0]" in comm._broken
    comm.free()


@standin
def test_cuda_nccl_batch_isend_irecv_is_one_group():
    """A receive posted before its send (each rank of a ring does so) completes only inside one NCCL group:
    the stand-in refuses point-to-point to self outside a group, as NCCL would deadlock."""
    from disttorch.collectives import CollectiveError
    from disttorch.collectives.base import Communicator

    comm = _comm()
    src = torch.arange(5.0, device="cuda")._data
    dst = torch.zeros(5, device="cuda")._data
    works = comm.batch_isend_irecv([(False, dst, 0, 0), (True, src, 0, 0)])
    assert len(works) == 2 and all(w.wait() for w in works)
    np.testing.assert_array_equal(dst.get(), np.arange(5.0, dtype=np.float32))
    with pytest.raises(CollectiveError, match="outside groupStart/groupEnd would deadlock"):
        Communicator.batch_isend_irecv(comm, [(False, dst, 0, 0), (True, src, 0, 0)])  # one op after another
    comm.free()


# -- ranks under mpiexec, on the stand-in ------------------------------------------------------------------
def _run(mode, n, **env):
    return _mpirun.run(HERE / "_cuda_worker.py", [mode], n, timeout=120, DISTTORCH_FAKE_CUDA="1",
                       PYTHONPATH=f"{FAKE}{os.pathsep}{_mpirun.ROOT}", **env)


def _devices(out):
    return {int(r): int(d) for r, d in re.findall(r"DEVICE rank (\d+) cuda:(\d+)", out)}


@pytest.mark.parametrize("n", [2, 3])
def test_cuda_each_rank_gets_local_rank_mod_device_count(n):
    """Plain mpiexec, no launcher variables read by the script: rank r gets cuda:(r % 2) (2 stand-in devices)."""
    result = _run("auto", n)
    assert result.returncode == 0 and _devices(result.output) == {r: r % 2 for r in range(n)}, result.output


@pytest.mark.parametrize("mode", ["chosen", "device_id", "turned_off"])
def test_cuda_a_device_the_script_chose_is_kept(mode):
    """set_device or device_id before init_process_group wins; DISTTORCH_SELECT_DEVICE=0 leaves every rank where
    it started (as it does for disttorchrun)."""
    result = _run("auto", 2, DISTTORCH_SELECT_DEVICE="0") if mode == "turned_off" else _run(mode, 2)
    assert result.returncode == 0 and _devices(result.output) == {0: 0, 1: 0}, result.output


def test_cuda_two_ranks_on_one_gpu_under_nccl_is_an_error_naming_both():
    result = _run("shared", 3)
    assert result.returncode != 0
    assert "ranks 0 and 2 both use the same GPU" in result.output and "NCCL needs one GPU per rank" in \
        result.output, result.output
    assert "Duplicate GPU" not in result.output and "OK rank" not in result.output


def test_cuda_missing_nccl_is_said_and_mpi_staging_used():
    result = _run("default", 2, DISTTORCH_FAKE_NO_NCCL="1")
    assert result.returncode == 0, result.output
    assert result.output.count("NCCL is not usable: cupy cannot load libnccl") == 2, result.output
    assert "fall back to MPI, staged through host memory" in result.output
    assert _devices(result.output) == {0: 0, 1: 1}


def test_cuda_backend_nccl_without_libnccl_says_why(tmp_path):
    script = tmp_path / "one.py"
    script.write_text("import disttorch.distributed as dist\ndist.init_process_group('nccl')\n")
    result = _mpirun.run(script, [], 0, timeout=60, DISTTORCH_FAKE_CUDA="1", DISTTORCH_FAKE_NO_NCCL="1",
                         PYTHONPATH=f"{FAKE}{os.pathsep}{_mpirun.ROOT}")
    assert result.returncode != 0
    assert "Distributed package doesn't have NCCL built in" in result.output
    assert "cupy cannot load libnccl" in result.output, result.output
