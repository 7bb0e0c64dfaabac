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
benchmarks/explain_speed.py measured as the cheapest ones whose convergence
delta stays small (see STEPS). Explanations always run on the predictor's own
torch weights, never on an int8 or ONNX Runtime copy, which has no gradients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from genre_model.genres import GENRES

# Integration steps (Gauss-Legendre): benchmarks/explain_speed.py measured the mean |delta| relative to
# |logit - baseline logit| for 4, 8, 16, 32 steps; 16 keeps it small at half the cost of 32.
STEPS = 16
# Interpolated inputs per forward pass: all steps of a typical window at once, as measured fastest on CPU.
INTERNAL_BATCH_SIZE = 16
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Explanation:
    genre: str
    probability: float  # the synopsis's probability of the genre, as the predictor scores it
    words: list[tuple[str, float]]  # every word as written, in order, with how much it pushed the genre's logit
    windows: int
    convergence_delta: float  # the largest |sum of attributions - logit difference| over the windows

    def top(self, count: int) -> list[tuple[str, float]]:
        """The `count` words that pushed the genre up most."""
        return sorted(self.words, key=lambda pair: -pair[1])[:count]


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words (runs of non-space characters) of `text`."""
    return [match.span() for match in _WORD.finditer(text)]


def explain(
    predictor, text: str, genre: str, *, steps: int = STEPS, internal_batch_size: int = INTERNAL_BATCH_SIZE
) -> Explanation:
    """How much each word of `text` pushed `genre` (one of GENRES) up or down, for `predictor`'s model."""
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

    integrated = LayerIntegratedGradients(genre_logit, model.get_input_embeddings())
    attributions, delta = integrated.attribute(
        inputs=ids,
        baselines=baseline,
        additional_forward_args=(mask,),
        n_steps=steps,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    per_token = attributions.sum(dim=-1).detach().float().cpu().numpy() * mask.cpu().numpy()
    with torch.inference_mode():
        probability = float(torch.sigmoid(genre_logit(ids, mask)).max())
    words = _words_of(text, encoded["offset_mapping"], encoded.sequence_ids, per_token)
    return Explanation(genre, probability, words, windows, float(delta.abs().max()))


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
