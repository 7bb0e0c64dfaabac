"""genre_model.explain: attributions that add up, cover long synopses and mean something on the shipped demo model."""

import numpy as np
import pytest

from genre_model.explain import explain, word_spans
from genre_model.genres import GENRES
from genre_model.predict import GenrePredictor

from helpers import PROJECT_ROOT, read_corpus

DELETED_WORDS = 3


@pytest.fixture(scope="module")
def demo() -> GenrePredictor:
    return GenrePredictor.load(PROJECT_ROOT / "demo_model", device="cpu", fast_cpu=False)


def without(text: str, doomed: set[int]) -> str:
    return " ".join(text[start:end] for index, (start, end) in enumerate(word_spans(text)) if index not in doomed)


def test_deleting_the_top_words_lowers_the_genre_far_more_than_deleting_random_words(demo):
    rng = np.random.default_rng(0)
    synopses = [row["synopsis"] for row in read_corpus()[::100][:30]]
    top_drops, random_drops = [], []
    for text in synopses:
        genre = demo.predict([text])[0].ranked[0][0]
        explanation = explain(demo, text, genre)
        scores = np.array([score for _, score in explanation.words])
        top = set(np.argsort(-scores)[:DELETED_WORDS].tolist())
        random_sets = [set(rng.choice(len(scores), DELETED_WORDS, replace=False).tolist()) for _ in range(3)]
        edited = [without(text, top)] + [without(text, chosen) for chosen in random_sets]
        after = demo.probabilities(edited)[:, GENRES.index(genre)]
        top_drops.append(explanation.probability - after[0])
        random_drops.append(explanation.probability - after[1:].mean())
    top_mean, random_mean = float(np.mean(top_drops)), float(np.mean(random_drops))
    message = f"top genre's mean drop: top-{DELETED_WORDS} words deleted {top_mean:.3f}, random words {random_mean:.3f}"
    print(message)
    assert top_mean > 0.02 and top_mean > 3 * max(random_mean, 0.0), message


def test_a_window_s_attributions_add_up_to_its_logit_difference(demo):
    import torch

    text = read_corpus(limit=1)[0]["synopsis"]
    explanation = explain(demo, text, "액션")
    action = demo.columns[GENRES.index("액션")]
    assert explanation.windows == 1
    encoded = demo.tokenizer(text, return_tensors="pt")
    empty = encoded["input_ids"].clone()
    empty[0, 1:-1] = demo.tokenizer.pad_token_id
    with torch.inference_mode():
        logits = [
            demo.network(input_ids=ids, attention_mask=encoded["attention_mask"]).logits[0, action].item()
            for ids in (encoded["input_ids"], empty)
        ]
    total = sum(score for _, score in explanation.words)
    # Captum's convergence delta is the integral's error: the sum misses the logit difference by no more than it
    assert total == pytest.approx(logits[0] - logits[1], abs=explanation.convergence_delta + 1e-4)
    assert explanation.convergence_delta < 0.05 * abs(logits[0] - logits[1]), explanation


def test_windows_whose_integral_is_off_are_integrated_again_with_more_steps(demo):
    # 2 steps leave most integrals far off on any trained model; refinement doubles them until they are close
    synopses = [row["synopsis"] for row in read_corpus(limit=8)]
    refined = 0
    for text in synopses:
        genre = demo.predict([text])[0].ranked[0][0]
        fixed, adaptive = explain(demo, text, genre, steps=2, max_steps=2), explain(demo, text, genre, steps=2)
        assert fixed.steps == 2
        assert adaptive.convergence_delta <= fixed.convergence_delta + 1e-6, (fixed, adaptive)
        refined += adaptive.steps > 2
    assert refined > 0


def test_every_word_is_kept_as_written_and_in_order(demo):
    text = read_corpus(limit=3)[2]["synopsis"]
    explanation = explain(demo, text, "드라마")
    assert [word for word, _ in explanation.words] == text.split()
    assert explanation.top(2) == sorted(explanation.words, key=lambda pair: -pair[1])[:2]


def test_a_long_synopsis_is_explained_over_every_window(demo):
    long_text = " ".join(row["synopsis"] for row in read_corpus(limit=8))
    explanation = explain(demo, long_text, "드라마")
    assert explanation.windows > 1 and len(explanation.words) == len(long_text.split())
    # the last words, beyond the first window, get attributions too
    assert any(score != 0 for _, score in explanation.words[-20:])
    assert explanation.probability == pytest.approx(
        demo.probabilities([long_text])[0][GENRES.index("드라마")], abs=1e-4
    )


def test_an_unknown_genre_is_refused(demo):
    with pytest.raises(ValueError, match="unknown genre"):
        explain(demo, read_corpus(limit=1)[0]["synopsis"], "무협")
