"""The model folder: written once, by train.py through `save_model_folder`; read by everything else through here.

    save_model_folder("out/genre-bert", model, tokenizer, record)  # weights, tokenizer, config, the files below
    write_model_card("out/genre-bert", record)  # genre_model.model_card: README.md and chart, from those files
    record = read_training_record("out/genre-bert")  # typed: thresholds, metrics, splits, run, test predictions
    thresholds = read_thresholds("you/klue-bert-movie-genres")  # a local folder or a Hub repo alike

Besides the 🤗 files (config.json with Korean id2label, model.safetensors, the
tokenizer) a folder holds the files named below; nothing else in the project
knows their names or layout. Serving (genre_model.predict, app.py) imports this
module, so it stays light: numpy and the standard library, and huggingface_hub
only to fetch a file of a Hub repo. The card (README.md, per_genre_f1.png) is
rendered from these files by genre_model.model_card, under the names defined here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from genre_model.genres import GENRES, to_multi_hot

THRESHOLDS_FILE = "thresholds.json"  # per-genre cut-offs tuned on validation
METRICS_FILE = "metrics.json"  # validation and test scores, baselines, per-epoch history
SPLITS_FILE = "splits.json"  # rows per split, genre counts, and which rows went where
DROP_REPORT_FILE = "drop_report.json"  # rows removed by each cleaning rule
TRAINING_ARGS_FILE = "training_args.json"  # the arguments of the run
TEST_PREDICTIONS_FILE = "test_predictions.jsonl"  # per test row: id, true genres, probabilities
EVALUATIONS_FILE = (
    "evaluations.json"  # aggregate scores on other data, recorded by `python -m genre_model.evaluate --record`
)
CHART_FILE = "per_genre_f1.png"
CARD_FILE = "README.md"


def top_probability(probabilities: np.ndarray) -> np.ndarray:
    """Each synopsis's highest probability, shaped to divide or scale its row (never 0: scores may underflow)."""
    return np.maximum(np.asarray(probabilities, dtype=np.float64).max(axis=-1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Thresholds:
    """A probability cut-off per genre (GENRES order), and the single global one it falls back to.

    With `relative_to_top`, each cut-off is a share of the synopsis's highest
    probability instead of a probability: a genre is in when it scores at least,
    say, 0.6 of the top genre's score. Such decisions survive a model being less
    sure of every genre at once, as a model trained on one kind of text is on
    another (see train.py's --threshold_relative_to_top); the top genre is always in.

    `window_rule` is how a long synopsis's windows were combined into one
    probability per genre when the cut-offs were tuned (genre_model.scoring's
    COMBINATION_RULES); cut-offs only hold for probabilities combined the same
    way, so the predictor scores with it.
    """

    per_genre: dict[str, float]
    global_threshold: float
    tuned_genres: tuple[str, ...]  # genres with enough validation support to get their own
    relative_to_top: bool = False
    window_rule: str = "max"

    def vector(self) -> np.ndarray:
        return np.array([self.per_genre[genre] for genre in GENRES])

    def cutoffs(self, probabilities: np.ndarray) -> np.ndarray:
        """The probability each genre must reach, for each synopsis (same shape as `probabilities`)."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if not self.relative_to_top:
            return np.broadcast_to(self.vector(), probabilities.shape)
        return self.vector() * top_probability(probabilities)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """The 0/1 decisions: a genre is in when its probability reaches its cut-off."""
        return (np.asarray(probabilities, dtype=np.float64) >= self.cutoffs(probabilities)).astype(int)

    def to_dict(self) -> dict:
        return asdict(self) | {"tuned_genres": list(self.tuned_genres)}

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        missing = [genre for genre in GENRES if genre not in data["per_genre"]]
        if missing:
            raise ValueError(f"thresholds lack genres: {', '.join(missing)}")
        return cls(
            per_genre={genre: float(data["per_genre"][genre]) for genre in GENRES},
            global_threshold=float(data["global_threshold"]),
            tuned_genres=tuple(data.get("tuned_genres", ())),
            # both absent from folders written before them, whose thresholds were tuned on absolute "max" scores
            relative_to_top=bool(data.get("relative_to_top", False)),
            window_rule=str(data.get("window_rule", "max")),
        )

    @classmethod
    def uniform(cls, threshold: float = 0.5) -> Thresholds:
        return cls(per_genre=dict.fromkeys(GENRES, threshold), global_threshold=threshold, tuned_genres=())


@dataclass(frozen=True)
class HeldOutPrediction:
    """One test row as the model scored it: enough to recompute every test score."""

    id: str
    genres: list[str]  # the true genres
    probabilities: dict[str, float]  # every genre, GENRES order


@dataclass(frozen=True)
class TrainingRecord:
    """Everything train.py measured and decided besides the weights."""

    thresholds: Thresholds
    metrics: dict  # {"best_epoch", "history", "validation": {...}, "test": {...}}: see train.py's final evaluation
    split_summary: dict  # per split: rows and genre counts
    split_rows: dict  # per split: row ids and text hashes
    presplit: bool  # the data came with its own splits
    drop_report: dict  # rows dropped per split and cleaning rule
    run: dict  # train.py's arguments plus what the run found out (total batch size, a local base model)
    test_predictions: list[HeldOutPrediction]


def save_model_folder(folder: str | Path, model, tokenizer, record: TrainingRecord) -> Path:
    """Write the model, its tokenizer and every record file into `folder` (the card is rendered from them:
    genre_model.model_card.write_model_card)."""
    folder = Path(folder)
    # scores recorded in this folder for earlier weights (train.py --overwrite_output_dir) are not this model's
    (folder / EVALUATIONS_FILE).unlink(missing_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_thresholds(folder, record.thresholds)
    _write_json(folder / METRICS_FILE, record.metrics)
    _write_json(
        folder / SPLITS_FILE, {"summary": record.split_summary, "presplit": record.presplit, "rows": record.split_rows}
    )
    _write_json(folder / DROP_REPORT_FILE, record.drop_report)
    _write_json(folder / TRAINING_ARGS_FILE, record.run)
    with open(folder / TEST_PREDICTIONS_FILE, "w", encoding="utf-8") as lines:
        for prediction in record.test_predictions:
            lines.write(json.dumps(asdict(prediction), ensure_ascii=False) + "\n")
    return folder


def read_training_record(folder: str | Path) -> TrainingRecord:
    """The record files of a local model folder written by train.py."""
    folder = Path(folder)
    splits = _read_json(folder / SPLITS_FILE)
    with open(folder / TEST_PREDICTIONS_FILE, encoding="utf-8") as lines:
        predictions = [HeldOutPrediction(**json.loads(line)) for line in lines if line.strip()]
    return TrainingRecord(
        thresholds=Thresholds.from_dict(_read_json(folder / THRESHOLDS_FILE)),
        metrics=_read_json(folder / METRICS_FILE),
        split_summary=splits["summary"],
        split_rows=splits["rows"],
        presplit=splits["presplit"],
        drop_report=_read_json(folder / DROP_REPORT_FILE),
        run=_read_json(folder / TRAINING_ARGS_FILE),
        test_predictions=predictions,
    )


def prediction_arrays(predictions: list[HeldOutPrediction]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Row ids, true multi-hot labels and probabilities (both GENRES order) of saved test predictions."""
    labels = np.array([to_multi_hot(prediction.genres) for prediction in predictions], dtype=int).reshape(
        -1, len(GENRES)
    )
    probabilities = np.array([[p.probabilities[genre] for genre in GENRES] for p in predictions]).reshape(
        -1, len(GENRES)
    )
    return [prediction.id for prediction in predictions], labels, probabilities


def write_thresholds(folder: str | Path, thresholds: Thresholds) -> None:
    """The thresholds alone: all a model trained elsewhere needs to serve with its own cut-offs."""
    _write_json(Path(folder) / THRESHOLDS_FILE, thresholds.to_dict())


def read_thresholds(model: str | Path) -> Thresholds:
    """The model's tuned thresholds; 0.5 for every genre when it has none (a model not trained by train.py)."""
    data = _read_model_file(model, THRESHOLDS_FILE)
    return Thresholds.uniform(0.5) if data is None else Thresholds.from_dict(data)


def read_metrics(model: str | Path) -> dict | None:
    """The model's metrics.json (test scores for the app's panel), or None when it has none."""
    return _read_model_file(model, METRICS_FILE)


def read_evaluations(model: str | Path) -> list[dict]:
    """Aggregate scores the model earned on data other than its own test split (see genre_model.evaluate --record)."""
    return _read_model_file(model, EVALUATIONS_FILE) or []


def record_evaluation(folder: str | Path, evaluation: dict) -> None:
    """Add (or replace, by description) one aggregate evaluation in a local model folder's EVALUATIONS_FILE."""
    kept = [item for item in read_evaluations(folder) if item["description"] != evaluation["description"]]
    _write_json(Path(folder) / EVALUATIONS_FILE, [*kept, evaluation])


def _read_model_file(model: str | Path, name: str):
    """A JSON file of a model folder or Hub repo, or None when the model does not have it."""
    if Path(model).is_dir():
        path = Path(model) / name
        return _read_json(path) if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return _read_json(Path(hf_hub_download(str(model), name)))
    except EntryNotFoundError:
        return None


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))
