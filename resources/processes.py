"""Which process does a piece of work, and whether it still lives: for runs whose worker was killed.

A process is named by its machine (host name and boot id: a reboot ends every process of the
previous boot) and its pid. A pid is reused once its process is gone, so liveness also asks when
the process was created: a process that was born after the work started is not the one doing it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
from functools import cache
from pathlib import Path

import psutil

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PR_SET_PDEATHSIG = 1
# psutil derives a process's creation time from the boot time, which Linux states in whole seconds.
CREATE_TIME_SLACK_S = 2.0


@cache
def machine_id() -> str:
    """This machine in this boot: `<host name>/<boot id>` (the boot id is Linux's; elsewhere the boot time)."""
    boot = BOOT_ID.read_text().strip() if BOOT_ID.exists() else f"{psutil.boot_time():.0f}"
    return f"{socket.gethostname()}/{boot}"


def same_host(machine: str) -> bool:
    return machine.split("/", 1)[0] == socket.gethostname()


def this_process() -> tuple[str, int, float]:
    """(machine, pid, creation time in epoch seconds) of this process."""
    return machine_id(), os.getpid(), psutil.Process().create_time()


def process_alive(machine: str, pid: int, working_since: float) -> bool | None:
    """Whether process `pid` of `machine`, doing work since `working_since` (epoch seconds), still runs.

    None when this machine cannot tell (another host). False when the machine rebooted since, no
    such process runs, it is a zombie, or the pid now belongs to a process born after the work began.
    """
    if not same_host(machine):
        return None
    if machine != machine_id():
        return False  # same host, another boot
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return process.create_time() <= working_since + CREATE_TIME_SLACK_S
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; another user's process with that pid is still taken as alive


def die_with_parent(expected_parent: int | None = None) -> bool:
    """Have Linux send this process SIGTERM when its parent dies (`prctl(PR_SET_PDEATHSIG)`; kept
    across `execve`). If `expected_parent` is given and is no longer the parent, the parent died
    before the call: SIGTERM now. False where there is no such call (not Linux).

    Linux sends the signal when the parent *thread* that started this process ends: right for a
    process started by the thread that then waits for it (a Dagster step and its dbt)."""
    if not sys.platform.startswith("linux"):
        return False
    # An ignored SIGTERM is inherited across fork and exec (a parent that ignores it would pass that
    # on): the signal this asks for must end the process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(error)}")
    if expected_parent is not None and os.getppid() != expected_parent:
        os.kill(os.getpid(), signal.SIGTERM)
    return True
