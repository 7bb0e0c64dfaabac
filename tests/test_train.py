"""train.py end to end, as users run it: `accelerate launch train.py ...` in real processes."""

import dataclasses
import json

import numpy as np
import pytest
from safetensors.numpy import load_file
from sklearn.metrics import f1_score

from genre_model import model_folder
from genre_model.genres import GENRES
from genre_model.metrics import tune_thresholds
from genre_model.predict import GenrePredictor
from genre_model.scoring import COMBINATION_RULES, Windows, combine_windows
from genre_model.tables import write_jsonl

import train
from helpers import TINY_TRAINING_FLAGS, launch_training, read_corpus, run_flags

SYNOPSIS_BY_ID = {row["id"]: row["synopsis"] for row in read_corpus()}


def recomputed_test_scores(folder):
    """The folder's test rows scored again by the predictor the app uses (fp32), at the folder's thresholds."""
    record = model_folder.read_training_record(folder)
    row_ids, labels, saved_probabilities = model_folder.prediction_arrays(record.test_predictions)
    predictor = GenrePredictor.load(folder, device="cpu", fast_cpu=False)
    scores = predictor.score([SYNOPSIS_BY_ID[row_id] for row_id in row_ids])
    return record, labels, saved_probabilities, scores


def assert_metrics_are_what_the_predictor_serves(folder):
    record, labels, saved_probabilities, scores = recomputed_test_scores(folder)
    assert scores.windows.max() > 1, "the test split should hold synopses longer than the window"
    np.testing.assert_allclose(scores.probabilities, saved_probabilities, atol=2e-5)
    served = record.thresholds.decide(scores.probabilities)
    for average in ("micro", "macro", "samples"):
        assert round(record.metrics["test"]["tuned_thresholds"][f"{average}_f1"], 4) == round(
            f1_score(labels, served, average=average, zero_division=0), 4
        )


def test_training_writes_a_self_describing_model_folder(trained_model):
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        model_folder.THRESHOLDS_FILE,
        model_folder.METRICS_FILE,
        model_folder.SPLITS_FILE,
        model_folder.DROP_REPORT_FILE,
        model_folder.TRAINING_ARGS_FILE,
        model_folder.TEST_PREDICTIONS_FILE,
        model_folder.CHART_FILE,
        model_folder.CARD_FILE,
    ):
        assert (trained_model / name).is_file(), name
    config = json.loads((trained_model / "config.json").read_text(encoding="utf-8"))
    assert config["problem_type"] == "multi_label_classification"
    assert [config["id2label"][str(i)] for i in range(len(GENRES))] == list(GENRES)
    metrics = json.loads((trained_model / model_folder.METRICS_FILE).read_text())
    assert {"most_frequent_genres_baseline", "tfidf_baseline"} <= set(metrics["test"])
    assert 0 <= metrics["test"]["tfidf_baseline"]["micro_f1"] <= 1
    for split in ("validation", "test"):
        for mode in ("threshold_0.5", "tuned_thresholds"):
            assert {"micro_f1", "macro_f1", "samples_f1", "per_genre"} <= set(metrics[split][mode])
    assert model_folder.read_thresholds(trained_model).per_genre.keys() == set(GENRES)
    assert (trained_model / "checkpoints" / "best").is_dir()


def test_pipeline_on_the_saved_folder_gives_twenty_sigmoid_scores(trained_model):
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(trained_model), top_k=None, device="cpu")
    (scores,) = classifier([read_corpus(limit=1)[0]["synopsis"]])
    assert sorted(s["label"] for s in scores) == sorted(GENRES)
    # independent sigmoids, not a softmax: they need not sum to one
    assert all(0 < s["score"] < 1 for s in scores) and abs(sum(s["score"] for s in scores) - 1) > 1e-3


def test_saved_metrics_equal_scikit_learn_recomputed_from_saved_predictions(trained_model):
    record = model_folder.read_training_record(trained_model)
    _, y_true, probabilities = model_folder.prediction_arrays(record.test_predictions)
    top = probabilities.max(axis=1, keepdims=True) if record.thresholds.relative_to_top else 1.0
    for mode, cutoffs in (("threshold_0.5", 0.5), ("tuned_thresholds", record.thresholds.vector() * top)):
        y_pred = probabilities >= cutoffs
        for average in ("micro", "macro", "samples"):
            assert record.metrics["test"][mode][f"{average}_f1"] == pytest.approx(
                f1_score(y_true, y_pred, average=average, zero_division=0), abs=1e-6
            )


def test_test_scores_are_the_scores_of_what_the_predictor_serves(trained_model):
    assert_metrics_are_what_the_predictor_serves(trained_model)


def test_the_window_rule_served_is_the_one_with_the_best_validation_micro_f1(trained_model):
    record = model_folder.read_training_record(trained_model)
    tried = record.metrics["validation"]["micro_f1_by_window_rule"]
    assert tuple(tried) == COMBINATION_RULES
    assert record.thresholds.window_rule == max(tried, key=lambda rule: (tried[rule], -COMBINATION_RULES.index(rule)))
    assert f"`window_rule` in `{model_folder.THRESHOLDS_FILE}`" in (trained_model / model_folder.CARD_FILE).read_text()


def windows_of(owners: list[int], lengths: list[int]) -> Windows:
    return Windows([{"input_ids": [0] * length} for length in lengths], np.array(owners), max(owners) + 1)


def test_the_window_rule_is_chosen_by_validation_micro_f1_with_thresholds_tuned_for_each():
    # every synopsis: three windows that lean to its genre, one of which also spikes on a genre it lacks;
    # taking the highest window keeps the spikes, the mean dilutes them
    rng = np.random.default_rng(0)
    synopses, genres = 200, len(GENRES)
    labels = np.zeros((synopses, genres), dtype=int)
    labels[np.arange(synopses), rng.integers(0, genres, synopses)] = 1
    per_window = np.repeat(np.where(labels == 1, 0.6, 0.05), 3, axis=0)
    for synopsis in range(synopses):
        wrong = rng.choice(np.flatnonzero(labels[synopsis] == 0))
        per_window[3 * synopsis + rng.integers(0, 3), wrong] = 0.9
    windows = windows_of(list(np.repeat(np.arange(synopses), 3)), [50] * (3 * synopses))

    thresholds, scores = train.thresholds_for_best_window_rule(labels, per_window, windows, COMBINATION_RULES, 5, False)
    assert scores["mean"] > scores["max"]
    # equal window lengths: the weighted mean ties the mean, and the earlier rule wins the tie
    assert scores["length_weighted_mean"] == scores["mean"] and thresholds.window_rule == "mean"
    assert thresholds == dataclasses.replace(
        tune_thresholds(labels, combine_windows(per_window, windows, "mean"), 5), window_rule="mean"
    )

    # nothing to tell the rules apart: the first, the default
    one_window_each = windows_of(list(range(synopses)), [50] * synopses)
    alike, _ = train.thresholds_for_best_window_rule(
        labels, per_window[::3], one_window_each, COMBINATION_RULES, 5, True
    )
    assert alike.window_rule == "max"
    # one rule asked for: that rule
    asked, scores = train.thresholds_for_best_window_rule(
        labels, per_window, windows, ("length_weighted_mean",), 5, False
    )
    assert asked.window_rule == "length_weighted_mean" and list(scores) == ["length_weighted_mean"]


def test_saved_predictions_cover_the_test_split_only(trained_model):
    record = model_folder.read_training_record(trained_model)
    row_ids = [prediction.id for prediction in record.test_predictions]
    assert sorted(row_ids) == sorted(record.split_rows["test"]["row_ids"])
    assert not set(row_ids) & set(record.split_rows["train"]["row_ids"])


def test_two_processes_evaluate_exactly_like_the_predictor(tiny_encoder, tmp_path):
    # 97 rows: an odd number of test windows, so the last batch is uneven across the two processes
    dataset = write_jsonl(tmp_path / "films.jsonl", read_corpus(limit=97))
    output_dir = tmp_path / "ddp"
    result = launch_training(
        *run_flags(dataset, tiny_encoder, output_dir),
        *TINY_TRAINING_FLAGS,
        "--gradient_accumulation_steps",
        "2",
        "--report_to",
        "tensorboard",
        processes=2,
    )
    assert "batch 32 on 2 process(es)" in result.stdout + result.stderr  # 8 per device x 2 processes x 2 accumulated
    assert list((output_dir / "runs").rglob("events.out.tfevents.*"))
    row_ids = [prediction.id for prediction in model_folder.read_training_record(output_dir).test_predictions]
    assert len(row_ids) == len(set(row_ids))  # gather_for_metrics dropped the padding duplicates
    assert_metrics_are_what_the_predictor_serves(output_dir)


def test_training_computes_with_every_core_under_the_readme_launch_line(training_log):
    from genre_model.cpu_threads import physical_core_count

    cores = physical_core_count()
    if cores < 2:
        pytest.skip("a one-core machine has one thread to use")
    assert f"computing with {cores} CPU threads per process" in training_log[1]


def test_a_run_stopped_midway_and_resumed_ends_like_an_uninterrupted_run(tiny_encoder, tmp_path):
    dataset = write_jsonl(tmp_path / "films.jsonl", read_corpus(limit=120))  # 12 steps an epoch
    common = [*TINY_TRAINING_FLAGS, "--checkpointing_steps", "4"]
    launch_training(*run_flags(dataset, tiny_encoder, tmp_path / "straight"), *common)
    interrupted = tmp_path / "interrupted"
    stopped = launch_training(*run_flags(dataset, tiny_encoder, interrupted), *common, "--stop_after_steps", "7")
    assert "--resume_from_checkpoint latest" in stopped.stdout + stopped.stderr
    assert not (interrupted / "model.safetensors").exists()
    launch_training(*run_flags(dataset, tiny_encoder, interrupted), *common, "--resume_from_checkpoint", "latest")

    straight_weights, resumed_weights = (
        load_file(tmp_path / "straight" / "model.safetensors"),
        load_file(interrupted / "model.safetensors"),
    )
    assert straight_weights.keys() == resumed_weights.keys()
    for name in straight_weights:
        np.testing.assert_allclose(resumed_weights[name], straight_weights[name], atol=1e-6, err_msg=name)
    straight, resumed = (
        json.loads((folder / model_folder.METRICS_FILE).read_text()) for folder in (tmp_path / "straight", interrupted)
    )
    assert resumed["history"] == straight["history"] and resumed["test"] == straight["test"]
    assert len(list((interrupted / "checkpoints").glob("step_*"))) <= 2  # --save_total_limit prunes old ones


@pytest.mark.parametrize(
    "rows, flags, message",
    [
        (None, ["--text_column", "plot"], "column 'plot' not found in "),
        ([], [], "is empty"),
        (
            [{"synopsis": "오래된 극장을 지키는 노인과 소년의 우정을 그린 이야기. " * 3, "genres": ["무협"]}] * 30,
            [],
            "no_known_genre",
        ),
        (
            [{"synopsis": "오래된 극장을 지키는 노인과 소년의 우정을 그린 이야기. " * 3, "genres": 5}] * 30,
            [],
            "must hold a list of genre names or a string",
        ),
        (None, ["--checkpointing_steps", "often"], "--checkpointing_steps must be"),
        (None, ["--resume_from_checkpoint", "latest"], "no checkpoint in"),
        (None, ["--test_fraction", "0.95"], "split fractions must be in (0, 1)"),
        (None, ["--baseline_distillation", "1"], "--baseline_distillation must lie in [0, 1)"),
        (None, ["--window_rule", "median"], "--window_rule must be one of max, mean"),
        (None, ["--distillation_fragments", "2"], "--distillation_fragments needs --baseline_distillation"),
    ],
    ids=[
        "missing column",
        "empty file",
        "unknown genres only",
        "genres neither list nor string",
        "bad checkpointing",
        "nothing to resume",
        "no rows left to train",
        "distillation weight of 1",
        "unknown window rule",
        "fragments without a teacher",
    ],
)
def test_bad_input_gives_one_error_line_and_exit_code_2(tiny_encoder, tmp_path, capsys, rows, flags, message):
    dataset = tmp_path / "d.jsonl"
    if rows == []:
        dataset.write_text("")
    else:
        write_jsonl(dataset, read_corpus(limit=40) if rows is None else rows)
    code = train.main(
        [
            *run_flags(dataset, tiny_encoder, tmp_path / "out"),
            *flags,
        ]
    )
    error = capsys.readouterr().err
    assert code == 2 and message in error and error.count("error:") == 1, error


def test_push_without_a_token_fails_before_training(tiny_encoder, small_dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_TOKEN", "")
    code = train.main(
        [
            *run_flags(small_dataset, tiny_encoder, tmp_path / "out"),
            "--push_to_hub",
        ]
    )
    error = capsys.readouterr().err
    assert code == 2 and "needs a Hugging Face token" in error and "hf auth login" in error
    assert not (tmp_path / "out").exists()


def test_an_unloadable_encoder_is_explained(small_dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    code = train.main(
        [
            *run_flags(small_dataset, "klue/bert-base", tmp_path / "out"),
        ]
    )
    assert code == 2 and "cannot load 'klue/bert-base'" in capsys.readouterr().err


def test_a_bad_run_under_accelerate_launch_ends_with_our_error_line(tiny_encoder, tmp_path):
    dataset = write_jsonl(tmp_path / "d.jsonl", read_corpus(limit=40))
    result = launch_training(
        *run_flags(dataset, tiny_encoder, tmp_path / "out"),
        "--text_column",
        "plot",
        check=False,
    )
    assert result.returncode != 0
    assert (
        "error: column 'plot' not found in" in result.stderr
        and "Traceback (most recent call last)" not in result.stderr.split("error:")[0]
    )


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        train.main(["--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    for option in (
        "--dataset",
        "--model_name_or_path",
        "--resume_from_checkpoint",
        "--push_to_hub",
        "--pos_weight_cap",
        "--gradient_accumulation_steps",
    ):
        assert option in shown


# ---- checkpoint now? stop now? ---------------------------------------------------------------------------------


@pytest.mark.parametrize("checkpointing", ["epoch", "no", "3"])
@pytest.mark.parametrize("stop_after", [None, 6, 9])
def test_every_combination_of_step_epoch_end_and_options_keeps_the_rules(checkpointing, stop_after):
    max_steps = 9
    for step in range(1, max_steps + 1):
        for epoch_over in (False, True):
            for early_stop in (False, True) if epoch_over else (False,):
                plan = train.plan_after_step(
                    step,
                    epoch_over=epoch_over,
                    early_stop=early_stop,
                    checkpointing_steps=checkpointing,
                    stop_after_steps=stop_after,
                    max_steps=max_steps,
                )
                where = (step, epoch_over, early_stop)
                # training ends only after an epoch's evaluation, when it stopped early or ran out of steps
                assert plan.finish == (epoch_over and (early_stop or step == max_steps)), where
                # a pause comes exactly at --stop_after_steps, unless the run is over anyway, and with a checkpoint
                assert plan.pause == (step == stop_after and not plan.finish), where
                assert not plan.pause or plan.save, where
                # checkpoints otherwise follow --checkpointing_steps: every epoch end, every N steps, or never
                scheduled = {"epoch": epoch_over, "no": False, "3": step % 3 == 0}[checkpointing]
                assert plan.save == (scheduled or plan.pause), where


def test_the_plan_in_the_cases_users_meet():
    plan = train.plan_after_step
    assert plan(
        5, epoch_over=False, early_stop=False, checkpointing_steps="epoch", stop_after_steps=None, max_steps=10
    ) == train.Plan(False, False, False)
    assert plan(
        5, epoch_over=True, early_stop=False, checkpointing_steps="epoch", stop_after_steps=None, max_steps=10
    ) == train.Plan(True, False, False)
    assert plan(
        4, epoch_over=False, early_stop=False, checkpointing_steps="2", stop_after_steps=None, max_steps=10
    ).save
    assert plan(
        5, epoch_over=False, early_stop=False, checkpointing_steps="no", stop_after_steps=5, max_steps=10
    ) == train.Plan(True, True, False)
    # the last step ends the run: nothing to pause for, however --stop_after_steps is set
    assert plan(
        10, epoch_over=True, early_stop=False, checkpointing_steps="no", stop_after_steps=10, max_steps=10
    ) == train.Plan(False, False, True)
    assert plan(
        6, epoch_over=True, early_stop=True, checkpointing_steps="no", stop_after_steps=None, max_steps=10
    ).finish
