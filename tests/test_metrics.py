"""genre_model.metrics: scores against scikit-learn, and per-genre threshold tuning."""

import dataclasses
import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, hamming_loss

from genre_model.genres import GENRES
from genre_model.metrics import (
    THRESHOLD_GRID,
    Thresholds,
    best_global_threshold,
    macro_average_precision,
    most_frequent_genres_baseline,
    multi_label_scores,
    tune_thresholds,
)


@pytest.fixture
def labelled_probabilities():
    rng = np.random.default_rng(0)
    y_true = (rng.random((200, len(GENRES))) < 0.2).astype(int)
    # informative but noisy probabilities, with each genre on its own scale
    scale = np.linspace(0.3, 0.9, len(GENRES))
    probabilities = np.clip(y_true * scale + rng.normal(0, 0.15, y_true.shape), 0, 1)
    return y_true, probabilities


def test_averaged_scores_equal_scikit_learn(labelled_probabilities):
    y_true, probabilities = labelled_probabilities
    y_pred = probabilities >= 0.5
    scores = multi_label_scores(y_true, y_pred)
    for average in ("micro", "macro", "weighted", "samples"):
        assert scores[f"{average}_f1"] == pytest.approx(f1_score(y_true, y_pred, average=average, zero_division=0))
    assert scores["hamming_loss"] == pytest.approx(hamming_loss(y_true, y_pred))
    assert scores["subset_accuracy"] == pytest.approx(np.mean((y_true == y_pred).all(axis=1)))
    assert set(scores["per_genre"]) == set(GENRES)
    assert scores["per_genre"]["SF"]["support"] == y_true[:, 0].sum()


def test_genres_never_predicted_score_zero_instead_of_failing():
    y_true = np.zeros((4, len(GENRES)), dtype=int)
    y_true[:, 5] = 1
    scores = multi_label_scores(y_true, np.zeros_like(y_true))
    assert scores["micro_f1"] == 0.0 and scores["per_genre"]["SF"]["f1"] == 0.0


def test_tuned_thresholds_beat_a_fixed_half_on_the_data_they_were_tuned_on(labelled_probabilities):
    y_true, probabilities = labelled_probabilities
    thresholds = tune_thresholds(y_true, probabilities)
    tuned = multi_label_scores(y_true, thresholds.decide(probabilities))["macro_f1"]
    fixed = multi_label_scores(y_true, Thresholds.uniform(0.5).decide(probabilities))["macro_f1"]
    assert tuned > fixed
    assert all(value in THRESHOLD_GRID for value in thresholds.per_genre.values())
    # low-scale genres need a low threshold, high-scale ones a higher one
    assert thresholds.per_genre[GENRES[0]] < thresholds.per_genre[GENRES[-1]]


def test_genres_with_too_little_validation_support_get_the_global_threshold(labelled_probabilities):
    y_true, probabilities = labelled_probabilities
    y_true = y_true.copy()
    y_true[:, 3] = 0
    y_true[:2, 3] = 1
    thresholds = tune_thresholds(y_true, probabilities, min_support=5)
    assert GENRES[3] not in thresholds.tuned_genres
    assert thresholds.per_genre[GENRES[3]] == thresholds.global_threshold


@pytest.mark.parametrize(("relative_to_top", "window_rule"), [(False, "max"), (True, "length_weighted_mean")])
def test_thresholds_survive_a_json_round_trip(labelled_probabilities, relative_to_top, window_rule):
    thresholds = dataclasses.replace(
        tune_thresholds(*labelled_probabilities, relative_to_top=relative_to_top), window_rule=window_rule
    )
    assert Thresholds.from_dict(json.loads(json.dumps(thresholds.to_dict()))) == thresholds


def test_thresholds_written_before_the_relative_and_window_rules_read_as_probability_cut_offs_on_maxima():
    data = dataclasses.replace(Thresholds.uniform(0.4), relative_to_top=True, window_rule="mean").to_dict()
    del data["relative_to_top"], data["window_rule"]
    thresholds = Thresholds.from_dict(data)
    assert not thresholds.relative_to_top and thresholds.window_rule == "max"


def test_thresholds_relative_to_the_top_genre_hold_when_a_model_is_less_sure_of_every_genre(labelled_probabilities):
    y_true, probabilities = labelled_probabilities
    # each synopsis scored lower by its own factor: the ranking within it kept
    unsure = probabilities * np.linspace(0.2, 1.0, len(probabilities))[:, None]
    relative = tune_thresholds(y_true, probabilities, relative_to_top=True)
    absolute = tune_thresholds(y_true, probabilities)
    np.testing.assert_array_equal(relative.decide(unsure), relative.decide(probabilities))
    assert (absolute.decide(unsure) != absolute.decide(probabilities)).any()
    # a cut-off is the threshold times the synopsis's top probability, so the top genre is always in
    top = probabilities.max(axis=1, keepdims=True)
    np.testing.assert_allclose(relative.cutoffs(probabilities), relative.vector() * top)
    assert relative.decide(probabilities)[np.arange(len(top)), probabilities.argmax(axis=1)].all()


def test_thresholds_missing_a_genre_are_refused():
    data = Thresholds.uniform().to_dict()
    del data["per_genre"]["SF"]
    with pytest.raises(ValueError, match="SF"):
        Thresholds.from_dict(data)


def test_the_best_global_threshold_sees_a_good_ranking_that_a_half_cut_off_hides(labelled_probabilities):
    y_true, _ = labelled_probabilities
    shy = np.where(y_true == 1, 0.3, 0.1)  # perfectly ordered, all below 0.5
    threshold, micro_f1 = best_global_threshold(y_true, shy)
    assert multi_label_scores(y_true, shy >= 0.5)["micro_f1"] == 0.0
    assert 0.1 < threshold <= 0.3 and micro_f1 == pytest.approx(1.0)


def test_the_baseline_answers_the_most_frequent_genres_for_every_film():
    train = np.zeros((10, len(GENRES)), dtype=int)
    train[:, GENRES.index("드라마")] = 1
    train[:6, GENRES.index("코미디")] = 1
    train[:2, GENRES.index("SF")] = 1  # 1.8 genres a film on average: answer two
    evaluation = train[:4]
    baseline = most_frequent_genres_baseline(train, evaluation)
    assert baseline["genres"] == ["드라마", "코미디"]
    assert baseline["micro_recall"] == pytest.approx(8 / 10)


def test_macro_average_precision_averages_the_genres_that_occur_and_ignores_thresholds():
    y_true = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    probabilities = np.array([[0.9, 0.2, 0.5], [0.1, 0.3, 0.5], [0.8, 0.1, 0.5], [0.2, 0.4, 0.5]])
    expected = np.mean([average_precision_score(y_true[:, genre], probabilities[:, genre]) for genre in (0, 1)])
    assert macro_average_precision(y_true, probabilities) == pytest.approx(expected)
    assert macro_average_precision(y_true, probabilities / 10) == pytest.approx(expected)  # a ranking measure
    assert macro_average_precision(np.zeros((2, 3)), probabilities[:2]) == 0.0
