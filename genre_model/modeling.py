"""The classifier: an encoder with a 20-way multi-label head, wired the way 🤗 tools expect.

    model = build_model("klue/bert-base")          # any Hub id or local encoder folder
    loss = multi_label_loss(model(**batch).logits, batch["labels"], pos_weight)

The config carries `problem_type="multi_label_classification"` and Korean
`id2label`/`label2id`, so `pipeline("text-classification", model=folder,
top_k=None)` applies a sigmoid and names every genre with no code of ours.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from genre_model.errors import ModelLoadError
from genre_model.genres import GENRES

PROBLEM_TYPE = "multi_label_classification"


def label_config() -> dict:
    """The config fields that make a model a GENRES multi-label classifier."""
    return {
        "num_labels": len(GENRES),
        "problem_type": PROBLEM_TYPE,
        "id2label": dict(enumerate(GENRES)),
        "label2id": {genre: index for index, genre in enumerate(GENRES)},
    }


@contextmanager
def _explained_load_errors(name_or_path: str):
    try:
        yield
    except (OSError, ValueError) as error:
        hint = (
            " (HF_HUB_OFFLINE is set: only cached or local models load)"
            if os.environ.get("HF_HUB_OFFLINE") == "1"
            else ""
        )
        raise ModelLoadError(
            f"cannot load '{name_or_path}' as a Hub model id or a local model folder{hint}: "
            f"{str(error).splitlines()[0]}"
        ) from error


def build_model(name_or_path: str) -> PreTrainedModel:
    """An encoder from the Hub or a folder, with a fresh 20-genre head (a head of another shape is replaced)."""
    with _explained_load_errors(name_or_path):
        config = AutoConfig.from_pretrained(name_or_path, **label_config())
        return AutoModelForSequenceClassification.from_pretrained(
            name_or_path, config=config, ignore_mismatched_sizes=True
        )


def load_tokenizer(name_or_path: str, max_length: int) -> PreTrainedTokenizerBase:
    with _explained_load_errors(name_or_path):
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    # The tokenizer saved with the model tells the predictor the window the model was trained on.
    tokenizer.model_max_length = max_length
    return tokenizer


def positive_weights(labels: np.ndarray, cap: float) -> torch.Tensor:
    """BCE `pos_weight` per genre: negatives / positives, capped so a genre seen twice cannot dominate the loss."""
    positives = labels.sum(axis=0)
    negatives = len(labels) - positives
    return torch.tensor(np.clip(negatives / np.maximum(positives, 1), 1.0, cap), dtype=torch.float32)


def multi_label_loss(
    logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """BCE-with-logits, as the model computes it itself for this problem_type, plus optional `pos_weight`."""
    if pos_weight is not None:
        pos_weight = pos_weight.to(logits.device, logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), pos_weight=pos_weight)
