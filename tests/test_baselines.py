"""genre_model.baselines: the TF-IDF baseline, and its out-of-fold view of training rows (train.py's distillation)."""

import numpy as np

from genre_model.baselines import TfidfBaseline, out_of_fold_probabilities, out_of_fold_scores
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


def test_texts_derived_from_a_row_are_scored_by_the_baseline_that_never_read_the_row():
    texts, labels = _texts_and_labels(limit=150)
    out_of_fold = out_of_fold_probabilities(texts, labels, folds=5, seed=0)
    own = out_of_fold_scores(texts, labels, [(row, texts[row]) for row in (3, 40, 77)], folds=5, seed=0)
    np.testing.assert_allclose(own, out_of_fold[[3, 40, 77]])
    # row 3's synopsis asked under every row's index: the baselines of the other four folds have read it
    asked = out_of_fold_scores(texts, labels, [(row, texts[3]) for row in range(len(texts))], folds=5, seed=0)
    unseen = np.all(np.isclose(asked, out_of_fold[3]), axis=1)
    assert 0.1 < unseen.mean() < 0.3
    genres = labels[3] == 1
    assert asked[~unseen][:, genres].mean() > asked[unseen][:, genres].mean()
