"""Shared fixtures: a tiny from-scratch encoder and one small trained model folder, built once per session.

Everything runs offline: the encoder's WordPiece vocabulary is learnt from the
project's own example corpus, and the Hub is switched off before anything
imports huggingface_hub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}
os.environ.update(OFFLINE_ENVIRONMENT)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT_ROOT / "examples" / "synopses.jsonl"
TRAIN_SCRIPT = PROJECT_ROOT / "train.py"
# Small enough to train in seconds on 2 cores, large enough for every split to hold most genres.
TINY_TRAINING_FLAGS = ["--max_length", "128", "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16", "--learning_rate", "1e-3", "--num_train_epochs", "2"]


def read_corpus(limit: int | None = None) -> list[dict]:
    with open(CORPUS, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return rows[:limit]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def launch_training(*flags: str, processes: int = 1, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run train.py as users do, under `accelerate launch`; two processes use gloo DDP on CPU."""
    if processes == 1:
        launcher = ["-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    else:
        # `--cpu --num_processes 2` silently starts one process; `--multi_gpu` with Accelerator(cpu=True) starts two.
        launcher = ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0"]
    command = [sys.executable, *launcher, str(TRAIN_SCRIPT), *flags]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=os.environ | OFFLINE_ENVIRONMENT | {"OMP_NUM_THREADS": "1"}, cwd=PROJECT_ROOT)
    if check and result.returncode != 0:
        raise AssertionError(f"train.py failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer, 64-wide BERT with a WordPiece vocabulary learnt from the example corpus."""
    from genre_model.scratch import save_scratch_encoder, train_wordpiece_tokenizer
    from transformers import set_seed

    set_seed(0)
    texts = [row["synopsis"] for row in read_corpus()]
    return save_scratch_encoder(
        tmp_path_factory.mktemp("tiny-encoder"), train_wordpiece_tokenizer(texts, vocab_size=3000, max_length=256),
        num_hidden_layers=2, hidden_size=64, num_attention_heads=2, intermediate_size=128,
    )


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "films.jsonl", read_corpus(limit=240))


@pytest.fixture(scope="session")
def trained_model(tiny_encoder, small_dataset, tmp_path_factory) -> Path:
    """A model folder written by `accelerate launch train.py` from the tiny encoder."""
    output_dir = tmp_path_factory.mktemp("trained") / "model"
    launch_training("--dataset", str(small_dataset), "--model_name_or_path", str(tiny_encoder), "--output_dir", str(output_dir), *TINY_TRAINING_FLAGS)
    return output_dir
