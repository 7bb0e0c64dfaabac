"""Multi-label scores and per-genre threshold tuning, on plain numpy and scikit-learn.

    scores = multi_label_scores(y_true, probabilities >= 0.5)
    thresholds = tune_thresholds(y_true_validation, probabilities_validation)
    scores = multi_label_scores(y_true_test, thresholds.decide(probabilities_test))

Nothing is fetched at run time (`evaluate.load` would download metric code
from the Hub). Arrays are (rows, len(GENRES)) in GENRES order. Training-side
only: serving reads thresholds through genre_model.model_folder.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, hamming_loss, precision_recall_fscore_support

from genre_model.genres import GENRES
from genre_model.model_folder import Thresholds, top_probability

AVERAGES = ("micro", "macro", "weighted", "samples")
# Thresholds are searched on this grid: fine enough to matter, coarse enough
# not to fit validation noise.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def multi_label_scores(y_true: np.ndarray, y_pred: np.ndarray, genres: tuple[str, ...] = GENRES) -> dict:
    """Averaged P/R/F1 (micro, macro, weighted, samples), subset accuracy, Hamming loss and per-genre P/R/F1/support.

    The columns are `genres`, in that order (all of GENRES unless a dataset can judge only some).
    """
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    scores: dict = {}
    for average in AVERAGES:
        precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        scores[f"{average}_precision"], scores[f"{average}_recall"], scores[f"{average}_f1"] = (
            float(precision),
            float(recall),
            float(f1),
        )
    scores["subset_accuracy"] = float(np.mean(np.all(y_true == y_pred, axis=1)))
    scores["hamming_loss"] = float(hamming_loss(y_true, y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=0, labels=range(y_true.shape[1])
    )
    scores["per_genre"] = {
        genre: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for genre, p, r, f, s in zip(genres, precision, recall, f1, support, strict=True)
    }
    return scores


def macro_average_precision(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Average precision per genre, averaged over the genres with at least one positive.

    How well the probabilities rank each genre's synopses above the others, whatever
    the thresholds: it separates what a model knows from how well its cut-offs travel
    (cut-offs tuned on one kind of text can misplace a good ranking on another).
    """
    y_true = np.asarray(y_true).astype(int)
    present = y_true.sum(axis=0) > 0
    if not present.any():
        return 0.0
    return float(average_precision_score(y_true[:, present], np.asarray(probabilities)[:, present], average="macro"))


def most_frequent_genres_baseline(
    train_labels: np.ndarray, eval_labels: np.ndarray, columns: list[int] | None = None
) -> dict:
    """Scores of always answering the training split's most frequent genres, as many as a film
    has on average: the floor any model must clearly beat to have learnt from the text.

    Both label arrays have all GENRES; `columns` (GENRES indices) limits the scoring to the genres a dataset can judge.
    """
    train_labels = np.asarray(train_labels)
    how_many = max(1, round(float(train_labels.sum(axis=1).mean())))
    answer = np.zeros(train_labels.shape[1], dtype=int)
    answer[np.argsort(-train_labels.sum(axis=0), kind="stable")[:how_many]] = 1
    columns = list(range(len(GENRES))) if columns is None else columns
    predictions = np.tile(answer, (len(eval_labels), 1))
    scores = multi_label_scores(
        np.asarray(eval_labels)[:, columns], predictions[:, columns], tuple(GENRES[i] for i in columns)
    )
    return scores | {"genres": [GENRES[i] for i in np.flatnonzero(answer)]}


def f1_at_each_threshold(
    y_true: np.ndarray, probabilities: np.ndarray, grid: np.ndarray = THRESHOLD_GRID, *, micro: bool = False
) -> np.ndarray:
    """F1 at every threshold of `grid`: per genre, (genres, len(grid)), or pooled over genres (micro-F1), (len(grid),).

    The same numbers scikit-learn's f1_score gives (0 where a genre has neither
    positives nor predictions), computed for the whole grid at once.
    """
    truth = np.asarray(y_true).astype(bool)[:, :, None]
    predicted = np.asarray(probabilities)[:, :, None] >= grid[None, None, :]
    true_positives = (predicted & truth).sum(axis=0)
    predicted_positives = predicted.sum(axis=0)
    positives = truth.sum(axis=0)
    if micro:
        true_positives, predicted_positives, positives = (
            true_positives.sum(0),
            predicted_positives.sum(0),
            positives.sum(0),
        )
    denominator = predicted_positives + positives
    return np.where(denominator > 0, 2 * true_positives / np.maximum(denominator, 1), 0.0)


def _best_on_grid(scores: np.ndarray, grid: np.ndarray = THRESHOLD_GRID) -> float:
    """The grid threshold with the best score; ties go to the middle of the best run, not its edge."""
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    return float(grid[best[len(best) // 2]])


def best_global_threshold(y_true: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """The one threshold for all genres that maximises micro-F1, and that micro-F1.

    Model selection uses this score rather than micro-F1 at 0.5: early in training,
    or for rare-genre-heavy data, every probability can sit below 0.5 while the
    ranking is already good, and a 0.5 cut-off would call every epoch worthless.
    """
    scores = f1_at_each_threshold(y_true, probabilities, micro=True)
    threshold = _best_on_grid(scores)
    return threshold, float(scores[threshold == THRESHOLD_GRID][0])


def tune_thresholds(
    y_true: np.ndarray, probabilities: np.ndarray, min_support: int = 5, relative_to_top: bool = False
) -> Thresholds:
    """Per-genre thresholds maximising each genre's validation F1; genres with fewer than
    `min_support` positives get the global threshold that maximises micro-F1. With `relative_to_top`,
    the thresholds are shares of each synopsis's top probability (see Thresholds)."""
    y_true = np.asarray(y_true).astype(int)
    if relative_to_top:
        probabilities = np.asarray(probabilities, dtype=np.float64) / top_probability(probabilities)
    global_threshold, _ = best_global_threshold(y_true, probabilities)
    per_genre_scores = f1_at_each_threshold(y_true, probabilities)
    supported = y_true.sum(axis=0) >= min_support
    per_genre = {
        genre: _best_on_grid(per_genre_scores[index]) if supported[index] else global_threshold
        for index, genre in enumerate(GENRES)
    }
    tuned = tuple(genre for index, genre in enumerate(GENRES) if supported[index])
    return Thresholds(
        per_genre=per_genre, global_threshold=global_threshold, tuned_genres=tuned, relative_to_top=relative_to_top
    )
