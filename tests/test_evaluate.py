"""genre_model.evaluate: any model on any labelled file, through the app's scorer, with baselines and calibration."""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from genre_model.evaluate import main
from genre_model.genres import GENRES, to_multi_hot
from genre_model.model_folder import read_evaluations, read_thresholds, write_thresholds
from genre_model.predict import GenrePredictor
from genre_model.tables import read_table, write_jsonl

from helpers import read_corpus

SCORED = ("드라마", "코미디", "액션", "스릴러", "로맨스", "범죄")


@pytest.fixture(scope="module")
def labelled_file(tmp_path_factory):
    # rows the trained model never saw in training are not needed here: the point is that the scores are recomputable
    return write_jsonl(tmp_path_factory.mktemp("evaluate") / "films.jsonl", read_corpus()[300:420])


@pytest.fixture(scope="module")
def evaluated(trained_model, labelled_file, verdict_cache, tmp_path_factory):
    output = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENRE_MODEL_CACHE", str(verdict_cache))
        arguments = ["--model", str(trained_model), "--data", str(labelled_file), "--output_dir", str(output)]
        code = main([*arguments, "--genres", ",".join(SCORED), "--baseline_train", str(labelled_file)])
    assert code == 0
    return output, json.loads((output / "evaluation.json").read_text(encoding="utf-8"))


def written_predictions(output):
    rows = read_table(output / "predictions.jsonl").rows
    labels = np.array([to_multi_hot(row["genres"]) for row in rows], dtype=int)
    probabilities = np.array([[row["probabilities"][genre] for genre in GENRES] for row in rows])
    return rows, labels, probabilities


def test_scores_equal_scikit_learn_on_the_written_predictions(evaluated, trained_model):
    output, report = evaluated
    rows, labels, probabilities = written_predictions(output)
    columns = [GENRES.index(genre) for genre in SCORED]
    decided = read_thresholds(trained_model).decide(probabilities)[:, columns]
    for average in ("micro", "macro", "samples", "weighted"):
        expected = f1_score(labels[:, columns], decided, average=average, zero_division=0)
        assert report["model_thresholds"][f"{average}_f1"] == pytest.approx(expected, abs=1e-6), average
    half = (probabilities >= 0.5)[:, columns]
    assert report["threshold_0.5"]["micro_f1"] == pytest.approx(
        f1_score(labels[:, columns], half, average="micro"), abs=1e-6
    )
    assert report["model_thresholds"]["no_genre_chosen"] == pytest.approx(np.mean(decided.sum(axis=1) == 0))
    ranked = [
        average_precision_score(labels[:, column], probabilities[:, column])
        for column in columns
        if labels[:, column].any()
    ]
    assert report["macro_average_precision"] == pytest.approx(np.mean(ranked), abs=1e-6)
    assert report["rows"] == len(rows) == 120 and rows[0]["id"] == read_corpus()[300]["id"]


def test_only_the_named_genres_are_scored(evaluated):
    _, report = evaluated
    assert report["genres"] == sorted(SCORED, key=GENRES.index)
    assert list(report["model_thresholds"]["per_genre"]) == report["genres"]
    assert list(report["genre_counts"]) == report["genres"]
    assert set(report["baselines"]["tfidf"]["per_genre"]) == set(SCORED)


def test_calibration_bins_hold_every_scored_probability(evaluated):
    _, report = evaluated
    bins = report["calibration"]["bins"]
    assert sum(item["count"] for item in bins) == report["rows"] * len(SCORED)
    assert 0 <= report["calibration"]["expected_calibration_error"] <= 1


def test_the_report_names_the_optimistic_figure_and_shows_the_baselines(evaluated):
    output, report = evaluated
    markdown = (output / "evaluation.md").read_text(encoding="utf-8")
    assert "tuned on the evaluated data itself" in markdown and "TF-IDF baseline" in markdown
    assert (output / "per_genre_f1.png").stat().st_size > 0 and (output / "reliability.png").stat().st_size > 0
    assert {"most_frequent_genres", "tfidf"} <= set(report["baselines"])
    assert 0 <= report["baselines"]["tfidf"]["micro_f1"] <= 1
    assert 0 < report["baselines"]["tfidf"]["macro_average_precision"] <= 1
    assert f"macro average precision {report['macro_average_precision']:.3f}" in markdown


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no labels", "column 'genres' not found"),
        ("unknown genre", "--genres: unknown genre names 무협"),
        ("not a genre model", "is not a genre model"),
        ("missing file", "no such file"),
    ],
)
def test_bad_requests_end_with_one_error_line_and_exit_code_2(
    case, message, trained_model, tiny_encoder, tmp_path, capsys
):
    data = write_jsonl(tmp_path / "films.jsonl", read_corpus(limit=5))
    arguments = [
        "--model",
        str(trained_model),
        "--data",
        str(data),
        "--output_dir",
        str(tmp_path / "out"),
        "--no_fast_cpu",
    ]
    if case == "no labels":
        data = write_jsonl(tmp_path / "films.jsonl", [{"synopsis": row["synopsis"]} for row in read_corpus(limit=5)])
    elif case == "unknown genre":
        arguments += ["--genres", "드라마,무협"]
    elif case == "not a genre model":
        arguments[1] = str(tiny_encoder)
    else:
        arguments[3] = str(tmp_path / "missing.jsonl")
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("error:") == 1, error
    assert not (tmp_path / "out").exists()


def test_a_model_with_thresholds_relative_to_the_top_meets_the_tfidf_baseline_under_that_rule_too(
    evaluated, trained_model, labelled_file, tmp_path
):
    _, absolute = evaluated
    assert "tfidf_relative_to_top" not in absolute["baselines"]
    folder = Path(shutil.copytree(trained_model, tmp_path / "model", ignore=shutil.ignore_patterns("checkpoints")))
    write_thresholds(folder, dataclasses.replace(read_thresholds(trained_model), relative_to_top=True))
    arguments = ["--model", str(folder), "--data", str(labelled_file), "--output_dir", str(tmp_path / "out")]
    assert main([*arguments, "--no_fast_cpu", "--baseline_train", str(labelled_file)]) == 0
    baselines = json.loads((tmp_path / "out" / "evaluation.json").read_text(encoding="utf-8"))["baselines"]
    relative = baselines["tfidf_relative_to_top"]
    assert "shares of each synopsis's top probability" in relative["description"]
    # one fit, two kinds of thresholds: the same ranking, other decisions
    assert relative["macro_average_precision"] == baselines["tfidf"]["macro_average_precision"]
    assert relative["micro_recall"] > 0
    assert "thresholds relative to the top" in (tmp_path / "out" / "evaluation.md").read_text(encoding="utf-8")


def test_recorded_aggregates_reach_the_card_and_the_app_panel_but_no_text(trained_model, labelled_file, tmp_path):
    folder = Path(shutil.copytree(trained_model, tmp_path / "model", ignore=shutil.ignore_patterns("checkpoints")))
    arguments = [
        "--model",
        str(folder),
        "--data",
        str(labelled_file),
        "--output_dir",
        str(tmp_path / "out"),
        "--no_fast_cpu",
    ]
    assert main([*arguments, "--genres", ",".join(SCORED), "--record", "120 synopses of the corpus"]) == 0
    [recorded] = read_evaluations(folder)
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text(encoding="utf-8"))
    assert recorded["micro_f1"] == report["model_thresholds"]["micro_f1"] and recorded["rows"] == 120
    stored = (folder / "evaluations.json").read_text(encoding="utf-8")
    assert not any(row["synopsis"][:30] in stored for row in read_corpus()[300:420])  # aggregates only
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "## Scores on other data" in card and "120 synopses of the corpus" in card
    assert GenrePredictor.load(folder, device="cpu", fast_cpu=False).info()["evaluations"] == [recorded]


def test_record_needs_a_local_model_folder(labelled_file, tmp_path, capsys):
    arguments = ["--model", "someone/genre-model", "--data", str(labelled_file), "--record", "real synopses"]
    assert main([*arguments, "--output_dir", str(tmp_path / "out")]) == 2
    assert "--record keeps the scores in a local model folder" in capsys.readouterr().err
