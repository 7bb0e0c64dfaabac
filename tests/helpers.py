"""What the tests share besides fixtures: the offline environment, the corpus, and running train.py as users do.

Imported by conftest.py (which builds the shared fixtures) and by test modules;
nothing here is a fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}
os.environ.update(OFFLINE_ENVIRONMENT)  # before anything imports huggingface_hub

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = PROJECT_ROOT / "train.py"
# Small enough to train in seconds on 2 cores, large enough for every split to hold most genres.
# 128-token windows: many corpus synopses are longer, so evaluation reads them in several windows.
TINY_TRAINING_FLAGS = [
    "--max_length",
    "128",
    "--per_device_train_batch_size",
    "8",
    "--per_device_eval_batch_size",
    "16",
    "--learning_rate",
    "1e-3",
    "--num_train_epochs",
    "2",
]
_LAUNCH = ["-m", "accelerate.commands.launch"]
_ON_CPU = ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
SINGLE_PROCESS = [*_LAUNCH, "--num_processes", "1", *_ON_CPU]
# `--cpu --num_processes 2` silently starts one process; `--multi_gpu` with Accelerator(cpu=True) starts two (gloo).
TWO_PROCESSES = [*_LAUNCH, "--multi_gpu", "--num_processes", "2", *_ON_CPU, "--main_process_port", "0"]


def run_flags(dataset, encoder, output_dir) -> list[str]:
    """train.py's data, encoder and output folder flags."""
    return ["--dataset", str(dataset), "--model_name_or_path", str(encoder), "--output_dir", str(output_dir)]


def read_corpus(limit: int | None = None) -> list[dict]:
    from genre_model.corpus import read_example_corpus

    return read_example_corpus()[:limit]


def user_environment(**extra: str) -> dict[str, str]:
    """A user's shell, offline: no thread count set, so the launcher's and our defaults apply."""
    environment = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
    return environment | OFFLINE_ENVIRONMENT | extra


def launch(
    launcher: list[str], target: list[str], *arguments: str, timeout: int = 300, **extra_environment: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *launcher, *target, *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=user_environment(**extra_environment),
        cwd=PROJECT_ROOT,
    )


def launch_training(
    *flags: str, processes: int = 1, check: bool = True, timeout: int = 300
) -> subprocess.CompletedProcess:
    """Run train.py as users do, under `accelerate launch`; two processes use gloo DDP on CPU."""
    result = launch(SINGLE_PROCESS if processes == 1 else TWO_PROCESSES, [str(TRAIN_SCRIPT)], *flags, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"train.py failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result
