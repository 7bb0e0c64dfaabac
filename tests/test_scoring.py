"""genre_model.scoring: long synopses read whole in windows, combined per genre, in the order given."""

import numpy as np
import pytest
from transformers import AutoTokenizer

from genre_model.scoring import COMBINATION_RULES, combine_windows, cut_into_windows, window_loader

from helpers import read_corpus

SYNOPSES = [row["synopsis"] for row in read_corpus(limit=30)]


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder):
    return AutoTokenizer.from_pretrained(tiny_encoder)


def test_windows_cover_every_token_once_at_least_and_overlap_by_the_stride(tokenizer):
    windows = cut_into_windows(SYNOPSES, tokenizer, window=48)
    assert windows.synopses == len(SYNOPSES) and windows.per_synopsis.min() >= 1 and windows.per_synopsis.max() > 2
    lengths = [len(window["input_ids"]) for window in windows.inputs]
    assert lengths == sorted(lengths, reverse=True) and max(lengths) <= 48
    # the pieces of one synopsis, in reading order, give back its whole text (the overlaps removed)
    first = [window["input_ids"][1:-1] for window, owner in zip(windows.inputs, windows.owners) if owner == 0]
    whole = tokenizer(SYNOPSES[0], add_special_tokens=False)["input_ids"]
    assert sum(len(piece) for piece in first) - (len(first) - 1) * (48 // 4) == len(whole)


def test_batches_keep_the_window_order_and_pad_only_to_their_longest(tokenizer):
    windows = cut_into_windows(SYNOPSES, tokenizer, window=48)
    batches = list(window_loader(windows, tokenizer, batch_size=7))
    unpadded = [
        [token for token, kept in zip(row, mask) if kept]
        for batch in batches
        for row, mask in zip(batch["input_ids"].tolist(), batch["attention_mask"].tolist())
    ]
    assert unpadded == [window["input_ids"] for window in windows.inputs]
    assert all(batch["input_ids"].shape[1] == max(batch["attention_mask"].sum(1)) for batch in batches)


def test_each_rule_combines_a_synopsis_s_windows_into_one_score_per_genre(tokenizer):
    windows = cut_into_windows(SYNOPSES[:2], tokenizer, window=48)
    rng = np.random.default_rng(0)
    per_window = rng.random((len(windows), 20)).astype(np.float32)
    mine = windows.owners == 1
    lengths = np.array([len(window["input_ids"]) for window in windows.inputs])[mine]
    expected = {
        "max": per_window[mine].max(axis=0),
        "mean": per_window[mine].mean(axis=0),
        "length_weighted_mean": (per_window[mine] * lengths[:, None]).sum(0) / lengths.sum(),
    }
    assert set(expected) == set(COMBINATION_RULES)
    for rule, scores in expected.items():
        np.testing.assert_allclose(combine_windows(per_window, windows, rule)[1], scores, rtol=1e-5, err_msg=rule)
    with pytest.raises(ValueError, match="unknown rule"):
        combine_windows(per_window, windows, "median")


def test_a_stride_as_long_as_the_window_is_refused(tokenizer):
    with pytest.raises(ValueError, match="stride"):
        cut_into_windows(SYNOPSES, tokenizer, window=48, stride=46)
