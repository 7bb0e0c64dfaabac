"""Seconds per explanation (genre_model.explain), and how exact it is, for the integration settings worth trying.

From the repository root:
    python -m benchmarks.explain_speed            # demo model and a bert-base-sized model (~10 minutes on 2 cores)
    python -m benchmarks.explain_speed --quick    # the demo model only (~1 minute)

For each model, synopses spread over the example corpus's lengths (the same
mix as benchmarks/predict_speed.py) are explained for their top genre with
every combination of integration steps and internal batch size below; printed:
mean seconds per explanation, and the median and 90th percentile of the
convergence delta relative to the window's logit difference (how far the
attributions are from adding up exactly). The bert-base-sized model has random
weights (no trained one can be downloaded here); it measures time, the trained
demo model measures exactness. genre_model.explain ships the settings
(STEPS, INTERNAL_BATCH_SIZE) this benchmark chose: the fewest steps at which the
demo model's attributions add up to its logit differences within a few percent
for most synopses; the README's Benchmarks section has the figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.predict_speed import MODEL_DIR, build_model, select_synopses
from genre_model.explain import INTERNAL_BATCH_SIZE, MAX_STEPS, STEPS, explain
from genre_model.predict import GenrePredictor

ROOT = Path(__file__).resolve().parents[1]
STEP_CHOICES = (4, 8, 16, 32)
BATCH_CHOICES = (4, 16, 64)


def relative_delta(explanation) -> float:
    """The largest |convergence delta| of the windows over the |sum of the attributions| (for one window:
    its logit minus the empty window's logit)."""
    total = abs(sum(score for _, score in explanation.words))
    return explanation.convergence_delta / max(total, 1e-6)


def measure(
    predictor: GenrePredictor, texts: list[str], steps: int, batch: int, max_steps: int
) -> tuple[float, list[float]]:
    genres = [predictor.predict([text])[0].ranked[0][0] for text in texts]
    settings = dict(steps=steps, internal_batch_size=batch, max_steps=max_steps)
    explain(predictor, texts[0], genres[0], **settings)  # warm-up
    started, deltas = time.perf_counter(), []
    for text, genre in zip(texts, genres):
        explanation = explain(predictor, text, genre, **settings)
        deltas.append(relative_delta(explanation))
    return (time.perf_counter() - started) / len(texts), deltas


def report(name: str, predictor: GenrePredictor, texts: list[str], combinations: list[tuple[int, int]]) -> None:
    lengths = [len(ids) for ids in predictor.tokenizer(texts)["input_ids"]]
    print(
        f"\n{name}: {len(texts)} synopses, {statistics.mean(lengths):.0f} tokens on average (max {max(lengths)}), "
        f"window {predictor.window}, {torch.get_num_threads()} threads"
    )
    print(f"{'steps':>6} {'batch':>6} {'s/explanation':>14} {'delta median':>13} {'delta p90':>10}")
    # each setting with exactly its steps, then the shipped one: STEPS, and more for the windows still off
    for steps, batch, max_steps in [(steps, batch, steps) for steps, batch in combinations] + [
        (STEPS, INTERNAL_BATCH_SIZE, MAX_STEPS)
    ]:
        seconds, deltas = measure(predictor, texts, steps, batch, max_steps)
        label = f"{steps}-{max_steps}" if max_steps > steps else str(steps)
        shipped = "  <- shipped" if max_steps == MAX_STEPS else ""
        print(
            f"{label:>6} {batch:>6} {seconds:>14.3f} {np.median(deltas):>13.4f} "
            f"{np.percentile(deltas, 90):>10.4f}{shipped}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the demo model only")
    parser.add_argument(
        "--synopses", type=int, default=12, help="synopses per model (the bert-base-sized one gets a third)"
    )
    args = parser.parse_args()
    count = args.synopses
    every = [(steps, batch) for steps in STEP_CHOICES for batch in BATCH_CHOICES]
    demo = GenrePredictor.load(ROOT / "demo_model", device="cpu", fast_cpu=False)
    report("demo model", demo, select_synopses(count), every)
    if args.quick:
        return
    if not (MODEL_DIR / "model.safetensors").is_file():
        print(f"building the bert-base-sized model in {MODEL_DIR} ...", flush=True)
        build_model(MODEL_DIR)
    large = GenrePredictor.load(MODEL_DIR, device="cpu", fast_cpu=False)
    shipped_steps = [(8, INTERNAL_BATCH_SIZE), (STEPS, INTERNAL_BATCH_SIZE)]
    report("bert-base-sized model (random weights)", large, select_synopses(max(2, count // 3)), shipped_steps)


if __name__ == "__main__":
    main()
