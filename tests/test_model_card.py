"""genre_model.model_card: a card with Hub metadata, written only from the model folder's measured files."""

import json
import shutil
import subprocess
import sys

from huggingface_hub import ModelCard

from genre_model import model_folder
from genre_model.genres import GENRES
from genre_model.model_card import render_model_card

from helpers import PROJECT_ROOT


def test_the_card_carries_hub_metadata_and_the_measured_scores(trained_model):
    card = ModelCard.load(trained_model / model_folder.CARD_FILE)
    metrics = json.loads((trained_model / model_folder.METRICS_FILE).read_text())
    assert (
        card.data.language == "ko"
        and card.data.pipeline_tag == "text-classification"
        and card.data.library_name == "transformers"
    )
    micro = next(result for result in card.data.eval_results if result.metric_name == "micro f1")
    assert (
        micro.metric_value == round(metrics["test"]["tuned_thresholds"]["micro_f1"], 4)
        and micro.dataset_split == "test"
    )
    assert f"{metrics['test']['most_frequent_genres_baseline']['micro_f1']:.3f}" in card.text
    # the TF-IDF baseline, trained on the same split, stands next to the model
    assert "test, TF-IDF baseline" in card.text and f"{metrics['test']['tfidf_baseline']['micro_f1']:.3f}" in card.text
    assert model_folder.CHART_FILE in card.text and "pipeline(" in card.text
    assert all(f"| {genre} |" in card.text for genre in GENRES)


def _re_rendered(folder, tmp_path):
    copy = shutil.copytree(folder, tmp_path / folder.name, ignore=shutil.ignore_patterns("checkpoints"))
    (copy / model_folder.CARD_FILE).unlink()
    subprocess.run(
        [sys.executable, "-m", "genre_model.model_card", str(copy)], check=True, cwd=PROJECT_ROOT, capture_output=True
    )
    return (copy / model_folder.CARD_FILE).read_text(encoding="utf-8")


def test_re_rendering_a_folder_reproduces_its_card(trained_model, tmp_path):
    assert _re_rendered(trained_model, tmp_path) == (trained_model / model_folder.CARD_FILE).read_text(encoding="utf-8")


def test_the_shipped_demo_models_card_is_rendered_from_its_files(tmp_path):
    demo = PROJECT_ROOT / "demo_model"
    card = (demo / model_folder.CARD_FILE).read_text(encoding="utf-8")
    assert _re_rendered(demo, tmp_path) == card
    assert "demo model" in card and "configs/train_demo_model.sh" in card


def test_the_demo_model_learnt_from_the_text():
    metrics = json.loads((PROJECT_ROOT / "demo_model" / model_folder.METRICS_FILE).read_text())["test"]
    # far above always answering the most frequent genres, on its own held-out split
    assert metrics["tuned_thresholds"]["macro_f1"] > 5 * metrics["most_frequent_genres_baseline"]["macro_f1"]
    assert metrics["tuned_thresholds"]["micro_f1"] > 2 * metrics["most_frequent_genres_baseline"]["micro_f1"]


def test_the_card_names_the_augmentation_and_distillation_a_run_used(trained_model):
    record = model_folder.read_training_record(trained_model)
    run = record.run | {
        "random_crop": True,
        "token_dropout": 0.1,
        "baseline_distillation": 0.9,
        "distillation_fragments": 2,
    }
    card = render_model_card(
        record.metrics, record.thresholds, record.split_summary, record.drop_report, run, evaluations=[]
    )
    assert "reads a random window of" in card
    assert "10% of a synopsis's tokens hidden behind [MASK]" in card
    assert "the labels (10%) and the TF-IDF baseline's out-of-fold probabilities (90%)" in card
    assert "up to 2 runs of each synopsis's sentences" in card
    plain = render_model_card(
        record.metrics, record.thresholds, record.split_summary, record.drop_report, record.run | {"token_dropout": 0}
    )
    assert "runs of each synopsis's sentences" not in plain and "hidden behind [MASK]" not in plain
