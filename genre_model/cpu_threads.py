"""How many CPU threads a process uses: all physical cores, shared by this machine's processes, unless the user chose.

    print(use_cpu_threads())   # at the start of train.py and the batch CLI, on a machine without a GPU

Why this exists: `accelerate launch` (and torchrun with several processes) set
OMP_NUM_THREADS=1 for their children when nobody gave a thread count, so a
CPU-only `accelerate launch train.py ...` would compute on one core (measured:
3.2 s a step against 1.8 s on both cores of a 2-core machine). A thread count
the user gave (OMP_NUM_THREADS in the launcher's environment, or accelerate's
--num_cpu_threads_per_process) is kept. On Linux the launcher's own
environment and arguments tell the two apart; elsewhere a 1 set under a
launcher counts as the launcher's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

THREADS_VARIABLE = "OMP_NUM_THREADS"
THREADS_FLAG = "--num_cpu_threads_per_process"
# Variables a launcher (accelerate launch, torchrun) sets for the processes it starts.
LAUNCHER_VARIABLES = ("LOCAL_RANK", "ACCELERATE_DYNAMO_BACKEND")


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    reason: str

    def describe(self) -> str:
        return f"computing with {self.threads} CPU thread{'s' if self.threads != 1 else ''} per process ({self.reason})"


def choose_threads(
    environment: Mapping[str, str],
    launcher: tuple[Mapping[str, str], Sequence[str]] | None,
    physical_cores: int,
    local_processes: int,
) -> ThreadChoice:
    """The thread count for one process.

    environment: this process's variables. launcher: the environment and
    arguments the launching process was started with, when they can be read.
    """
    given = environment.get(THREADS_VARIABLE, "").strip()
    under_launcher = any(name in environment for name in LAUNCHER_VARIABLES)
    if (
        given.isdigit()
        and int(given) > 0
        and not (under_launcher and given == "1" and not _user_gave_threads(launcher))
    ):
        return ThreadChoice(int(given), f"{THREADS_VARIABLE}={given} as given")
    share = max(1, physical_cores // max(1, local_processes))
    processes = f"{local_processes} process{'es' if local_processes != 1 else ''}"
    return ThreadChoice(
        share,
        f"{physical_cores} physical core{'s' if physical_cores != 1 else ''} shared by {processes} on this machine",
    )


def _user_gave_threads(launcher: tuple[Mapping[str, str], Sequence[str]] | None) -> bool:
    if launcher is None:
        return False  # cannot tell: a 1 under a launcher is most likely its default
    environment, arguments = launcher
    return THREADS_VARIABLE in environment or any(argument.split("=")[0] == THREADS_FLAG for argument in arguments)


def physical_core_count() -> int:
    """Physical cores this process may run on (hyper-threads share a core's arithmetic units)."""
    import psutil

    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(psutil.cpu_count(logical=False) or available, available))


def _launcher_of_this_process() -> tuple[dict[str, str], list[str]] | None:
    """The environment and arguments our parent process was started with (Linux /proc), else None."""
    parent = Path("/proc") / str(os.getppid())
    try:
        environ = (parent / "environ").read_bytes().split(b"\0")
        arguments = (parent / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    decoded = (entry.decode("utf-8", "replace") for entry in environ if b"=" in entry)
    return dict(entry.split("=", 1) for entry in decoded), [
        argument.decode("utf-8", "replace") for argument in arguments
    ]


def use_cpu_threads() -> ThreadChoice:
    """Choose this process's thread count (see the module docstring), apply it to torch and say what was chosen."""
    import torch

    choice = choose_threads(
        os.environ, _launcher_of_this_process(), physical_core_count(), int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    )
    torch.set_num_threads(choice.threads)
    os.environ[THREADS_VARIABLE] = str(
        choice.threads
    )  # for libraries that read it later (ONNX Runtime sessions, subprocesses)
    return choice
