"""genre_model.baselines: the TF-IDF baseline, and its out-of-fold view of training rows (train.py's distillation)."""

import numpy as np

from genre_model.baselines import TfidfBaseline, out_of_fold_probabilities
from genre_model.genres import to_multi_hot

from helpers import read_corpus


def _texts_and_labels(limit=300):
    rows = read_corpus(limit=limit)
    return [row["synopsis"] for row in rows], np.array([to_multi_hot(row["genres"]) for row in rows], dtype=int)


def test_out_of_fold_probabilities_judge_each_row_as_unseen_text():
    texts, labels = _texts_and_labels()
    in_sample = TfidfBaseline.fit(texts, labels).probabilities(texts)
    out_of_fold = out_of_fold_probabilities(texts, labels, folds=5, seed=0)
    assert out_of_fold.shape == labels.shape and ((out_of_fold >= 0) & (out_of_fold <= 1)).all()
    # a baseline scoring its own training rows echoes their labels; one that never read them is less sure...
    assert in_sample[labels == 1].mean() > out_of_fold[labels == 1].mean() + 0.1
    # ...but still points to the right genres
    assert out_of_fold[labels == 1].mean() > 2 * out_of_fold[labels == 0].mean()
    np.testing.assert_array_equal(out_of_fold, out_of_fold_probabilities(texts, labels, folds=5, seed=0))
