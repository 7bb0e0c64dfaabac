"""Baselines every model is shown next to: what surface text alone, or no text at all, already gets.

    baseline = TfidfBaseline.fit(train_texts, train_labels)     # labels: (rows, 20) multi-hot, GENRES order
    baseline.probabilities(texts)                               # (rows, 20) in GENRES order
    baseline.scores(validation, evaluated)                      # thresholds tuned on validation, then scored
    scores = tfidf_baseline_scores(train, validation, evaluated)  # thresholds tuned on validation, then scored
    teacher = out_of_fold_probabilities(train_texts, train_labels)  # each row scored by a baseline that never saw it
    parts = out_of_fold_scores(train_texts, train_labels, [(row, text), ...])  # texts from rows, scored alike

The TF-IDF baseline is a bag of character 2-4-grams (taken within words:
Korean words carry their particles and endings, so pieces of words catch the
stems) with one logistic regression per genre. It sees which strings occur,
not what happens in the story; an encoder that does not beat it clearly has
not learnt much beyond vocabulary. The most-frequent-genres baseline
(genre_model.metrics) answers the same genres for every synopsis.
Training-side only (scikit-learn): train.py and `python -m genre_model.evaluate` use it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from genre_model.genres import GENRES
from genre_model.metrics import macro_average_precision, multi_label_scores, tune_thresholds

DESCRIPTION = "TF-IDF character 2-4-grams + logistic regression per genre (C=4), thresholds tuned on validation"


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: np.ndarray  # (rows, len(GENRES)) multi-hot


class TfidfBaseline:
    def __init__(self, vectorizer: TfidfVectorizer, classifier: OneVsRestClassifier):
        self.vectorizer, self.classifier = vectorizer, classifier

    @classmethod
    def fit(cls, texts: Sequence[str], labels: np.ndarray) -> TfidfBaseline:
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, max_features=300_000
        )
        features = vectorizer.fit_transform(texts)
        classifier = OneVsRestClassifier(LogisticRegression(C=4.0, solver="liblinear", max_iter=1000))
        with warnings.catch_warnings():
            # a genre absent from small training data gets a constant prediction, and sklearn says so for each
            warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(features, np.asarray(labels, dtype=int))
        return cls(vectorizer, classifier)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.classifier.predict_proba(self.vectorizer.transform(texts)), dtype=np.float64)

    def scores(
        self,
        validation: LabelledTexts,
        evaluated: LabelledTexts,
        columns: list[int] | None = None,
        min_support: int = 5,
        relative_to_top: bool = False,
    ) -> dict:
        """Per-genre thresholds tuned on `validation` (probabilities, or shares of each synopsis's top probability:
        see Thresholds), then the decisions and the ranking (macro average precision) on `evaluated`, on `columns`
        of GENRES only."""
        thresholds = tune_thresholds(
            validation.labels, self.probabilities(validation.texts), min_support, relative_to_top=relative_to_top
        )
        probabilities = self.probabilities(evaluated.texts)
        columns = list(range(len(GENRES))) if columns is None else columns
        truth = evaluated.labels[:, columns]
        scores = multi_label_scores(
            truth, thresholds.decide(probabilities)[:, columns], tuple(GENRES[i] for i in columns)
        )
        description = DESCRIPTION + (" as shares of each synopsis's top probability" if relative_to_top else "")
        return scores | {
            "macro_average_precision": macro_average_precision(truth, probabilities[:, columns]),
            "description": description,
        }


def out_of_fold_probabilities(texts: Sequence[str], labels: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Each row's TF-IDF baseline probabilities from a baseline fitted on the other folds, (rows, 20).

    What the baseline says of text it has not read: graded evidence (0.3 for a
    synopsis that only hints at a genre), where a baseline scoring its own
    training rows would echo their labels. train.py's --baseline_distillation
    teaches the encoder these.
    """
    return out_of_fold_scores(texts, labels, list(enumerate(texts)), folds, seed)


def out_of_fold_scores(
    texts: Sequence[str], labels: np.ndarray, queries: Sequence[tuple[int, str]], folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Probabilities (queries, 20) of each query (row index, text) from the baseline fitted on the folds that do
    not hold that row: a text derived from a row (a part of its synopsis) is judged by a baseline that never
    read the row. The folds are those of out_of_fold_probabilities for the same seed."""
    from sklearn.model_selection import KFold

    owners = np.array([row for row, _ in queries], dtype=int)
    probabilities = np.zeros((len(queries), np.shape(labels)[1]), dtype=np.float64)
    for fitted_rows, held_rows in KFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(texts))):
        asked = np.flatnonzero(np.isin(owners, held_rows))
        if not len(asked):
            continue
        baseline = TfidfBaseline.fit([texts[i] for i in fitted_rows], np.asarray(labels, dtype=int)[fitted_rows])
        probabilities[asked] = baseline.probabilities([queries[i][1] for i in asked])
    return probabilities


def tfidf_baseline_scores(
    train: LabelledTexts,
    validation: LabelledTexts,
    evaluated: LabelledTexts,
    columns: list[int] | None = None,
    min_support: int = 5,
) -> dict:
    """Fit on `train`, tune per-genre thresholds on `validation`, score `evaluated` (on `columns` of GENRES only)."""
    return TfidfBaseline.fit(train.texts, train.labels).scores(validation, evaluated, columns, min_support)
