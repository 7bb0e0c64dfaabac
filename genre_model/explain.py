"""Which words pushed a genre up or down: integrated gradients on the embedding layer, word by word.

    explanation = explain(predictor, synopsis, "스릴러")
    explanation.words        # [("부산", 0.12), ("감천항,", -0.03), ...]: every word as written, in order
    explanation.top(5)       # the five words that pushed the genre up most

Method: Captum's LayerIntegratedGradients on the model's input embeddings
(Sundararajan et al., 2017), for the genre's logit. The baseline keeps [CLS]
and [SEP] and replaces every other token by [PAD], so a window's attributions
add up to its logit minus the logit of an empty window (Captum reports how
far the numerical integral is from that: the convergence delta). Long
synopses are explained over every window, as they are scored; a word inside
the overlap of two windows gets the mean of its two attributions. WordPiece
pieces are summed back into the words as written (어절, separated by white
space), so "감천항에서" is one word, not "감천 ##항 ##에서".

The number of integration steps and the internal batch size are the values
benchmarks/explain_speed.py measured (see STEPS); a window whose integral is
still off by more than TOLERANCE is integrated again with more steps. Explanations always run on the predictor's own
torch weights, never on an int8 or ONNX Runtime copy, which has no gradients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from genre_model.genres import GENRES
from genre_model.scoring import Windows, combine_windows

# Integration steps (Gauss-Legendre): benchmarks/explain_speed.py measured |delta| relative to
# |logit - baseline logit| on the earlier [CLS]-reading BERT demo model: median 0.05 at 8 steps, 0.005 at 16,
# 0.0002 at 32 (at twice the cost of 16). 16 keeps most windows within TOLERANCE; the rest, where the model's
# output bends sharply along the path (a tenth of that model's synopses), are integrated again with twice the
# steps, then four times, up to MAX_STEPS, so an explanation is exact enough without paying 64 steps for every
# window. (The mean-reading ModernBERT demo models are smooth: 16 steps leave a median of 0.0002 or less.)
STEPS = 16
MAX_STEPS = 128
TOLERANCE = 0.05  # of the window's logit difference, counted as at least 1 so that a near-zero one is not chased
# Interpolated inputs per forward pass: all steps of a window at once; 4 and 64 measured within 10 % on CPU,
# and a smaller batch bounds the memory of a large model's backward pass.
INTERNAL_BATCH_SIZE = 16
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Explanation:
    genre: str
    probability: float  # the synopsis's probability of the genre, as the predictor scores it
    words: list[tuple[str, float]]  # every word as written, in order, with how much it pushed the genre's logit
    windows: int
    convergence_delta: float  # the largest |sum of attributions - logit difference| over the windows
    steps: int  # integration steps of the window that needed the most

    def top(self, count: int) -> list[tuple[str, float]]:
        """The `count` words that pushed the genre up most."""
        return sorted(self.words, key=lambda pair: -pair[1])[:count]


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words (runs of non-space characters) of `text`."""
    return [match.span() for match in _WORD.finditer(text)]


def explain(
    predictor,
    text: str,
    genre: str,
    *,
    steps: int = STEPS,
    max_steps: int = MAX_STEPS,
    internal_batch_size: int = INTERNAL_BATCH_SIZE,
) -> Explanation:
    """How much each word of `text` pushed `genre` (one of GENRES) up or down, for `predictor`'s model.

    Each window is integrated with `steps` steps, and again with twice as many while its convergence delta
    exceeds TOLERANCE of its logit difference and `max_steps` allows (`max_steps=steps`: exactly `steps`).
    """
    from captum.attr import LayerIntegratedGradients

    if genre not in GENRES:
        raise ValueError(f"unknown genre {genre!r}; known: {', '.join(GENRES)}")
    model, tokenizer = predictor.network, predictor.tokenizer
    column = predictor.columns[GENRES.index(genre)]
    encoded = tokenizer(
        text,
        truncation=True,
        max_length=predictor.window,
        stride=predictor.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    windows = len(encoded["input_ids"])
    ids, mask = _padded(encoded["input_ids"], tokenizer.pad_token_id, model.device)
    baseline = _empty_windows(ids, mask, tokenizer)

    def genre_logit(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return model(input_ids=input_ids, attention_mask=attention_mask).logits[:, column].float()

    with torch.inference_mode():
        logits, empty_logits = genre_logit(ids, mask), genre_logit(baseline, mask)
    allowed = (TOLERANCE * (logits - empty_logits).abs().clamp(min=1.0)).cpu()
    integrated = LayerIntegratedGradients(genre_logit, model.get_input_embeddings())
    per_token, deltas = np.zeros(tuple(ids.shape)), np.zeros(windows)
    pending, used = torch.arange(windows), steps
    while True:
        rows = pending.to(ids.device)
        attributions, delta = integrated.attribute(
            inputs=ids[rows],
            baselines=baseline[rows],
            additional_forward_args=(mask[rows],),
            n_steps=used,
            internal_batch_size=internal_batch_size,
            return_convergence_delta=True,
        )
        per_token[pending.numpy()] = (attributions.sum(dim=-1) * mask[rows]).detach().float().cpu().numpy()
        delta = delta.detach().abs().float().cpu()
        deltas[pending.numpy()] = delta.numpy()
        pending = pending[delta > allowed[pending]]
        if len(pending) == 0 or used * 2 > max_steps:
            break
        used *= 2
    # the synopsis's probability as the predictor serves it: the windows' combined by the model's rule
    cut = Windows([{"input_ids": window} for window in encoded["input_ids"]], np.zeros(windows, dtype=int), 1)
    per_window = torch.sigmoid(logits).cpu().numpy()[:, None]
    probability = float(combine_windows(per_window, cut, predictor.thresholds.window_rule)[0, 0])
    words = _words_of(text, encoded["offset_mapping"], encoded.sequence_ids, per_token)
    return Explanation(genre, probability, words, windows, float(deltas.max()), used)


def _padded(windows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(map(len, windows))
    ids = torch.full((len(windows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), length), dtype=torch.long)
    for row, window in enumerate(windows):
        ids[row, : len(window)] = torch.tensor(window)
        mask[row, : len(window)] = 1
    return ids.to(device), mask.to(device)


def _empty_windows(ids: torch.Tensor, mask: torch.Tensor, tokenizer) -> torch.Tensor:
    """The baseline: each window with every token but the special ones replaced by [PAD]."""
    special = torch.tensor(tokenizer.all_special_ids, device=ids.device)
    return torch.where(torch.isin(ids, special) | (mask == 0), ids, torch.full_like(ids, tokenizer.pad_token_id))


def _words_of(text: str, offsets: list, sequence_ids, per_token: np.ndarray) -> list[tuple[str, float]]:
    """Token attributions summed into the words of `text`; averaged over the windows that hold a word."""
    spans = word_spans(text)
    starts = np.array([start for start, _ in spans])
    totals, seen = np.zeros(len(spans)), np.zeros(len(spans))
    for window, window_offsets in enumerate(offsets):
        in_window = np.zeros(len(spans), dtype=bool)
        for position, (start, end) in enumerate(window_offsets):
            if sequence_ids(window)[position] is None or end <= start:
                continue  # [CLS], [SEP], padding
            word = int(np.searchsorted(starts, start, side="right")) - 1
            totals[word] += per_token[window, position]
            in_window[word] = True
        seen += in_window
    return [(text[start:end], float(total / max(count, 1))) for (start, end), total, count in zip(spans, totals, seen)]
