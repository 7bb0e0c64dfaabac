"""Shared fixtures, built once per session: a tiny from-scratch encoder, a small trained model folder, a verdict cache.

Everything runs offline: the encoder's WordPiece vocabulary is learnt from the
project's own example corpus, and the Hub is switched off (tests/helpers.py)
before anything imports huggingface_hub.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from genre_model.tables import write_jsonl

from helpers import TINY_TRAINING_FLAGS, launch_training, read_corpus, run_flags


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer, 64-wide BERT with a WordPiece vocabulary learnt from the example corpus."""
    from transformers import set_seed

    from genre_model.scratch import save_scratch_encoder, train_wordpiece_tokenizer

    set_seed(0)
    texts = [row["synopsis"] for row in read_corpus()]
    return save_scratch_encoder(
        tmp_path_factory.mktemp("tiny-encoder"),
        train_wordpiece_tokenizer(texts, vocab_size=3000, max_length=256),
        num_hidden_layers=2,
        hidden_size=64,
        num_attention_heads=2,
        intermediate_size=128,
    )


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "films.jsonl", read_corpus(limit=240))


@pytest.fixture(scope="session")
def training_log(tiny_encoder, small_dataset, tmp_path_factory) -> tuple[Path, str]:
    """A model folder written by `accelerate launch train.py` from the tiny encoder, and what the run printed.

    It learns from targets blended with the TF-IDF baseline's (--baseline_distillation), as the demo model
    does; the other runs of the suite learn from the labels alone."""
    output_dir = tmp_path_factory.mktemp("trained") / "model"
    result = launch_training(
        *run_flags(small_dataset, tiny_encoder, output_dir), *TINY_TRAINING_FLAGS, "--baseline_distillation", "0.5"
    )
    return output_dir, result.stdout + result.stderr


@pytest.fixture(scope="session")
def trained_model(training_log) -> Path:
    return training_log[0]


@pytest.fixture(scope="session")
def verdict_cache(tmp_path_factory) -> Path:
    """One cache of fast CPU verdicts and graphs: each model's check runs once, none is read from ~/.cache."""
    return tmp_path_factory.mktemp("verdicts")
