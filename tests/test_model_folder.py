"""genre_model.model_folder: a model folder's files, written and read back."""

import json

from transformers import AutoModelForSequenceClassification, AutoTokenizer

from genre_model import model_folder


def test_saving_a_model_drops_the_scores_recorded_for_the_weights_it_replaces(trained_model, tmp_path):
    model_folder.record_evaluation(tmp_path, {"description": "earlier weights on real synopses", "micro_f1": 0.9})
    record = model_folder.read_training_record(trained_model)
    model_folder.save_model_folder(
        tmp_path,
        AutoModelForSequenceClassification.from_pretrained(trained_model),
        AutoTokenizer.from_pretrained(trained_model),
        record,
    )
    assert model_folder.read_evaluations(tmp_path) == []
    assert model_folder.read_training_record(tmp_path).thresholds == record.thresholds
    assert json.loads((tmp_path / model_folder.METRICS_FILE).read_text(encoding="utf-8")) == record.metrics
