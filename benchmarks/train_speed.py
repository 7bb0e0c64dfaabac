"""Training throughput: the predecessor's batching (every row padded to 300 tokens) against ours
(dynamic padding + length-grouped batches), on a bert-base-sized model, in one run.

    python benchmarks/train_speed.py            # 6 timed steps of batch 16 per side (~10 minutes on 2 CPU cores)
    python benchmarks/train_speed.py --quick    # 2 steps of batch 8, to check it runs

Both sides train the same randomly initialised 12-layer, 768-wide BERT on the
example corpus (synopses of 150-600 characters) with the same optimiser and
loss; only batching differs. Throughput counts real (non-padding) tokens per
second, so the predecessor is not credited for padding it computes on. Each
side runs in its own process so its peak memory (max RSS) is its own.
Target: ours >= 1.8x the predecessor's tokens/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "examples" / "synopses.jsonl"
PREDECESSOR_LENGTH = 300


def build_encoder(folder: Path) -> None:
    from transformers import set_seed

    from genre_model.scratch import read_texts, save_scratch_encoder, train_wordpiece_tokenizer

    set_seed(0)
    # bert-base's shape. The vocabulary is learnt from the corpus and kept small (4,000
    # pieces) so a synopsis splits into about 0.5 tokens per character, as with Korean
    # BERT tokenizers; a large vocabulary learnt on this small corpus would make every
    # synopsis artificially short and flatter the padding savings.
    save_scratch_encoder(folder, train_wordpiece_tokenizer(read_texts(CORPUS), vocab_size=4000, max_length=512), num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072)


def batches(mode: str, encoder: Path, batch_size: int, steps: int):
    """The first `steps` training batches each side would feed the model."""
    import torch
    from datasets import Dataset

    from genre_model.batching import tokenize, train_dataloader
    from genre_model.genres import to_multi_hot
    from genre_model.modeling import load_tokenizer

    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    dataset = Dataset.from_dict({"text": [r["synopsis"] for r in rows], "labels": [to_multi_hot(r["genres"]) for r in rows]})
    if mode == "ours":
        tokenizer = load_tokenizer(str(encoder), max_length=512)
        loader = train_dataloader(tokenize(dataset, tokenizer, 512), tokenizer, batch_size, seed=0)
        return [batch for _, batch in zip(range(steps + 1), loader)]
    tokenizer = load_tokenizer(str(encoder), max_length=PREDECESSOR_LENGTH)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0)).tolist()
    chosen = dataset.select(order[: (steps + 1) * batch_size])
    result = []
    for start in range(0, len(chosen), batch_size):
        part = chosen[start : start + batch_size]
        encoded = tokenizer(part["text"], padding="max_length", truncation=True, max_length=PREDECESSOR_LENGTH, return_tensors="pt")
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
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "tokens_per_row": real_tokens / (steps * batch_size), "tokens_per_s": real_tokens / seconds, "rows_per_s": steps * batch_size / seconds, "padding_share": 1 - real_tokens / padded_tokens, "peak_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 steps of batch 8")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--measure", choices=["predecessor", "ours"], help=argparse.SUPPRESS)  # one side, in a child process
    parser.add_argument("--encoder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps, batch_size = (2, 8) if args.quick else (args.steps, args.batch_size)
    if args.measure:
        print(json.dumps(measure(args.measure, Path(args.encoder), batch_size, steps)))
        return

    with tempfile.TemporaryDirectory() as folder:
        encoder = Path(folder)
        build_encoder(encoder)
        results = {}
        for mode in ("predecessor", "ours"):
            command = [sys.executable, __file__, "--measure", mode, "--encoder", str(encoder), "--steps", str(steps), "--batch_size", str(batch_size)]
            output = subprocess.run(command + (["--quick"] if args.quick else []), capture_output=True, text=True, check=True).stdout
            results[mode] = json.loads(output.strip().splitlines()[-1])
    print(f"bert-base-sized model, batch {batch_size}, {steps} timed steps per side, {Path(CORPUS).name}")
    print(f"{'':12} {'tokens/row':>10} {'tokens/s':>10} {'rows/s':>8} {'padding':>8} {'peak MiB':>9}")
    for mode, result in results.items():
        print(f"{mode:12} {result['tokens_per_row']:10.1f} {result['tokens_per_s']:10.1f} {result['rows_per_s']:8.2f} {result['padding_share']:8.1%} {result['peak_mib']:9.0f}")
    ratio = results["ours"]["tokens_per_s"] / results["predecessor"]["tokens_per_s"]
    print(f"speed-up (real tokens/s, ours / predecessor): {ratio:.2f}x  (target >= 1.8x)")


if __name__ == "__main__":
    main()
