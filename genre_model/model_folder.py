"""The files of a trained model folder: the one thing train.py hands to the rest.

A folder written by train.py holds the 🤗 files (config.json with Korean
id2label, model.safetensors, the tokenizer) plus the files named here. The
predictor and the app read them from a local folder or a Hub repo alike, so a
model pulled from the Hub behaves exactly like a local one.
"""

from __future__ import annotations

import json
from pathlib import Path

from genre_model.metrics import Thresholds

THRESHOLDS_FILE = "thresholds.json"  # per-genre cut-offs tuned on validation
METRICS_FILE = "metrics.json"  # validation and test scores, at 0.5 and at the tuned thresholds
SPLITS_FILE = "splits.json"  # rows per split, genre counts, and which rows went where
DROP_REPORT_FILE = "drop_report.json"  # rows removed by each cleaning rule
TRAINING_ARGS_FILE = "training_args.json"  # the arguments of the run
TEST_PREDICTIONS_FILE = "test_predictions.jsonl"  # per test row: id, true genres, probabilities
CHART_FILE = "per_genre_f1.png"
CARD_FILE = "README.md"


def write_json(folder: str | Path, name: str, data) -> Path:
    path = Path(folder) / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def resolve_file(model: str | Path, name: str) -> Path | None:
    """A file of a model folder or Hub repo, or None when the model does not have it."""
    if Path(model).is_dir():
        path = Path(model) / name
        return path if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(str(model), name))
    except EntryNotFoundError:
        return None


def read_json(model: str | Path, name: str):
    path = resolve_file(model, name)
    return None if path is None else json.loads(path.read_text(encoding="utf-8"))


def read_thresholds(model: str | Path) -> Thresholds:
    """The model's tuned thresholds; 0.5 for every genre when it has none (a model not trained by train.py)."""
    data = read_json(model, THRESHOLDS_FILE)
    return Thresholds.uniform(0.5) if data is None else Thresholds.from_dict(data)
