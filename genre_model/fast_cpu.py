"""The fast CPU paths: int8 Linear layers, or the fp32 graph run by ONNX Runtime; used only where it agrees with fp32.

    fast_model = build("int8", model, tokenizer, window, cache_file)   # or "onnxruntime"
    agreement = compare("int8", full_probabilities, fast_probabilities, thresholds)
    agreement.accepted      # identical genres on >= 99 % of synopses and every score within 0.02

GenrePredictor.load (genre_model.predict) tries the PATHS in order, fastest
first: it runs fp32 and the path over the example corpus and keeps the first
path that `compare` accepts; `info()` says what it chose and why. Verdicts (and
the exported ONNX graph) are cached per model, tokenizer, thresholds, corpus and
library versions, so the check costs once per model and machine, not every start.

Why these two. A bert-base-sized encoder spends nearly all of its CPU time in
Linear layers: dynamic int8 weights and activations there run about 2.5x as
fast as ONNX Runtime's fp32 (benchmarks/predict_speed.py prints both), but add
noise that flips decisions of a model whose scores sit close to its thresholds
(random weights, an under-trained run). ONNX Runtime runs the same fp32
arithmetic as torch (scores within ~1e-6) with less per-call overhead: the
speed-up for models int8 is not safe for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from genre_model.model_folder import Thresholds

PATHS = ("int8", "onnxruntime")  # fastest first: the first one that agrees is used
PRECISIONS = {"int8": "int8", "onnxruntime": "fp32 (ONNX Runtime)"}  # what info() and the app show
MIN_IDENTICAL_DECISIONS = 0.99  # share of synopses whose chosen genres must be identical
MAX_SCORE_DIFFERENCE = 0.02  # largest allowed probability difference, any synopsis, any genre

# Part of the cache key: a new method or library version measures anew.
METHODS = (
    "int8: quantize_dynamic-qint8-per-channel-encoder-linear",
    f"onnxruntime: torch.onnx.export(dynamo) opset-default, onnxruntime {version('onnxruntime')} ORT_ENABLE_ALL",
)

# Linear layers left in fp32: they run once per window, not once per token, so int8 would save
# nothing there, while their errors would go straight into the scores (BERT: pooler; ModernBERT: head).
HEAD_LAYERS = ("pooler", "head", "classifier")


class FastPathError(Exception):
    """A fast path cannot be built for this model (an architecture the ONNX exporter does not cover, say)."""


def quantize(model: torch.nn.Module) -> torch.nn.Module:
    """An int8 copy of `model`: the encoder's Linear layers dynamically quantised, with a scale per output channel.

    Per-channel scales follow each output row's own range; on a random
    bert-base-sized model they flipped fewer decisions than one scale per
    tensor, at no cost in speed.
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layers = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not any(part in name.split(".") for part in HEAD_LAYERS)
    }
    with warnings.catch_warnings():
        # torch announces the move of this API to torchao; we accept it only after measuring it against fp32 anyway
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        return quantize_dynamic(model, layers, dtype=torch.qint8, inplace=False)


class OnnxRuntimeModel:
    """An exported sequence classifier run by ONNX Runtime, called like the transformers model it came from.

    `model(**batch).logits` works as with the torch model, so the predictor's
    batching and windowing code serves both.
    """

    def __init__(self, file: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = (
            torch.get_num_threads()
        )  # the same thread budget torch was given (OMP_NUM_THREADS)
        self.session = onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
        self.input_names = [node.name for node in self.session.get_inputs()]

    def __call__(self, **batch: torch.Tensor) -> SimpleNamespace:
        [logits] = self.session.run(["logits"], {name: batch[name].numpy() for name in self.input_names})
        return SimpleNamespace(logits=torch.from_numpy(logits))


def export_onnx(model: torch.nn.Module, tokenizer, window: int, file: Path) -> None:
    """Write `model` as an ONNX graph with any batch size and any length up to `window` tokens."""
    # Two rows of different lengths: an example of size 1 would be fixed into the graph as a constant.
    example = dict(tokenizer(["가나다라 마바사", "아자차카 타파하 가나다라 마바사"], padding=True, return_tensors="pt"))
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=window)
    partial = file.with_name(f"{file.name}.{os.getpid()}.partial")
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(
        logging.ERROR
    )  # it logs a line for each torchvision operator it cannot find: noise for a text model
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model.eval(),
                (),
                kwargs=example,
                input_names=list(example),
                output_names=["logits"],
                dynamic_shapes={name: {0: batch, 1: length} for name in example},
                dynamo=True,
                verbose=False,
            )
        program.save(str(partial), external_data=False)  # one file, so the rename below is atomic
        partial.replace(file)  # processes exporting at once never read half a graph
    finally:
        exporter_log.setLevel(level)
        partial.unlink(missing_ok=True)


def build(path: str, model: torch.nn.Module, tokenizer, window: int, onnx_file: Path) -> object:
    """The fast version of `model` on `path` ("int8" or "onnxruntime"); the fp32 model itself is left untouched.

    For ONNX Runtime the graph is exported to `onnx_file` unless it is already there.
    """
    if path == "int8":
        return quantize(model)
    if path != "onnxruntime":
        raise ValueError(f"unknown fast CPU path {path!r}; known: {', '.join(PATHS)}")
    try:
        if not onnx_file.is_file():
            onnx_file.parent.mkdir(parents=True, exist_ok=True)
            export_onnx(model, tokenizer, window, onnx_file)
        return OnnxRuntimeModel(onnx_file)
    # Any failure of the exporter or runtime (an unsupported architecture, a full disk) only means
    # this model runs in torch: it must never stop the model from loading.
    except Exception as error:
        first_line = next(iter(str(error).strip().splitlines()), "")
        raise FastPathError(f"{type(error).__name__}: {first_line}") from error


@dataclass(frozen=True)
class Agreement:
    """How closely a fast path followed full precision on a corpus."""

    path: str  # one of PATHS
    synopses: int
    identical_decisions: float  # share of synopses with exactly the same chosen genres
    max_score_difference: float

    @property
    def accepted(self) -> bool:
        return (
            self.synopses > 0
            and self.identical_decisions >= MIN_IDENTICAL_DECISIONS
            and self.max_score_difference <= MAX_SCORE_DIFFERENCE
        )

    def describe(self) -> str:
        measured = (
            f"identical genres on {self.identical_decisions:.1%} of {self.synopses} synopses, "
            f"scores within {self.max_score_difference:.4f}"
        )
        if self.accepted:
            return f"{self.path} agrees with fp32 ({measured})"
        return (
            f"{self.path} rejected ({measured}; needs identical genres on at least "
            f"{MIN_IDENTICAL_DECISIONS:.0%} and scores within {MAX_SCORE_DIFFERENCE})"
        )


def compare(path: str, full: np.ndarray, fast: np.ndarray, thresholds: Thresholds) -> Agreement:
    """Agreement of two (synopses, genres) probability arrays under the same thresholds."""
    full, fast = np.asarray(full, dtype=np.float64), np.asarray(fast, dtype=np.float64)
    if full.shape != fast.shape:
        raise ValueError(f"probability arrays differ in shape: {full.shape} and {fast.shape}")
    if len(full) == 0:
        return Agreement(path, 0, 0.0, 0.0)
    same = np.all(thresholds.decide(full) == thresholds.decide(fast), axis=1)
    return Agreement(
        path,
        synopses=len(full),
        identical_decisions=float(same.mean()),
        max_score_difference=float(np.abs(full - fast).max()),
    )


def cache_key(model: torch.nn.Module, *parts: object) -> str:
    """A digest of the weights and of everything else (tokenizer, thresholds, corpus) the verdicts depend on."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (METHODS, torch.__version__, *parts):
        digest.update(repr(part).encode("utf-8"))
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode("utf-8"))
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    return Path(os.environ.get("GENRE_MODEL_CACHE") or Path.home() / ".cache" / "genre_model")


def cache_folder(cache_dir: str | Path | None = None) -> Path:
    """Where verdicts and exported graphs live: ~/.cache/genre_model/fast_cpu, or GENRE_MODEL_CACHE or `cache_dir`."""
    return Path(cache_dir or default_cache_dir()) / "fast_cpu"


def onnx_file(key: str, cache_dir: str | Path | None = None) -> Path:
    return cache_folder(cache_dir) / f"{key}.onnx"


def load_verdict(key: str, path: str, cache_dir: str | Path | None = None) -> Agreement | None:
    try:
        return Agreement(**json.loads((cache_folder(cache_dir) / f"{key}-{path}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # no verdict yet, or an unreadable one: measure again


def store_verdict(key: str, agreement: Agreement, cache_dir: str | Path | None = None) -> None:
    folder = cache_folder(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{key}-{agreement.path}.json.{os.getpid()}"
        partial.write_text(json.dumps(asdict(agreement)), encoding="utf-8")
        partial.replace(
            folder / f"{key}-{agreement.path}.json"
        )  # atomic: processes checking at once never read half a file
    except OSError:
        pass  # a read-only home only costs a new measurement next time
