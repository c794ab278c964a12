"""Functions for tests/disttorch/test_multiprocessing.py (module level, so spawned processes can import them)."""
import disttorch


def square_into_queue(i, queue, tensor):
    queue.put((i, tensor * (i + 1)))


def fail_on_one(i):
    if i == 1:
        raise ValueError("rank one failed on purpose")
    import time

    time.sleep(30)  # the parent must stop this one when the other fails


def exit_three(i):
    raise SystemExit(3)


def make_tensor(i):
    return disttorch.arange(3.0) + i
