"""CPU speed of genre_model.predict against the predecessor's way, with a bert-base-sized model.

From the repository root:
    python -m benchmarks.predict_speed            # 200 synopses over the corpus's lengths, 3 rounds (~10 min, 2 cores)
    python -m benchmarks.predict_speed --quick    # 16 synopses, 1 round: a smoke run (~1 minute)
    python -m benchmarks.predict_speed --synopses 0   # the whole corpus
    python -m benchmarks.predict_speed --threads 1    # one torch thread per case: steadier on a busy machine
    python -m benchmarks.predict_speed --model out/genre-bert   # a trained model instead of random weights

Cases, on the same synopses and the same model (12 layers, 768 hidden, random
weights from genre_model.scratch with a vocabulary learnt on the corpus):
  predecessor   one synopsis at a time, padded to 300 tokens, fp32
  predictor     GenrePredictor as the app and the CLI load it: length-sorted
                batches padded to their own longest row, on the first fast CPU
                path that agrees with fp32 (int8, then ONNX Runtime fp32; here
                checked on the synopses measured), torch fp32 if none does
  int8 forced   the int8 model whatever its agreement, for reference
Latency is one synopsis per call (a user of the app); throughput is all
synopses in one call (the batch CLI). Each case runs in its own subprocess so
that its peak memory (ru_maxrss: torch allocates outside tracemalloc's view) is its own.
Not part of the test suite. The model is built once into build/ (git-ignored).

Random weights score every synopsis close to 0.5 for most genres, so int8's
small errors flip decisions there and the predictor's agreement check refuses
int8 for such a model (it then runs ONNX Runtime fp32); --model measures a
trained one, whose decisions have margins.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from genre_model.corpus import EXAMPLE_CORPUS
from genre_model.tables import read_table, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "build" / "predict-speed-bert-base"
PREDECESSOR_LENGTH = 300
CASES = ("predecessor", "predictor", "int8 forced")


def build_model(folder: Path) -> Path:
    """A bert-base-sized genre classifier with random weights, its WordPiece vocabulary learnt on the corpus."""
    from transformers import AutoTokenizer, set_seed

    from genre_model.modeling import build_model as with_genre_head
    from genre_model.scratch import save_scratch_encoder, train_wordpiece_tokenizer

    set_seed(0)  # the same random weights every run, so runs compare
    encoder = save_scratch_encoder(
        folder / "encoder",
        train_wordpiece_tokenizer(corpus_synopses(), vocab_size=8000, max_length=512),
        num_hidden_layers=12,
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
    )
    with_genre_head(str(encoder)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(encoder).save_pretrained(folder)
    return folder


def select_synopses(count: int) -> list[str]:
    """`count` synopses evenly spaced over the corpus sorted by length: the corpus's own mix of lengths."""
    texts = sorted(corpus_synopses(), key=len)
    if count <= 0 or count >= len(texts):
        return texts
    if count == 1:
        return [texts[len(texts) // 2]]
    return [texts[round(i * (len(texts) - 1) / (count - 1))] for i in range(count)]


def corpus_synopses() -> list[str]:
    return read_table(EXAMPLE_CORPUS).column("synopsis")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(case: str, texts: list[str], model_dir: Path, threads: int | None) -> dict:
    """Run one case in this process; returns timings, probabilities and peak memory."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from genre_model import fast_cpu
    from genre_model.predict import GenrePredictor

    started = time.perf_counter()
    if case == "predecessor":
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, use_safetensors=True, dtype=torch.float32
        ).eval()

        length = min(
            PREDECESSOR_LENGTH, tokenizer.model_max_length
        )  # a --model trained on a shorter window has no positions beyond it

        @torch.inference_mode()
        def score(batch: list[str]) -> np.ndarray:
            encoded = tokenizer(batch, padding="max_length", truncation=True, max_length=length, return_tensors="pt")
            return torch.sigmoid(model(**encoded).logits).numpy()

        note, precision = "", "fp32"
    else:
        with tempfile.TemporaryDirectory() as folder:
            corpus = write_jsonl(Path(folder) / "measured.jsonl", ({"synopsis": text} for text in texts))
            predictor = GenrePredictor.load(
                model_dir, device="cpu", fast_cpu=case == "predictor", agreement_corpus=corpus
            )
        if case == "int8 forced":
            predictor.model, predictor.precision = fast_cpu.quantize(predictor.model), "int8"
        score, note, precision = predictor.probabilities, predictor.fast_cpu_note or "", predictor.precision
    load_s = time.perf_counter() - started

    score(texts[:2])  # warm-up: the first call pays for lazy initialisation
    latencies, probabilities = [], []
    for text in texts:
        started = time.perf_counter()
        probabilities.append(score([text])[0])
        latencies.append((time.perf_counter() - started) * 1000)
    if case == "predecessor":
        batch_s = sum(latencies) / 1000  # the predecessor only ever scored one at a time
    else:
        started = time.perf_counter()
        probabilities = list(score(texts))
        batch_s = time.perf_counter() - started
    return {
        "case": case,
        "precision": precision,
        "note": note,
        "load_s": load_s,
        "latencies_ms": latencies,
        "batch_s": batch_s,
        "probabilities": np.asarray(probabilities).tolist(),
        "peak_rss_mb": peak_rss_mb(),
        "threads": torch.get_num_threads(),
    }


def run_case(case: str, texts_file: Path, model_dir: Path, threads: int | None) -> dict:
    """One case in a fresh interpreter, so peak memory and warm caches are its own."""
    command = [sys.executable, "-m", "benchmarks.predict_speed", "--measure", case, "--texts_file", str(texts_file)]
    result = subprocess.run(
        command + ["--model", str(model_dir)] + (["--threads", str(threads)] if threads else []),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ
        | {"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_OFFLINE": "1"},
    )
    if result.returncode != 0:
        raise SystemExit(f"case {case!r} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def summarise(rounds: list[dict], reference: np.ndarray, thresholds, count: int) -> dict:
    """One case over all rounds: median throughput and latency, largest peak memory, agreement with the predecessor."""
    probabilities = np.asarray(rounds[0]["probabilities"])  # the same every round: the arithmetic does not change
    latencies = sorted(latency for result in rounds for latency in result["latencies_ms"])
    return {
        "precision": rounds[0]["precision"],
        "note": rounds[0]["note"],
        "load_s": rounds[-1]["load_s"],
        "threads": rounds[0]["threads"],
        "throughputs": [count / result["batch_s"] for result in rounds],
        "median_ms": statistics.median(latencies),
        "p90_ms": latencies[int(0.9 * (len(latencies) - 1))],
        "peak_rss_mb": max(result["peak_rss_mb"] for result in rounds),
        "same": np.all(thresholds.decide(probabilities) == thresholds.decide(reference), axis=1).mean(),
        "max_diff": np.abs(probabilities - reference).max(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument("--synopses", type=int, default=200, help="how many synopses to measure (0: the whole corpus)")
    parser.add_argument("--quick", action="store_true", help="16 synopses, one round: a smoke run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="times every case is measured, the cases taking turns (default 3)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads per case (default: torch's, one per core)"
    )
    parser.add_argument(
        "--model",
        default=None,
        help=f"a trained model folder to measure (default: random weights, built in {MODEL_DIR.relative_to(ROOT)})",
    )
    parser.add_argument("--measure", choices=CASES, help=argparse.SUPPRESS)  # internal: run one case in this process
    parser.add_argument("--texts_file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        texts = json.loads(Path(args.texts_file).read_text(encoding="utf-8"))
        print(json.dumps(measure(args.measure, texts, Path(args.model), args.threads)))
        return

    model_dir = Path(args.model) if args.model else MODEL_DIR
    if args.model is None and not (MODEL_DIR / "model.safetensors").is_file():
        print(f"building the bert-base-sized model in {MODEL_DIR} ...", flush=True)
        build_model(MODEL_DIR)
    texts = select_synopses(16 if args.quick else args.synopses)
    rounds = 1 if args.quick else max(1, args.rounds)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lengths = [len(ids) for ids in tokenizer(texts, verbose=False)["input_ids"]]
    print(
        f"{len(texts)} synopses, {statistics.mean(lengths):.0f} tokens on average "
        f"(min {min(lengths)}, max {max(lengths)}); the predecessor pads every one to "
        f"{min(PREDECESSOR_LENGTH, tokenizer.model_max_length)} and cuts longer ones there",
        flush=True,
    )

    # The cases take turns, round after round: a machine that slows down or speeds up for a
    # minute (a shared VM does) then affects every case alike, and each round gives its own ratio.
    measured = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory() as folder:
        texts_file = Path(folder) / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        for number in range(1, rounds + 1):
            for case in CASES:
                print(f"round {number}/{rounds}: measuring {case} ...", flush=True)
                measured[case].append(run_case(case, texts_file, model_dir, args.threads))

    from genre_model.model_folder import read_thresholds

    thresholds = read_thresholds(model_dir)  # the predictor's own decisions: 0.5 for a model without thresholds.json
    reference = np.asarray(measured["predecessor"][0]["probabilities"])
    results = {case: summarise(measured[case], reference, thresholds, len(texts)) for case in CASES}
    described = f"model {model_dir}" if args.model else "bert-base-sized model (12 layers, 768 hidden, random weights)"
    print(
        f"\nCPU, {results['predecessor']['threads']} torch thread(s), {described}, {rounds} round(s); "
        "medians over the rounds"
    )
    print(
        f"{'case':<12} {'precision':<20} {'latency ms median/p90':>22} {'synopses/s':>11} {'peak RSS MB':>12} "
        f"{'same genres':>12} {'max score diff':>15}"
    )
    for case, result in results.items():
        print(
            f"{case:<12} {result['precision']:<20} {result['median_ms']:>10.1f} / {result['p90_ms']:>9.1f} "
            f"{statistics.median(result['throughputs']):>11.2f} {result['peak_rss_mb']:>12.0f} "
            f"{result['same']:>12.1%} {result['max_diff']:>15.5f}"
        )

    def speedups(case: str) -> list[float]:
        """Throughput ratio to the predecessor, round by round."""
        return [ours / old for ours, old in zip(results[case]["throughputs"], results["predecessor"]["throughputs"])]

    ours, old = results["predictor"], results["predecessor"]
    per_round = ", ".join(f"{ratio:.2f}" for ratio in speedups("predictor"))
    print(
        f"\npredictor vs predecessor: {statistics.median(speedups('predictor')):.2f}x throughput "
        f"(rounds: {per_round}), {old['median_ms'] / ours['median_ms']:.2f}x median latency, "
        f"identical genre decisions on {ours['same']:.1%} of {len(texts)} synopses"
    )
    print(f"predictor loaded in {ours['load_s']:.1f} s; {ours['note'] or 'no fast CPU check'}")
    print(
        f"int8 forced vs predecessor: {statistics.median(speedups('int8 forced')):.2f}x throughput, "
        f"identical genre decisions on {results['int8 forced']['same']:.1%}"
    )


if __name__ == "__main__":
    main()
