"""Tag Korean synopses with genres: a trained model folder or Hub id in, ranked probabilities and chosen genres out.

Library:
    predictor = GenrePredictor.load("out/genre-bert")          # or a Hub id; device="auto", fast_cpu=True
    [prediction] = predictor.predict(["부산 감천항, 밤마다 …"])  # the model's tuned per-genre thresholds
    prediction.ranked       # all 20 (genre, probability), highest first
    prediction.chosen       # the genres whose probability reaches their threshold
    predictor.predict(texts, threshold=0.4)                    # one threshold for every genre instead
    predictor.info()        # model, device, precision, window, test scores from metrics.json

Batch files (CSV/TSV, JSON Lines, Parquet, or .txt with one synopsis per line), one process:
    python -m genre_model.predict --model out/genre-bert films.csv -o predictions.csv
Several processes (GPUs, or CPU processes where there is no GPU); the output keeps the input order:
    accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \\
        -m genre_model.predict --model out/genre-bert films.jsonl -o predictions.csv
The output is the input rows plus `predicted_genres`, `problem` (why a row was
not scored, see genre_model.inputs) and one `prob_<genre>` column per genre;
`--explain N` adds an `explanation` column with the N words that pushed each
chosen genre up most (genre_model.explain).

Scores come from genre_model.scoring, the scorer train.py evaluates with:
sigmoid(logits) in float32 whatever the model's precision, and synopses longer
than the model's window read whole, in overlapping windows. Serving side: this
module imports nothing from training (no datasets, scikit-learn or genre_model.data).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from genre_model import fast_cpu
from genre_model.corpus import EXAMPLE_CORPUS
from genre_model.errors import ArgumentError, ModelLoadError, run_command
from genre_model.fast_cpu import PATHS as FAST_CPU_PATHS  # `fast_cpu` is also GenrePredictor.load's switch
from genre_model.genres import GENRES
from genre_model.inputs import check_synopsis
from genre_model.model_folder import Thresholds, read_evaluations, read_metrics, read_thresholds
from genre_model.scoring import COMBINATION_RULES, Scores, default_stride, score_synopses
from genre_model.tables import Table, read_table

PRECISION_NAMES = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}
# Synopses of the example corpus a fast CPU path must agree on (evenly spread over it): enough
# that 99 % identical decisions means something, few enough that a bert-base check takes a minute or two.
AGREEMENT_SYNOPSES = 300


@dataclass(frozen=True)
class Prediction:
    """One synopsis's scores: every genre ranked, and the genres chosen under the thresholds used."""

    ranked: list[tuple[str, float]]  # all GENRES, highest probability first
    chosen: list[str]  # in ranked order
    chunks: int  # windows the synopsis was read in (1 unless it is longer than the model's window)
    cutoffs: dict[str, float]  # the probability each genre had to reach (its threshold, or a share of the top one)

    @property
    def probabilities(self) -> dict[str, float]:
        """Probabilities in GENRES order."""
        scores = dict(self.ranked)
        return {genre: scores[genre] for genre in GENRES}

    @property
    def nearest_miss(self) -> tuple[str, float, float] | None:
        """The unchosen genre nearest its threshold: (genre, probability, threshold); None when all are chosen."""
        missed = [(genre, probability) for genre, probability in self.ranked if genre not in self.chosen]
        if not missed:
            return None
        genre, probability = max(missed, key=lambda pair: pair[1] - self.cutoffs[pair[0]])
        return genre, probability, self.cutoffs[genre]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" is CUDA, then Apple MPS, then CPU; anything else is a torch device name, checked to exist here."""
    if str(device) != "auto":
        try:
            chosen = torch.device(device)
        except RuntimeError as error:
            raise ModelLoadError(f"unknown device {str(device)!r}: use auto, cpu, cuda, cuda:N or mps") from error
        missing_cuda = chosen.type == "cuda" and (
            not torch.cuda.is_available() or (chosen.index or 0) >= torch.cuda.device_count()
        )
        if missing_cuda or (chosen.type == "mps" and not torch.backends.mps.is_available()):
            raise ModelLoadError(f"device {str(device)!r} is not available on this machine; use 'auto' or 'cpu'")
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def inference_dtype(device: torch.device) -> torch.dtype:
    """Half precision on accelerators (bf16 where supported: fp16's range can overflow logits), fp32 on CPU."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def default_batch_size(device: torch.device, precision: str) -> int:
    """Windows per forward pass, as measured with benchmarks/predict_speed.py on a bert-base-sized model.

    On CPU the time is in the matrix products whatever the batch, so batching
    only has to amortise per-call overhead, and each extra window adds padding.
    Torch's per-operator overhead is paid back up to ~8 windows a batch; ONNX
    Runtime has little, and its throughput was best at 1-2 windows a batch.
    """
    if device.type != "cpu":
        return 64
    return 2 if precision == fast_cpu.PRECISIONS["onnxruntime"] else 8


def agreement_sample(corpus: str | Path, size: int = AGREEMENT_SYNOPSES) -> list[str]:
    """`size` synopses spread evenly over a corpus file (all of them if it has fewer)."""
    texts = [text for text in read_table(corpus).column("synopsis") if isinstance(text, str)]
    step = max(1, len(texts) // size)
    return texts[::step][:size]


class GenrePredictor:
    """A loaded genre model: tokenizer, weights and thresholds, ready to score batches of synopses."""

    def __init__(
        self,
        model,
        tokenizer,
        thresholds: Thresholds,
        *,
        name: str,
        window: int,
        stride: int | None = None,
        batch_size: int | None = None,
        metrics: dict | None = None,
        evaluations: list[dict] | None = None,
    ):
        # `network` stays the torch model (explanations need its gradients); `model` may become a fast CPU copy
        self.model = self.network = model.eval()
        self.tokenizer, self.thresholds = tokenizer, thresholds
        self.name, self.window, self.metrics, self.evaluations = name, window, metrics, evaluations or []
        self.stride = default_stride(window) if stride is None else stride
        if not 0 <= self.stride < window - tokenizer.num_special_tokens_to_add():
            raise ValueError(
                f"stride {self.stride} must be smaller than the window ({window} tokens with special tokens)"
            )
        if thresholds.window_rule not in COMBINATION_RULES:
            raise ModelLoadError(
                f"{name}'s thresholds were tuned for the window rule {thresholds.window_rule!r}, which this version "
                f"does not know (known: {', '.join(COMBINATION_RULES)})"
            )
        if not tokenizer.is_fast:  # only tokenizers-backed tokenizers cut a text into overlapping windows
            raise ModelLoadError(
                f"{name} has no fast (🤗 tokenizers) tokenizer; long synopses cannot be read in windows"
            )
        label2id = {str(label): int(index) for label, index in model.config.label2id.items()}
        missing = [genre for genre in GENRES if genre not in label2id]
        if missing or model.config.num_labels != len(GENRES):
            raise ModelLoadError(
                f"{name} is not a genre model: its labels are {', '.join(label2id)}, "
                f"not the {len(GENRES)} genres of genre_model.genres"
            )
        # Models keep their own label order; every array here is in GENRES order.
        self.columns = [label2id[genre] for genre in GENRES]
        parameter = next(model.parameters())
        self.device, self.precision = parameter.device, PRECISION_NAMES.get(parameter.dtype, str(parameter.dtype))
        self.requested_batch_size = batch_size  # None: default_batch_size of the device and precision in use
        self.fast_cpu_note: str | None = None  # what the fast CPU checks found, in words
        self.agreements: list[fast_cpu.Agreement] = []  # and in numbers, one per path checked

    @classmethod
    def load(
        cls,
        model: str | Path,
        device: str | torch.device = "auto",
        fast_cpu: bool | Sequence[str] = True,
        *,
        batch_size: int | None = None,
        stride: int | None = None,
        agreement_corpus: str | Path | None = EXAMPLE_CORPUS,
        cache_dir: str | Path | None = None,
    ) -> GenrePredictor:
        """Load a model folder written by train.py, or a Hub repo with the same files.

        Weights are read from safetensors only and no code is ever taken from the
        repo. On CPU with `fast_cpu`, int8 or ONNX Runtime is used if it agrees
        with fp32 on AGREEMENT_SYNOPSES synopses of `agreement_corpus` (see
        genre_model.fast_cpu); `info()` says what was chosen. `fast_cpu` may also
        name the paths to try, e.g. ("onnxruntime",).
        """
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        name = str(model)
        if (Path(name).is_absolute() or name.startswith(".")) and not Path(name).is_dir():
            raise ModelLoadError(f"cannot load the model {name!r}: no such folder")
        target = resolve_device(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
            network = AutoModelForSequenceClassification.from_pretrained(
                name, use_safetensors=True, trust_remote_code=False, dtype=inference_dtype(target)
            ).to(target)
            thresholds, metrics, evaluations = read_thresholds(name), read_metrics(name), read_evaluations(name)
        except (OSError, ValueError, KeyError) as error:  # missing files, offline Hub, malformed config or thresholds
            raise ModelLoadError(f"cannot load the model {name!r}: {str(error).strip().splitlines()[0]}") from error
        # train.py saves the training window as model_max_length; a Hub model without one is bounded by its positions.
        window = min(
            tokenizer.model_max_length, getattr(network.config, "max_position_embeddings", tokenizer.model_max_length)
        )
        predictor = cls(
            network,
            tokenizer,
            thresholds,
            name=name,
            window=window,
            stride=stride,
            batch_size=batch_size,
            metrics=metrics,
            evaluations=evaluations,
        )
        if fast_cpu and target.type == "cpu":
            predictor._use_fast_cpu_path_if_it_agrees(
                FAST_CPU_PATHS if fast_cpu is True else tuple(fast_cpu), agreement_corpus, cache_dir
            )
        return predictor

    @property
    def batch_size(self) -> int:
        """Windows per forward pass."""
        return self.requested_batch_size or default_batch_size(self.device, self.precision)

    def _use_fast_cpu_path_if_it_agrees(
        self, paths: Sequence[str], corpus: str | Path | None, cache_dir: str | Path | None
    ) -> None:
        """Switch to the first of `paths` whose scores agree with fp32 on `corpus`; stay in fp32 if none does."""
        if corpus is None or not Path(corpus).is_file():
            self.fast_cpu_note = f"fp32: fast CPU paths not checked, agreement corpus {corpus} not found"
            return
        texts = agreement_sample(corpus)
        key = fast_cpu.cache_key(
            self.model, self.tokenizer.backend_tokenizer.to_str(), self.window, self.stride, self.thresholds, texts
        )
        full, findings = None, []
        for path in paths:
            agreement, fast_model = fast_cpu.load_verdict(key, path, cache_dir), None
            try:
                if agreement is None:
                    fast_model = self._build_fast_model(path, key, cache_dir)
                    full = self.score(texts).probabilities if full is None else full
                    agreement = fast_cpu.compare(
                        path, full, self.score(texts, model=fast_model).probabilities, self.thresholds
                    )
                    fast_cpu.store_verdict(key, agreement, cache_dir)
                elif agreement.accepted:  # a cached verdict: build only the path that will run
                    fast_model = self._build_fast_model(path, key, cache_dir)
            except fast_cpu.FastPathError as error:
                findings.append(f"{path} unavailable ({error})")
                continue
            self.agreements.append(agreement)
            findings.append(agreement.describe())
            if agreement.accepted:
                self.model, self.precision = fast_model, fast_cpu.PRECISIONS[path]
                break
        else:
            findings.append("using fp32")
        self.fast_cpu_note = "; ".join(findings)

    def _build_fast_model(self, path: str, key: str, cache_dir: str | Path | None):
        return fast_cpu.build(path, self.model, self.tokenizer, self.window, fast_cpu.onnx_file(key, cache_dir))

    def score(self, texts: Sequence[str], *, model=None, accelerator=None, progress: bool = False) -> Scores:
        """Probabilities (GENRES order) and windows read per synopsis; `accelerator` shares the work out."""
        return score_synopses(
            model or self.model,
            self.tokenizer,
            list(texts),
            window=self.window,
            stride=self.stride,
            rule=self.thresholds.window_rule,  # the rule the thresholds were tuned on
            batch_size=self.batch_size,
            columns=self.columns,
            device=self.device,
            accelerator=accelerator,
            progress=progress,
        )

    def probabilities(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """(len(texts), 20) sigmoid probabilities in GENRES order."""
        return self.score(texts, progress=progress).probabilities

    def predict(
        self,
        texts: str | Sequence[str],
        threshold: float | None | Sequence[float | None] = None,
        progress: bool = False,
        accelerator=None,
    ) -> list[Prediction]:
        """Rank all genres for each synopsis and choose those at or above the threshold.

        threshold: None uses the model's tuned per-genre thresholds; a number in
        [0, 1] is one threshold for every genre; a list gives each synopsis its
        own (a server batching requests of several users).
        Input is not checked here: call genre_model.inputs.check_synopsis first.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        per_text = list(threshold) if isinstance(threshold, Sequence) else [threshold] * len(texts)
        if len(per_text) != len(texts):
            raise ValueError(f"{len(per_text)} thresholds for {len(texts)} synopses")
        rules = [self.thresholds_for(value) for value in per_text]
        scores = self.score(texts, accelerator=accelerator, progress=progress)
        return [
            self.decide(probabilities, rule, int(windows))
            for probabilities, rule, windows in zip(scores.probabilities, rules, scores.windows)
        ]

    @staticmethod
    def decide(probabilities: np.ndarray, thresholds: Thresholds, windows: int = 1) -> Prediction:
        """A Prediction from one synopsis's probabilities (GENRES order) under `thresholds`."""
        ranked = sorted(zip(GENRES, np.asarray(probabilities).astype(float).tolist()), key=lambda pair: -pair[1])
        decided = dict(zip(GENRES, thresholds.decide(probabilities)))
        chosen = [genre for genre, _ in ranked if decided[genre]]
        cutoffs = dict(zip(GENRES, thresholds.cutoffs(np.asarray(probabilities)[None])[0].tolist()))
        return Prediction(ranked=ranked, chosen=chosen, chunks=windows, cutoffs=cutoffs)

    def thresholds_for(self, threshold: float | None) -> Thresholds:
        """The model's per-genre thresholds (None) or one threshold for all genres."""
        if threshold is None:
            return self.thresholds
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"a threshold must lie between 0 and 1, not {threshold}")
        return Thresholds.uniform(float(threshold))

    def info(self) -> dict:
        """What is loaded and how good it is: for the app's model panel and the CLI's log."""
        test = (self.metrics or {}).get("test", {})
        return {
            "model": self.name,
            "device": str(self.device),
            "precision": self.precision,
            "fast_cpu": self.fast_cpu_note,
            "fast_cpu_checks": [{"accepted": agreement.accepted, **asdict(agreement)} for agreement in self.agreements],
            "window": self.window,
            "stride": self.stride,
            "window_rule": self.thresholds.window_rule,
            "tuned_genres": len(self.thresholds.tuned_genres),
            "thresholds_relative_to_top": self.thresholds.relative_to_top,
            "evaluations": self.evaluations,
            "test_scores": {
                setting: {
                    name: test[setting][name]
                    for name in ("micro_f1", "macro_f1", "samples_f1")
                    if name in test[setting]
                }
                for setting in ("tuned_thresholds", "threshold_0.5")
                if setting in test
            }
            or None,
        }


# ---- batch prediction command --------------------------------------------------------------------------------


def output_row(row: dict, prediction: Prediction | None, problem: str | None, explanation: dict | None = None) -> dict:
    """An input row plus the prediction columns; lists and objects from JSON Lines stay JSON in the CSV.

    `explanation` (genre -> [(word, score), ...]), when given, fills an `explanation` column with JSON.
    """
    out = {
        key: json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value
        for key, value in row.items()
    }
    # comma-separated like KOBIS's genre field, so genre_model.genres.parse_genres reads it back
    out["predicted_genres"] = ",".join(prediction.chosen) if prediction else ""
    out["problem"] = problem or ""
    if explanation is not None:
        words = {genre: [[word, round(score, 4)] for word, score in pairs] for genre, pairs in explanation.items()}
        out["explanation"] = json.dumps(words, ensure_ascii=False) if words else ""
    scores = prediction.probabilities if prediction else {}
    out.update({f"prob_{genre}": f"{scores[genre]:.6f}" if prediction else "" for genre in GENRES})
    return out


def predict_rows(
    predictor: GenrePredictor,
    table: Table,
    text_column: str,
    threshold: float | None = None,
    *,
    progress: bool = False,
    accelerator=None,
    explain_words: int = 0,
) -> list[dict]:
    """Every row of `table` with its predicted genres and probabilities, or the reason it was not scored, in order.

    The batch CLI and the app's file tab both call this, so a file gives the same output either way.
    `explain_words` > 0 adds, for each chosen genre (the top genre when none is chosen), the words that
    pushed it up most (genre_model.explain; one integrated-gradients run per genre, so much slower).
    """
    texts = table.column(text_column)
    problems = [check_synopsis(text) for text in texts]
    scored = [index for index, problem in enumerate(problems) if problem is None]
    predictions = predictor.predict(
        [texts[index] for index in scored], threshold, progress=progress, accelerator=accelerator
    )
    by_row = dict(zip(scored, predictions))
    explanations = explain_predictions(predictor, texts, by_row, explain_words, progress) if explain_words else {}
    return [
        output_row(row, by_row.get(index), problems[index], explanations.get(index, {}) if explain_words else None)
        for index, row in enumerate(table.rows)
    ]


def explain_predictions(
    predictor: GenrePredictor, texts: list[str], by_row: dict[int, Prediction], words: int, progress: bool
) -> dict[int, dict[str, list[tuple[str, float]]]]:
    """For each scored row, its chosen genres (or its top genre) with the `words` words that pushed each up most."""
    from tqdm.auto import tqdm

    from genre_model.explain import explain

    return {
        index: {
            genre: explain(predictor, texts[index], genre).top(words)
            for genre in prediction.chosen or [prediction.ranked[0][0]]
        }
        for index, prediction in tqdm(by_row.items(), desc="explaining", unit="synopsis", disable=not progress)
    }


def write_rows(path: str | Path, rows: list[dict], columns: list[str]) -> None:
    explained = ["explanation"] if rows and "explanation" in rows[0] else []
    fields = columns + ["predicted_genres", "problem"] + explained + [f"prob_{genre}" for genre in GENRES]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # utf-8-sig so that Excel, which many users open CSVs with, shows Hangul
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


CLI_EXAMPLES = """examples:
  python -m genre_model.predict --model out/genre-bert films.csv -o predictions.csv
  python -m genre_model.predict --model you/klue-bert-movie-genres films.csv --text_column plot --threshold 0.4 \\
      -o predictions.csv
  python -m genre_model.predict --model demo_model films.csv --explain 5 -o predictions.csv  # + why each genre
  several processes (one per GPU, or CPU processes), one output in input order:
  accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \\
      -m genre_model.predict --model out/genre-bert films.jsonl -o predictions.csv"""


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m genre_model.predict",
        description=__doc__.split("\n\n")[0],
        epilog=CLI_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", help="CSV/TSV, JSON Lines, Parquet, or .txt with one synopsis per line")
    parser.add_argument(
        "-o", "--output", required=True, help="CSV to write: the input rows plus predicted genres and probabilities"
    )
    parser.add_argument("--model", required=True, help="a model folder written by train.py, or a Hub id")
    parser.add_argument("--text_column", default="synopsis", help="column holding the synopsis (default: synopsis)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="one threshold for all genres (default: the model's tuned per-genre thresholds)",
    )
    parser.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help="windows per forward pass (default: 8 on CPU, 2 with ONNX Runtime, 64 on a GPU)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps; under accelerate launch each process takes its own",
    )
    parser.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="N",
        help="add an 'explanation' column: for each chosen genre (the top one when none is), the N words that "
        "pushed it up most, as JSON (slow: one integrated-gradients run per genre, on the main process)",
    )
    parser.add_argument(
        "--no_fast_cpu",
        action="store_true",
        help="stay in torch fp32 on CPU (by default int8 or ONNX Runtime is used where it agrees with fp32)",
    )
    return parser.parse_args(argv)


def predict_file(args: argparse.Namespace) -> None:
    from accelerate import Accelerator

    from genre_model.cpu_threads import use_cpu_threads

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise ArgumentError(f"--threshold must lie between 0 and 1, not {args.threshold}")
    if args.explain < 0:
        raise ArgumentError(f"--explain takes a number of words, 0 or more, not {args.explain}")
    # Every process reads the input, so bad input stops them all with the same message before any model is loaded.
    table = read_table(args.input, text_column=args.text_column)
    table.require(args.text_column, "--text_column")
    # cpu=True lets `accelerate launch --multi_gpu` start CPU processes (gloo) where there is no GPU.
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    if accelerator.device.type == "cpu":
        accelerator.print(use_cpu_threads().describe())
    device = args.device if accelerator.num_processes == 1 else accelerator.device  # several processes: one device each
    # The main process checks the fast CPU paths and caches the verdicts (and graph); the others read them.
    with accelerator.main_process_first():
        predictor = GenrePredictor.load(
            args.model, device=device, fast_cpu=not args.no_fast_cpu, batch_size=args.batch_size
        )
    info = predictor.info()
    accelerator.print(
        f"model {info['model']}: {accelerator.num_processes} process(es) on {info['device']} in {info['precision']}"
        + (f"; {info['fast_cpu']}" if info["fast_cpu"] else "")
    )
    # Every process gets every prediction back, in order; its windows are shared out among the processes.
    shared = accelerator if accelerator.num_processes > 1 else None
    rows = predict_rows(
        predictor,
        table,
        args.text_column,
        args.threshold,
        progress=accelerator.is_local_main_process,
        accelerator=shared,
        explain_words=args.explain if accelerator.is_main_process else 0,  # only the main process writes
    )
    if accelerator.is_main_process:
        write_rows(args.output, rows, table.columns)
        skipped = sum(bool(row["problem"]) for row in rows)
        print(
            f"wrote {len(rows)} rows to {args.output}"
            + (f"; {skipped} not scored (see the 'problem' column)" if skipped else "")
        )
    accelerator.end_training()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    return run_command(lambda: predict_file(args))


if __name__ == "__main__":
    sys.exit(main())
