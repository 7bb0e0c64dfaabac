"""Multi-label scores and per-genre threshold tuning, on plain numpy and scikit-learn.

    scores = multi_label_scores(y_true, probabilities >= 0.5)
    thresholds = tune_thresholds(y_true_validation, probabilities_validation)
    scores = multi_label_scores(y_true_test, thresholds.decide(probabilities_test))

Nothing is fetched at run time (`evaluate.load` would download metric code
from the Hub). Arrays are (rows, len(GENRES)) in GENRES order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import f1_score, hamming_loss, precision_recall_fscore_support

from genre_model.genres import GENRES

AVERAGES = ("micro", "macro", "weighted", "samples")
# Thresholds are searched on this grid: fine enough to matter, coarse enough
# not to fit validation noise.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def multi_label_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Averaged P/R/F1 (micro, macro, weighted, samples), subset accuracy, Hamming loss and per-genre P/R/F1/support."""
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    scores: dict = {}
    for average in AVERAGES:
        precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        scores[f"{average}_precision"], scores[f"{average}_recall"], scores[f"{average}_f1"] = float(precision), float(recall), float(f1)
    scores["subset_accuracy"] = float(np.mean(np.all(y_true == y_pred, axis=1)))
    scores["hamming_loss"] = float(hamming_loss(y_true, y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0, labels=range(len(GENRES)))
    scores["per_genre"] = {
        genre: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for genre, p, r, f, s in zip(GENRES, precision, recall, f1, support)
    }
    return scores


def most_frequent_genres_baseline(train_labels: np.ndarray, eval_labels: np.ndarray) -> dict:
    """Scores of always answering the training split's most frequent genres, as many as a film
    has on average: the floor any model must clearly beat to have learnt from the text."""
    train_labels = np.asarray(train_labels)
    how_many = max(1, round(float(train_labels.sum(axis=1).mean())))
    answer = np.zeros(train_labels.shape[1], dtype=int)
    answer[np.argsort(-train_labels.sum(axis=0), kind="stable")[:how_many]] = 1
    scores = multi_label_scores(eval_labels, np.tile(answer, (len(eval_labels), 1)))
    return scores | {"genres": [GENRES[i] for i in np.flatnonzero(answer)]}


@dataclass(frozen=True)
class Thresholds:
    """A probability cut-off per genre (GENRES order), and the single global one it falls back to."""

    per_genre: dict[str, float]
    global_threshold: float
    tuned_genres: tuple[str, ...]  # genres with enough validation support to get their own

    def vector(self) -> np.ndarray:
        return np.array([self.per_genre[genre] for genre in GENRES])

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """The 0/1 decisions: a genre is in when its probability reaches its threshold."""
        return (np.asarray(probabilities) >= self.vector()).astype(int)

    def to_dict(self) -> dict:
        return asdict(self) | {"tuned_genres": list(self.tuned_genres)}

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        missing = [genre for genre in GENRES if genre not in data["per_genre"]]
        if missing:
            raise ValueError(f"thresholds lack genres: {', '.join(missing)}")
        return cls(per_genre={g: float(data["per_genre"][g]) for g in GENRES}, global_threshold=float(data["global_threshold"]), tuned_genres=tuple(data.get("tuned_genres", ())))

    @classmethod
    def uniform(cls, threshold: float = 0.5) -> Thresholds:
        return cls(per_genre=dict.fromkeys(GENRES, threshold), global_threshold=threshold, tuned_genres=())


def _best_on_grid(score_at) -> float:
    """The grid threshold with the best score; ties go to the middle of the best run, which generalises better than its edge."""
    scores = np.array([score_at(threshold) for threshold in THRESHOLD_GRID])
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    return float(THRESHOLD_GRID[best[len(best) // 2]])


def best_global_threshold(y_true: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """The one threshold for all genres that maximises micro-F1, and that micro-F1.

    Model selection uses this score rather than micro-F1 at 0.5: early in training,
    or for rare-genre-heavy data, every probability can sit below 0.5 while the
    ranking is already good, and a 0.5 cut-off would call every epoch worthless.
    """
    y_true, probabilities = np.asarray(y_true).astype(int), np.asarray(probabilities)
    threshold = _best_on_grid(lambda t: f1_score(y_true, probabilities >= t, average="micro", zero_division=0))
    return threshold, float(f1_score(y_true, probabilities >= threshold, average="micro", zero_division=0))


def tune_thresholds(y_true: np.ndarray, probabilities: np.ndarray, min_support: int = 5) -> Thresholds:
    """Per-genre thresholds maximising each genre's validation F1; genres with fewer than
    `min_support` positives get the global threshold that maximises micro-F1."""
    y_true, probabilities = np.asarray(y_true).astype(int), np.asarray(probabilities)
    global_threshold, _ = best_global_threshold(y_true, probabilities)
    per_genre, tuned = {}, []
    for index, genre in enumerate(GENRES):
        truth, probability = y_true[:, index], probabilities[:, index]
        if truth.sum() >= min_support:
            per_genre[genre] = _best_on_grid(lambda t: f1_score(truth, probability >= t, zero_division=0))
            tuned.append(genre)
        else:
            per_genre[genre] = global_threshold
    return Thresholds(per_genre=per_genre, global_threshold=global_threshold, tuned_genres=tuple(tuned))
