"""Synopses in, genre probabilities out: the one scorer of predictor, batch CLI, train.py and `evaluate`.

    scores = score_synopses(model, tokenizer, texts, window=512, batch_size=8)
    scores.probabilities        # (len(texts), 20) sigmoid probabilities
    scores.windows              # how many windows each synopsis was read in

Step by step (train.py keeps the windows and the loader between epochs):

    windows = cut_into_windows(texts, tokenizer, window)
    loader = window_loader(windows, tokenizer, batch_size)         # accelerator.prepare(loader) shards it
    per_window = score_windows(model, loader, gather=accelerator.gather_for_metrics)
    probabilities = combine_windows(per_window, windows)

A synopsis longer than the model's window is read whole, not cut: it is split
into windows of `window` tokens, consecutive windows overlapping by a quarter of
a window so that a sentence cut at one window's edge is read whole in the next.
Each window is scored on its own and, per genre, the windows' probabilities are
combined by a rule (COMBINATION_RULES): their highest, their mean, or their mean
weighted by window length. train.py chooses the rule on validation and saves it
with the thresholds tuned for it; models saved without one use "max". README,
"Long synopses", has the measurements. Windows are sorted longest first and
batched, each batch padded only to its own longest window. Under several
processes the batches are dealt out to the processes and gathered back in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from genre_model.genres import GENRES

# How a synopsis's windows make one probability per genre; the first is the default, and
# the one train.py keeps when validation scores another no better.
COMBINATION_RULES = ("max", "mean", "length_weighted_mean")
COMBINATION_RULE = COMBINATION_RULES[0]


@dataclass(frozen=True)
class Windows:
    """Synopses cut into windows of token ids, sorted longest first; `owners[i]` is window i's synopsis."""

    inputs: list[dict[str, list[int]]]  # input_ids, attention_mask (and token_type_ids) of each window
    owners: np.ndarray
    synopses: int

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def per_synopsis(self) -> np.ndarray:
        """How many windows each synopsis was read in."""
        return np.bincount(self.owners, minlength=self.synopses)


@dataclass(frozen=True)
class Scores:
    probabilities: np.ndarray  # (synopses, len(GENRES)), GENRES order
    windows: np.ndarray  # windows per synopsis
    cut: Windows  # the windows themselves
    window_probabilities: np.ndarray  # (windows, len(GENRES)): what the rule combined, to try other rules on


def default_stride(window: int) -> int:
    """Tokens shared by consecutive windows: a quarter of the window."""
    return window // 4


def cut_into_windows(texts: Sequence[str], tokenizer, window: int, stride: int | None = None) -> Windows:
    """Every synopsis as windows of at most `window` tokens (special tokens included), overlapping by `stride`."""
    stride = default_stride(window) if stride is None else stride
    if not 0 <= stride < window - tokenizer.num_special_tokens_to_add():
        raise ValueError(f"stride {stride} must be smaller than the window ({window} tokens with special tokens)")
    if not texts:
        return Windows([], np.zeros(0, dtype=int), 0)
    encoded = tokenizer(list(texts), truncation=True, max_length=window, stride=stride, return_overflowing_tokens=True)
    names = [name for name in tokenizer.model_input_names if name in encoded]
    owners = np.asarray(encoded["overflow_to_sample_mapping"], dtype=int)
    # Longest first: if a batch does not fit in memory, the first one says so.
    order = sorted(range(len(owners)), key=lambda index: -len(encoded["input_ids"][index]))
    inputs = [{name: encoded[name][index] for name in names} for index in order]
    return Windows(inputs, owners[order], len(texts))


def window_loader(windows: Windows, tokenizer, batch_size: int, pad_to_multiple_of: int | None = None) -> DataLoader:
    """Batches of windows in `windows` order, each padded to its own longest window."""

    def pad(batch: list[dict]) -> dict[str, torch.Tensor]:
        return dict(tokenizer.pad(batch, pad_to_multiple_of=pad_to_multiple_of, return_tensors="pt"))

    return DataLoader(windows.inputs, batch_size=batch_size, shuffle=False, collate_fn=pad)


@torch.inference_mode()
def score_windows(
    model,
    loader: DataLoader,
    *,
    columns: Sequence[int] | None = None,
    device: torch.device | None = None,
    gather: Callable | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Sigmoid probabilities of every window of `loader`, in its order.

    columns: the model's output column of each genre in GENRES order (None: the
    model's labels are in GENRES order). device: where to move each batch (None:
    the loader places them, as accelerate's does). gather: collects a batch's
    logits from every process (accelerator.gather_for_metrics, which also drops
    the rows repeated to even out the last batch).
    """
    training = getattr(model, "training", False)
    if training:
        model.eval()
    probabilities = []
    for batch in tqdm(loader, desc="scoring", unit="batch", disable=not progress):
        if device is not None:
            batch = {name: tensor.to(device) for name, tensor in batch.items()}
        logits = model(**batch).logits
        if gather is not None:
            logits = gather(logits)
        # sigmoid in fp32: half-precision probabilities round off near 0 and 1
        probabilities.append(torch.sigmoid(logits.float()).cpu().numpy())
    if training:
        model.train()
    scores = np.concatenate(probabilities) if probabilities else np.zeros((0, len(GENRES)), dtype=np.float32)
    return scores if columns is None else scores[:, list(columns)]


def combine_windows(window_probabilities: np.ndarray, windows: Windows, rule: str = COMBINATION_RULE) -> np.ndarray:
    """One probability per synopsis and genre from its windows' probabilities."""
    combined = np.zeros((windows.synopses, window_probabilities.shape[1]), dtype=np.float64)
    if rule == "max":
        # A genre evident in any part of the plot (a war that breaks out only in the last act) is a genre of the film.
        np.maximum.at(combined, windows.owners, window_probabilities)
        return combined.astype(np.float32)
    if rule not in COMBINATION_RULES:
        raise ValueError(f"unknown rule {rule!r} for combining windows; known: {', '.join(COMBINATION_RULES)}")
    weights = np.ones(len(windows), dtype=np.float64)
    if rule == "length_weighted_mean":  # the last window of a synopsis is often a short remainder
        weights = np.array([len(window["input_ids"]) for window in windows.inputs], dtype=np.float64)
    np.add.at(combined, windows.owners, window_probabilities * weights[:, None])
    totals = np.bincount(windows.owners, weights=weights, minlength=windows.synopses)
    return (combined / np.maximum(totals, 1e-12)[:, None]).astype(np.float32)


def score_synopses(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    window: int,
    batch_size: int,
    stride: int | None = None,
    rule: str = COMBINATION_RULE,
    columns: Sequence[int] | None = None,
    device: torch.device | None = None,
    accelerator=None,
    progress: bool = False,
) -> Scores:
    """Probabilities of whole synopses, however long; with `accelerator`, the windows are shared among its processes
    and every process gets all the scores back, in order."""
    windows = cut_into_windows(texts, tokenizer, window, stride)
    pad_to = 8 if device is not None and device.type == "cuda" else None  # tensor cores like multiples of 8
    loader = window_loader(windows, tokenizer, batch_size, pad_to)
    gather = None
    if accelerator is not None:
        loader, gather, device = accelerator.prepare_data_loader(loader), accelerator.gather_for_metrics, None
    per_window = score_windows(model, loader, columns=columns, device=device, gather=gather, progress=progress)
    return Scores(combine_windows(per_window, windows, rule), windows.per_synopsis, windows, per_window)
