"""The fast CPU path: int8 Linear layers, used only where they agree with full precision.

    fast_model = quantize(model)
    agreement = compare(full_probabilities, fast_probabilities, thresholds)
    agreement.accepted      # identical genres on >= 99 % of synopses and every score within 0.02

GenrePredictor.load (genre_model.predict) runs both models over the example
corpus, keeps int8 only when `compare` accepts it, and says which it chose in
`info()`. The verdict is cached per model, tokenizer, thresholds, corpus and
torch version, so the check costs once per model and machine, not every start.

Why dynamic int8: a bert-base-sized encoder spends nearly all of its CPU time
in Linear layers, and int8 weights and activations there run about twice as
fast on AVX2 (benchmarks/predict_speed.py). Why the check: the noise int8 adds
is small next to what a trained model outputs, but a model whose scores sit
close to its thresholds (random weights, an under-trained run) flips decisions.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from genre_model.metrics import Thresholds

METHOD = "quantize_dynamic-qint8-per-channel-encoder-linear"  # part of the cache key: a new method measures anew
MIN_IDENTICAL_DECISIONS = 0.99  # share of synopses whose chosen genres must be identical
MAX_SCORE_DIFFERENCE = 0.02  # largest allowed probability difference, any synopsis, any genre


# Linear layers left in fp32: they run once per window, not once per token, so int8 would save
# nothing there, while their errors would go straight into the scores.
HEAD_LAYERS = ("pooler", "classifier")


def quantize(model: torch.nn.Module) -> torch.nn.Module:
    """An int8 copy of `model`: the encoder's Linear layers dynamically quantised, with a scale per output channel.

    Per-channel scales follow each output row's own range; on a random
    bert-base-sized model they flipped fewer decisions than one scale per
    tensor, at no cost in speed.
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layers = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
              if isinstance(module, torch.nn.Linear) and not any(part in name.split(".") for part in HEAD_LAYERS)}
    with warnings.catch_warnings():
        # torch announces the move of this API to torchao; we accept it only after measuring it against fp32 anyway
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        return quantize_dynamic(model, layers, dtype=torch.qint8, inplace=False)


@dataclass(frozen=True)
class Agreement:
    """How closely int8 followed full precision on a corpus."""

    synopses: int
    identical_decisions: float  # share of synopses with exactly the same chosen genres
    max_score_difference: float

    @property
    def accepted(self) -> bool:
        return self.synopses > 0 and self.identical_decisions >= MIN_IDENTICAL_DECISIONS and self.max_score_difference <= MAX_SCORE_DIFFERENCE

    def describe(self) -> str:
        measured = (
            f"identical genres on {self.identical_decisions:.1%} of {self.synopses} synopses, "
            f"scores within {self.max_score_difference:.4f}"
        )
        if self.accepted:
            return f"int8 agrees with fp32 ({measured})"
        return (
            f"int8 rejected, using fp32: {measured}; needs identical genres on at least "
            f"{MIN_IDENTICAL_DECISIONS:.0%} and scores within {MAX_SCORE_DIFFERENCE}"
        )


def compare(full: np.ndarray, fast: np.ndarray, thresholds: Thresholds) -> Agreement:
    """Agreement of two (synopses, genres) probability arrays under the same thresholds."""
    full, fast = np.asarray(full, dtype=np.float64), np.asarray(fast, dtype=np.float64)
    if full.shape != fast.shape:
        raise ValueError(f"probability arrays differ in shape: {full.shape} and {fast.shape}")
    if len(full) == 0:
        return Agreement(0, 0.0, 0.0)
    same = np.all(thresholds.decide(full) == thresholds.decide(fast), axis=1)
    return Agreement(synopses=len(full), identical_decisions=float(same.mean()), max_score_difference=float(np.abs(full - fast).max()))


def cache_key(model: torch.nn.Module, *parts: object) -> str:
    """A digest of the weights and of everything else (tokenizer, thresholds, corpus) the verdict depends on."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (METHOD, torch.__version__, *parts):
        digest.update(repr(part).encode("utf-8"))
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode("utf-8"))
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    return Path(os.environ.get("GENRE_MODEL_CACHE") or Path.home() / ".cache" / "genre_model")


def load_verdict(key: str, cache_dir: str | Path | None = None) -> Agreement | None:
    path = Path(cache_dir or default_cache_dir()) / "fast_cpu" / f"{key}.json"
    try:
        return Agreement(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # no verdict yet, or an unreadable one: measure again


def store_verdict(key: str, agreement: Agreement, cache_dir: str | Path | None = None) -> None:
    folder = Path(cache_dir or default_cache_dir()) / "fast_cpu"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{key}.json.{os.getpid()}"
        partial.write_text(json.dumps(asdict(agreement)), encoding="utf-8")
        partial.replace(folder / f"{key}.json")  # atomic: processes checking at once never read half a file
    except OSError:
        pass  # a read-only home only costs a new measurement next time
