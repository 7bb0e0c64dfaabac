"""genre_model.modeling: the multi-label config, the loss, and explained load failures."""

import numpy as np
import pytest
import torch

from genre_model.genres import GENRES
from genre_model.modeling import ModelLoadError, build_model, load_tokenizer, multi_label_loss, positive_weights


def test_the_model_is_configured_as_a_korean_multi_label_classifier(tiny_encoder):
    model = build_model(str(tiny_encoder))
    assert model.config.problem_type == "multi_label_classification"
    assert model.config.num_labels == len(GENRES)
    assert [model.config.id2label[i] for i in range(len(GENRES))] == list(GENRES)
    assert model.config.label2id["공포(호러)"] == GENRES.index("공포(호러)")


def test_our_loss_without_pos_weight_is_the_models_own_bce(tiny_encoder):
    model = build_model(str(tiny_encoder)).eval()
    tokenizer = load_tokenizer(str(tiny_encoder), max_length=64)
    batch = tokenizer(
        ["한밤중 폐교에서 들려오는 피아노 소리.", "우주 정거장에 고립된 과학자."], padding=True, return_tensors="pt"
    )
    labels = torch.zeros(2, len(GENRES))
    labels[0, GENRES.index("공포(호러)")] = labels[1, GENRES.index("SF")] = 1
    output = model(**batch, labels=labels)
    assert multi_label_loss(output.logits, labels).item() == pytest.approx(output.loss.item(), rel=1e-6)


def test_pos_weight_raises_the_cost_of_missing_a_rare_genre():
    logits, labels = torch.zeros(1, len(GENRES)), torch.zeros(1, len(GENRES))
    labels[0, 0] = 1
    weights = torch.ones(len(GENRES))
    weights[0] = 5
    assert multi_label_loss(logits, labels, weights) > multi_label_loss(logits, labels)


def test_positive_weights_are_negative_to_positive_ratios_capped():
    labels = np.zeros((100, len(GENRES)))
    labels[:50, 0] = 1  # common: 50/50
    labels[:2, 1] = 1  # rare: 98/2 = 49, capped
    weights = positive_weights(labels, cap=10)
    assert weights[0].item() == pytest.approx(1.0) and weights[1].item() == pytest.approx(10.0)
    assert weights[2].item() == pytest.approx(10.0)  # never seen: capped, not infinite


def test_a_model_that_cannot_be_loaded_is_explained(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot load .*no-such-model"):
        build_model(str(tmp_path / "no-such-model"))
