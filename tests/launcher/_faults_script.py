"""A rank program for tests/launcher/test_launcher_faults.py: argv[1] is the fault, argv[2] the rank that has it."""
import os
import stat
import sys
import threading
import time

rank = int(os.environ["RANK"])
mode, bad = sys.argv[1], int(sys.argv[2])
print(f"rank {rank} started", flush=True)

if mode == "dup2":  # the bad rank sends its own output to a file of its own: it is not dead for that
    if rank == bad:
        fd = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        time.sleep(1.5)
        print(f"rank {rank} still alive", flush=True)
    else:
        time.sleep(2.5)
elif mode == "os_exit" and rank == bad:
    time.sleep(0.3)
    os._exit(3)
elif mode == "thread" and rank == bad:
    def load() -> None:
        raise ValueError(f"helper thread of rank {rank} broke")

    worker = threading.Thread(target=load, name="loader")
    worker.start()
    worker.join()
    os._exit(1)  # what a script does when its worker died
elif mode == "logs":
    for i in range(4):
        print(f"line {i}", flush=True)
        time.sleep(0.1)
elif mode == "rundir":
    run_dir = os.environ["DISTTORCH_RUN_DIR"]
    for path in (os.path.dirname(run_dir), run_dir):
        st = os.lstat(path)
        print(f"dir {path} mode {stat.S_IMODE(st.st_mode):o} uid {st.st_uid} isdir {stat.S_ISDIR(st.st_mode)}",
              flush=True)
elif mode in ("os_exit", "thread"):
    time.sleep(60)  # the healthy ranks: only a teardown ends them in time
print(f"rank {rank} done", flush=True)
