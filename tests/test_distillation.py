"""genre_model.distillation: the targets and fragments an encoder learns from when the TF-IDF baseline teaches it."""

import numpy as np
import pytest
from datasets import Dataset

from genre_model.baselines import out_of_fold_probabilities
from genre_model.distillation import distilled_rows, sentence_fragments, sentences
from genre_model.genres import to_multi_hot
from genre_model.inputs import MIN_CHARS, synopsis_length

from helpers import read_corpus


@pytest.fixture(scope="module")
def corpus_rows():
    rows = read_corpus(limit=120)
    return Dataset.from_dict(
        {
            "text": [row["synopsis"] for row in rows],
            "labels": [to_multi_hot(row["genres"]) for row in rows],
            "row_id": [row["id"] for row in rows],
        }
    )


def test_fragments_are_distinct_runs_of_at_most_half_the_sentences():
    text = (
        "형사는 항구로 돌아온다. 조카가 조직에 끌려갔다! 그는 다시 총을 든다? "
        "밤마다 불이 꺼지지 않는 컨테이너가 있다. 결국 모든 것이 드러난다."
    )
    parts = sentences(text)
    assert len(parts) == 5
    fragments = sentence_fragments(text, 3, np.random.default_rng(0))
    assert len(fragments) == len(set(fragments)) == 3
    for fragment in fragments:
        assert fragment in text and 1 <= len(sentences(fragment)) <= 2 and synopsis_length(fragment) >= MIN_CHARS
    assert sentence_fragments("한 문장으로만 된 아주 긴 줄거리가 여기에 있다.", 3, np.random.default_rng(0)) == []
    assert len(sentence_fragments(text, 100, np.random.default_rng(0))) < 100  # no more than there are


def test_distilled_rows_blend_labels_with_the_out_of_fold_baseline_and_add_fragments(corpus_rows):
    labels = np.asarray(corpus_rows["labels"])
    rows = distilled_rows(corpus_rows, labels, 0.9, 2, seed=0)
    synopses = len(corpus_rows)
    expected = 0.1 * labels + 0.9 * out_of_fold_probabilities(list(corpus_rows["text"]), labels, seed=0)
    np.testing.assert_allclose(np.asarray(rows["labels"][:synopses]), expected, atol=1e-6)
    assert rows["text"][:synopses] == corpus_rows["text"]
    fragments = rows.select(range(synopses, len(rows)))
    assert synopses < len(fragments) <= 2 * synopses
    by_id = dict(zip(corpus_rows["row_id"], zip(corpus_rows["text"], labels)))
    for fragment in fragments:
        text, true = by_id[fragment["row_id"]]
        assert fragment["text"] in text and len(fragment["text"]) < len(text)
        # a fragment keeps a tenth of its synopsis's labels; the rest is what the baseline reads in it
        assert np.all(np.asarray(fragment["labels"]) >= 0.1 * true - 1e-6)
    assert len(distilled_rows(corpus_rows, labels, 0.9, 0, seed=0)) == synopses
    assert distilled_rows(corpus_rows, labels, 0.9, 2, seed=0)["text"] == rows["text"]  # reproducible
