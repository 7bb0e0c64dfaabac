"""What an encoder learns from when the TF-IDF baseline teaches it (train.py --baseline_distillation).

    rows = distilled_rows(train_rows, labels, weight=0.9, fragments=2, seed=42)

Every training synopsis learns (1 - weight) * its labels + weight * the
baseline's out-of-fold probabilities (genre_model.baselines: each synopsis is
judged by a baseline fitted on the other folds, as unseen text). Why: an
encoder learnt from a few thousand synopses drives its scores to 0 and 1 on
them and leans on the few words that separate them; the baseline's
out-of-fold probabilities say how strongly all the words of each synopsis
point to each genre, as a model that never read it judges. With
`fragments`, each synopsis also lends that many runs of its consecutive
sentences as training rows of their own, whose targets blend the synopsis's
labels with what the same out-of-fold baseline reads in the fragment alone.

Why fragments: real sources often publish a two-sentence overview where the
corpus has a paragraph; a fragment shows the encoder shorter text and how much
of each genre survives in it, with the teacher's graded judgement rather than
the whole film's labels. Training-side only.
"""

from __future__ import annotations

import re

import numpy as np
from datasets import Dataset, concatenate_datasets

from genre_model.baselines import out_of_fold_scores
from genre_model.inputs import MIN_CHARS, synopsis_length

# Korean synopses end their sentences with ".", "!" or "?" (다. 까? 라!) followed by a space or line break.
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    return [sentence for sentence in SENTENCE_BREAK.split(text.strip()) if sentence]


def sentence_fragments(text: str, count: int, rng: np.random.Generator) -> list[str]:
    """Up to `count` distinct runs of consecutive sentences of `text`, each shorter than the whole (at most half of
    its sentences) and at least MIN_CHARS long; none for a synopsis of fewer than two sentences."""
    parts = sentences(text)
    longest = len(parts) // 2
    if longest < 1:
        return []
    candidates = [
        " ".join(parts[start : start + size])
        for size in range(1, longest + 1)
        for start in range(len(parts) - size + 1)
    ]
    usable = [fragment for fragment in candidates if synopsis_length(fragment) >= MIN_CHARS]
    chosen = rng.permutation(len(usable))[:count]
    return [usable[index] for index in sorted(chosen)]


def distilled_rows(train_rows: Dataset, labels: np.ndarray, weight: float, fragments: int, seed: int) -> Dataset:
    """`train_rows` with distilled targets, followed by `fragments` fragment rows per synopsis (see the module)."""
    texts = list(train_rows["text"])
    rng = np.random.default_rng(seed)
    pieces = [
        (row, fragment) for row, text in enumerate(texts) for fragment in sentence_fragments(text, fragments, rng)
    ]
    scores = out_of_fold_scores(texts, labels, [*enumerate(texts), *pieces], seed=seed)
    targets = (1 - weight) * labels + weight * scores[: len(texts)]
    rows = train_rows.remove_columns("labels").add_column("labels", targets.astype(np.float32).tolist())
    if not pieces:
        return rows
    owners = [row for row, _ in pieces]
    fragment_targets = (1 - weight) * labels[owners] + weight * scores[len(texts) :]
    fragment_rows = (
        train_rows.select(owners)
        .remove_columns(["text", "labels"])
        .add_column("text", [fragment for _, fragment in pieces])
        .add_column("labels", fragment_targets.astype(np.float32).tolist())
    )
    return concatenate_datasets([rows, fragment_rows.cast(rows.features)])
