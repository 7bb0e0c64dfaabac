"""Small models for the predictor's tests, each built to make one behaviour visible.

conftest's `trained_model` learns only the genre frequencies in its few seconds
of training, so it scores every synopsis alike. These models do not:

- `save_lively_model`: a random 2-layer BERT with a wide weight initialisation,
  whose scores vary from synopsis to synopsis (so batching or padding mistakes
  show), with a short window (so most synopses are read in several windows)
  and per-genre thresholds that differ from genre to genre.
- `KeywordModel`: a stand-in classifier that is certain of 전쟁 (war) exactly when
  its window contains a keyword token, to see which windows were read.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, set_seed

from genre_model.genres import GENRES
from genre_model.model_folder import Thresholds, write_thresholds
from genre_model.modeling import label_config

LIVELY_WINDOW = 64
# Distinct per-genre thresholds, so per-genre and global decisions can be told apart.
LIVELY_THRESHOLDS = Thresholds(
    per_genre={genre: round(float(t), 2) for genre, t in zip(GENRES, np.linspace(0.3, 0.7, len(GENRES)))},
    global_threshold=0.5,
    tuned_genres=GENRES,
)


def save_lively_model(folder: Path, tokenizer_source: Path) -> Path:
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    tokenizer.model_max_length = LIVELY_WINDOW  # what train.py records as the training window
    set_seed(0)
    # initializer_range 0.2 instead of BERT's 0.02: with the default, a random encoder maps
    # every text to nearly the same vector
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=256,
        initializer_range=0.2,
        pad_token_id=tokenizer.pad_token_id,
        **label_config(),
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_thresholds(folder, LIVELY_THRESHOLDS)
    return folder


class KeywordModel(torch.nn.Module):
    """Logit +10 for 전쟁 when the (unpadded) window holds `keyword_id`, -10 otherwise; -10 for every other genre."""

    WAR = GENRES.index("전쟁")

    def __init__(self, keyword_id: int):
        super().__init__()
        self.keyword_id = keyword_id
        self.config = SimpleNamespace(num_labels=len(GENRES), label2id=label_config()["label2id"])
        self.scale = torch.nn.Parameter(torch.tensor(10.0))  # a parameter, so the predictor can tell device and dtype

    def forward(self, input_ids, attention_mask, **_):
        present = ((input_ids == self.keyword_id) & attention_mask.bool()).any(dim=1)
        logits = -torch.ones(len(input_ids), len(GENRES)) * self.scale
        logits[:, self.WAR] = torch.where(present, self.scale, -self.scale)
        return SimpleNamespace(logits=logits)
