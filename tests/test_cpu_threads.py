"""genre_model.cpu_threads: all physical cores, shared by this machine's processes, unless the user chose a count."""

import pytest

from genre_model.cpu_threads import choose_threads

LAUNCHED = {"LOCAL_RANK": "0", "OMP_NUM_THREADS": "1"}  # what accelerate launch gives its child when nobody chose


@pytest.mark.parametrize(
    ("environment", "launcher", "processes", "threads"),
    [
        ({}, None, 1, 8),  # a plain `python train.py`: every core
        (LAUNCHED, ({}, ["accelerate", "launch", "train.py"]), 1, 8),  # the launcher's 1 is not a choice
        (
            LAUNCHED,
            ({}, ["accelerate", "launch", "--multi_gpu", "--num_processes", "2"]),
            2,
            4,
        ),  # two processes share the cores
        (LAUNCHED, ({}, ["torchrun", "--nproc_per_node", "3"]), 3, 2),
        (LAUNCHED, None, 1, 8),  # a launcher we cannot inspect: its 1 is taken as its default
        (
            LAUNCHED,
            ({"OMP_NUM_THREADS": "1"}, ["accelerate", "launch", "train.py"]),
            1,
            1,
        ),  # OMP_NUM_THREADS=1 accelerate launch ...
        (LAUNCHED, ({}, ["accelerate", "launch", "--num_cpu_threads_per_process", "1", "train.py"]), 1, 1),
        (LAUNCHED, ({}, ["accelerate", "launch", "--num_cpu_threads_per_process=1", "train.py"]), 1, 1),
        ({"OMP_NUM_THREADS": "3"}, None, 1, 3),  # set by the user for a plain run
        (
            {"LOCAL_RANK": "0", "OMP_NUM_THREADS": "4"},
            ({}, ["accelerate", "launch", "--cpu"]),
            1,
            4,
        ),  # accelerate's own --cpu share
        ({"OMP_NUM_THREADS": "many"}, None, 1, 8),  # not a count: ignored
        ({}, None, 16, 1),  # more processes than cores: one thread each, never zero
    ],
)
def test_the_thread_count_follows_the_user_and_otherwise_the_cores(environment, launcher, processes, threads):
    choice = choose_threads(environment, launcher, physical_cores=8, local_processes=processes)
    assert choice.threads == threads
    assert f"{threads} CPU thread" in choice.describe()
