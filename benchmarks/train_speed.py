"""Training speed, each case against its baseline in the same run.

From the repository root:
    python -m benchmarks.train_speed            # both cases (~15 minutes on 2 CPU cores)
    python -m benchmarks.train_speed --quick    # fewer, smaller steps, to check it runs
    python -m benchmarks.train_speed --case batching   # or --case launch

batching: the predecessor's batches (every row padded to 300 tokens) against
ours (dynamic padding + length-grouped batches), on a bert-base-sized model
(12 layers, 768 wide, random weights) with the same optimiser and loss. Throughput
counts real (non-padding) tokens per second, so the predecessor is not credited
for the padding it computes on. Each side runs in its own process so its peak
memory (max RSS) is its own. Target: ours >= 1.8x the predecessor's tokens/s.

launch: train.py started exactly as the README says (`accelerate launch
train.py ...`, no thread settings) against the same command with
`--num_cpu_threads_per_process 1`, which is what accelerate gives a CPU-only
run when nobody sets a thread count and train.py does not choose one itself.
Both train a 4-layer, 256-wide encoder (batch 32, 128 tokens) for the same
steps; the figure is train.py's own "s a step" log line (evaluation excluded).
On a machine with N cores ours should approach N times faster; below 1.2x on a
multi-core machine means the thread choice regressed.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genre_model.corpus import EXAMPLE_CORPUS
from genre_model.tables import read_table

ROOT = Path(__file__).resolve().parents[1]
PREDECESSOR_LENGTH = 300
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch"]


def corpus_rows() -> list[dict]:
    return read_table(EXAMPLE_CORPUS).rows


def build_encoder(folder: Path, **shape) -> Path:
    from transformers import set_seed

    from genre_model.scratch import save_scratch_encoder, train_wordpiece_tokenizer

    set_seed(0)
    # The vocabulary is learnt from the corpus and kept small (4,000 pieces) so a synopsis
    # splits into about 0.5 tokens per character, as with Korean BERT tokenizers; a large
    # vocabulary learnt on this small corpus would make every synopsis artificially short
    # and flatter the padding savings.
    texts = [row["synopsis"] for row in corpus_rows()]
    return save_scratch_encoder(folder, train_wordpiece_tokenizer(texts, vocab_size=4000, max_length=512), **shape)


# ---- batching ------------------------------------------------------------------------------------------------


def batches(mode: str, encoder: Path, batch_size: int, steps: int):
    """The first `steps` training batches each side would feed the model."""
    import torch
    from datasets import Dataset

    from genre_model.batching import tokenize, train_dataloader
    from genre_model.genres import to_multi_hot
    from genre_model.modeling import load_tokenizer

    rows = corpus_rows()
    dataset = Dataset.from_dict(
        {"text": [r["synopsis"] for r in rows], "labels": [to_multi_hot(r["genres"]) for r in rows]}
    )
    if mode == "ours":
        tokenizer = load_tokenizer(str(encoder), max_length=512)
        loader = train_dataloader(tokenize(dataset, tokenizer, 512), tokenizer, batch_size, seed=0, max_length=512)
        return [batch for _, batch in zip(range(steps + 1), loader)]
    tokenizer = load_tokenizer(str(encoder), max_length=PREDECESSOR_LENGTH)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0)).tolist()
    chosen = dataset.select(order[: (steps + 1) * batch_size])
    result = []
    for start in range(0, len(chosen), batch_size):
        part = chosen[start : start + batch_size]
        encoded = tokenizer(
            part["text"], padding="max_length", truncation=True, max_length=PREDECESSOR_LENGTH, return_tensors="pt"
        )
        result.append(dict(encoded) | {"labels": torch.tensor(part["labels"], dtype=torch.float32)})
    return result


def measure(mode: str, encoder: Path, batch_size: int, steps: int) -> dict:
    """Train `steps` timed steps (after one warm-up step) and report throughput and peak memory."""
    import torch

    from genre_model.modeling import build_model, multi_label_loss

    torch.manual_seed(0)
    model = build_model(str(encoder)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    feed = batches(mode, encoder, batch_size, steps)
    real_tokens, padded_tokens, seconds = 0, 0, 0.0
    for step, batch in enumerate(feed):
        started = time.perf_counter()
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        multi_label_loss(logits, batch["labels"]).backward()
        optimizer.step()
        optimizer.zero_grad()
        if step == 0:
            continue  # warm-up: allocator and kernel caches
        seconds += time.perf_counter() - started
        real_tokens += int(batch["attention_mask"].sum())
        padded_tokens += batch["input_ids"].numel()
    return {
        "mode": mode,
        "tokens_per_row": real_tokens / (steps * batch_size),
        "tokens_per_s": real_tokens / seconds,
        "rows_per_s": steps * batch_size / seconds,
        "padding_share": 1 - real_tokens / padded_tokens,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def batching_case(folder: Path, batch_size: int, steps: int) -> None:
    encoder = build_encoder(
        folder / "bert-base-sized",
        num_hidden_layers=12,
        hidden_size=768,
        num_attention_heads=12,
        intermediate_size=3072,
    )
    results = {}
    for mode in ("predecessor", "ours"):
        command = [sys.executable, "-m", "benchmarks.train_speed", "--measure", mode, "--encoder", str(encoder)]
        command += ["--steps", str(steps), "--batch_size", str(batch_size)]
        output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
    print(f"batching: bert-base-sized model, batch {batch_size}, {steps} timed steps per side, {EXAMPLE_CORPUS.name}")
    print(f"{'':12} {'tokens/row':>10} {'tokens/s':>10} {'rows/s':>8} {'padding':>8} {'peak MiB':>9}")
    for mode, result in results.items():
        print(
            f"{mode:12} {result['tokens_per_row']:10.1f} {result['tokens_per_s']:10.1f} {result['rows_per_s']:8.2f} "
            f"{result['padding_share']:8.1%} {result['peak_mib']:9.0f}"
        )
    ratio = results["ours"]["tokens_per_s"] / results["predecessor"]["tokens_per_s"]
    print(f"speed-up (real tokens/s, ours / predecessor): {ratio:.2f}x  (target >= 1.8x)\n")


# ---- launch --------------------------------------------------------------------------------------------------


def seconds_a_step(launcher_flags: list[str], encoder: Path, output_dir: Path, steps: int) -> tuple[float, str]:
    """train.py under `accelerate launch` (plus `launcher_flags`): its seconds a step, and the thread line it logged."""
    command = [
        *LAUNCH,
        *launcher_flags,
        "train.py",
        "--dataset",
        str(EXAMPLE_CORPUS),
        "--model_name_or_path",
        str(encoder),
    ]
    command += ["--output_dir", str(output_dir), "--max_length", "128", "--per_device_train_batch_size", "32"]
    command += ["--max_train_steps", str(steps), "--checkpointing_steps", "no", "--overwrite_output_dir"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    log = result.stdout + result.stderr
    timing = re.search(r"optimised \d+ steps in [\d.]+ s \(([\d.]+) s a step\)", log)
    if result.returncode != 0 or timing is None:
        raise SystemExit(f"train.py failed under {' '.join(command)}:\n{log[-3000:]}")
    threads = re.search(r"computing with .*", log)
    return float(timing.group(1)), threads.group(0) if threads else "(no thread line)"


def launch_case(folder: Path, steps: int) -> None:
    encoder = build_encoder(
        folder / "small", num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024
    )
    readme, readme_threads = seconds_a_step([], encoder, folder / "readme-run", steps)
    single, single_threads = seconds_a_step(
        ["--num_cpu_threads_per_process", "1"], encoder, folder / "one-thread", steps
    )
    print(f"launch: 4-layer 256-wide encoder, batch 32, 128 tokens, {steps} steps each, s a step (evaluation excluded)")
    print(f"  accelerate launch train.py ...                                {readme:.3f}  [{readme_threads}]")
    print(f"  accelerate launch --num_cpu_threads_per_process 1 train.py ... {single:.3f}  [{single_threads}]")
    print(f"speed-up of the README's launch over one thread: {single / readme:.2f}x\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer and smaller steps")
    parser.add_argument("--case", choices=("batching", "launch", "both"), default="both")
    parser.add_argument("--steps", type=int, default=6, help="timed steps of the batching case")
    parser.add_argument("--batch_size", type=int, default=16, help="batch of the batching case")
    parser.add_argument("--launch_steps", type=int, default=12, help="steps of each launch case")
    parser.add_argument("--measure", choices=["predecessor", "ours"], help=argparse.SUPPRESS)  # one side, in a child
    parser.add_argument("--encoder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps, batch_size = (2, 8) if args.quick else (args.steps, args.batch_size)
    if args.measure:
        print(json.dumps(measure(args.measure, Path(args.encoder), batch_size, steps)))
        return
    with tempfile.TemporaryDirectory() as folder:
        if args.case in ("batching", "both"):
            batching_case(Path(folder), batch_size, steps)
        if args.case in ("launch", "both"):
            launch_case(Path(folder), 4 if args.quick else args.launch_steps)


if __name__ == "__main__":
    main()
