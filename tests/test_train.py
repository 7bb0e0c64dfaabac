"""train.py end to end, as users run it: `accelerate launch train.py ...` in real processes."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import OFFLINE_ENVIRONMENT, PROJECT_ROOT, TINY_TRAINING_FLAGS, launch_training, read_corpus, write_jsonl
from safetensors.numpy import load_file
from sklearn.metrics import f1_score

from genre_model import model_folder
from genre_model.genres import GENRES, to_multi_hot


def read_test_predictions(folder):
    with open(folder / model_folder.TEST_PREDICTIONS_FILE, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    y_true = np.array([to_multi_hot(row["genres"]) for row in rows], dtype=int)
    probabilities = np.array([[row["probabilities"][genre] for genre in GENRES] for row in rows])
    return [row["id"] for row in rows], y_true, probabilities


def recompute_probabilities(folder, row_ids):
    """One process, plain 🤗 pipeline: the reference the training run's own evaluation must match."""
    from transformers import pipeline

    texts = {row["id"]: row["synopsis"] for row in read_corpus()}
    classifier = pipeline("text-classification", model=str(folder), top_k=None, device="cpu")
    outputs = classifier([texts[row_id] for row_id in row_ids], truncation=True, max_length=128)
    return np.array([[{s["label"]: s["score"] for s in output}[genre] for genre in GENRES] for output in outputs])


def test_training_writes_a_self_describing_model_folder(trained_model):
    for name in ("model.safetensors", "config.json", "tokenizer.json", model_folder.THRESHOLDS_FILE, model_folder.METRICS_FILE, model_folder.SPLITS_FILE,
                 model_folder.DROP_REPORT_FILE, model_folder.TRAINING_ARGS_FILE, model_folder.TEST_PREDICTIONS_FILE, model_folder.CHART_FILE, model_folder.CARD_FILE):
        assert (trained_model / name).is_file(), name
    config = json.loads((trained_model / "config.json").read_text(encoding="utf-8"))
    assert config["problem_type"] == "multi_label_classification"
    assert [config["id2label"][str(i)] for i in range(len(GENRES))] == list(GENRES)
    metrics = json.loads((trained_model / model_folder.METRICS_FILE).read_text())
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
    _, y_true, probabilities = read_test_predictions(trained_model)
    metrics = json.loads((trained_model / model_folder.METRICS_FILE).read_text())["test"]
    thresholds = model_folder.read_thresholds(trained_model).vector()
    for mode, cutoffs in (("threshold_0.5", 0.5), ("tuned_thresholds", thresholds)):
        y_pred = probabilities >= cutoffs
        for average in ("micro", "macro", "samples"):
            assert metrics[mode][f"{average}_f1"] == pytest.approx(f1_score(y_true, y_pred, average=average, zero_division=0), abs=1e-6)


def test_saved_predictions_come_from_the_saved_weights_and_cover_the_test_split_only(trained_model):
    row_ids, _, probabilities = read_test_predictions(trained_model)
    splits = json.loads((trained_model / model_folder.SPLITS_FILE).read_text(encoding="utf-8"))
    assert sorted(row_ids) == sorted(splits["rows"]["test"]["row_ids"])
    assert not set(row_ids) & set(splits["rows"]["train"]["row_ids"])
    np.testing.assert_allclose(probabilities, recompute_probabilities(trained_model, row_ids), atol=1e-4)


def test_two_processes_evaluate_exactly_like_one(tiny_encoder, tmp_path):
    # 97 rows: an odd test split, so the last batch is uneven across the two processes
    dataset = write_jsonl(tmp_path / "films.jsonl", read_corpus(limit=97))
    output_dir = tmp_path / "ddp"
    result = launch_training("--dataset", str(dataset), "--model_name_or_path", str(tiny_encoder), "--output_dir", str(output_dir), *TINY_TRAINING_FLAGS,
                             "--gradient_accumulation_steps", "2", "--report_to", "tensorboard", processes=2)
    assert "batch 32 on 2 process(es)" in result.stdout + result.stderr  # 8 per device x 2 processes x 2 accumulated
    assert list((output_dir / "runs").rglob("events.out.tfevents.*"))
    row_ids, _, probabilities = read_test_predictions(output_dir)
    assert len(row_ids) == len(set(row_ids))  # gather_for_metrics dropped the padding duplicates
    np.testing.assert_allclose(probabilities, recompute_probabilities(output_dir, row_ids), atol=1e-4)


def test_a_run_stopped_midway_and_resumed_ends_like_an_uninterrupted_run(tiny_encoder, small_dataset, tmp_path):
    common = ["--dataset", str(small_dataset), "--model_name_or_path", str(tiny_encoder), *TINY_TRAINING_FLAGS, "--checkpointing_steps", "4"]
    launch_training(*common, "--output_dir", str(tmp_path / "straight"))
    interrupted = tmp_path / "interrupted"
    stopped = launch_training(*common, "--output_dir", str(interrupted), "--stop_after_steps", "7")
    assert "--resume_from_checkpoint latest" in stopped.stdout + stopped.stderr
    assert not (interrupted / "model.safetensors").exists()
    launch_training(*common, "--output_dir", str(interrupted), "--resume_from_checkpoint", "latest")

    straight_weights, resumed_weights = load_file(tmp_path / "straight" / "model.safetensors"), load_file(interrupted / "model.safetensors")
    assert straight_weights.keys() == resumed_weights.keys()
    for name in straight_weights:
        np.testing.assert_allclose(resumed_weights[name], straight_weights[name], atol=1e-6, err_msg=name)
    straight, resumed = (json.loads((folder / model_folder.METRICS_FILE).read_text()) for folder in (tmp_path / "straight", interrupted))
    assert resumed["history"] == straight["history"] and resumed["test"] == straight["test"]
    assert len(list((interrupted / "checkpoints").glob("step_*"))) <= 2  # --save_total_limit prunes old ones


def run_train_script(*flags, env=None):
    """train.py in a plain process (what a single-process `accelerate launch` runs), to read its own output."""
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "train.py"), *flags], capture_output=True, text=True, timeout=120,
                          env=(env or {}) | OFFLINE_ENVIRONMENT | {"PATH": "/usr/bin:/bin"}, cwd=PROJECT_ROOT)


@pytest.mark.parametrize(
    "rows, flags, message",
    [
        (None, ["--text_column", "plot"], "column 'plot' not found; available: "),
        ([], [], "is empty"),
        ([{"synopsis": "오래된 극장을 지키는 노인과 소년의 우정을 그린 이야기. " * 3, "genres": ["무협"]}] * 30, [], "no_known_genre"),
        ([{"synopsis": "오래된 극장을 지키는 노인과 소년의 우정을 그린 이야기. " * 3, "genres": 5}] * 30, [], "must hold a list of genre names or a string"),
    ],
    ids=["missing column", "empty file", "unknown genres only", "genres neither list nor string"],
)
def test_bad_data_gives_a_clear_message_and_a_non_zero_exit(tiny_encoder, tmp_path, rows, flags, message):
    dataset = write_jsonl(tmp_path / "d.jsonl", read_corpus(limit=40) if rows is None else rows)
    result = run_train_script("--dataset", str(dataset), "--model_name_or_path", str(tiny_encoder), "--output_dir", str(tmp_path / "out"), *flags)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_push_without_a_token_fails_before_training(tiny_encoder, small_dataset, tmp_path):
    result = run_train_script("--dataset", str(small_dataset), "--model_name_or_path", str(tiny_encoder), "--output_dir", str(tmp_path / "out"), "--push_to_hub",
                              env={"HF_HOME": str(tmp_path / "hf-home"), "HF_TOKEN": ""})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs a Hugging Face token" in result.stderr and "hf auth login" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_unloadable_encoder_is_explained(small_dataset, tmp_path):
    result = run_train_script("--dataset", str(small_dataset), "--model_name_or_path", "klue/bert-base", "--output_dir", str(tmp_path / "out"), env={"HF_HOME": str(tmp_path / "hf-home")})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot load 'klue/bert-base'" in result.stderr


def test_help_documents_every_option():
    result = run_train_script("--help")
    assert result.returncode == 0
    for option in ("--dataset", "--model_name_or_path", "--resume_from_checkpoint", "--push_to_hub", "--pos_weight_cap", "--gradient_accumulation_steps"):
        assert option in result.stdout
