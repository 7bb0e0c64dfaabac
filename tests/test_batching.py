"""genre_model.batching: length-grouped, reproducible training batches padded only to their own longest row."""

from datasets import Dataset

from genre_model.batching import LengthGroupedSampler, tokenize, train_dataloader
from genre_model.genres import to_multi_hot
from genre_model.modeling import load_tokenizer

from helpers import read_corpus


def _encoded(tiny_encoder, limit=480):
    rows = read_corpus(limit=limit)
    dataset = Dataset.from_dict(
        {"text": [r["synopsis"] for r in rows], "labels": [to_multi_hot(r["genres"]) for r in rows]}
    )
    tokenizer = load_tokenizer(str(tiny_encoder), max_length=256)
    return tokenize(dataset, tokenizer, 256), tokenizer


def test_the_order_depends_only_on_seed_and_epoch():
    lengths = list(range(100))
    first, again, other_epoch = (
        LengthGroupedSampler(lengths, 8, seed=3),
        LengthGroupedSampler(lengths, 8, seed=3),
        LengthGroupedSampler(lengths, 8, seed=3),
    )
    other_epoch.set_epoch(1)
    assert list(first) == list(again) != list(other_epoch)
    assert sorted(first) == lengths


def test_training_batches_pad_far_less_than_random_batches(tiny_encoder):
    encoded, tokenizer = _encoded(tiny_encoder)
    lengths = encoded["length"]
    batches = list(train_dataloader(encoded, tokenizer, batch_size=8, seed=0))
    padded_grouped = sum(batch["input_ids"].numel() for batch in batches)
    padded_random = sum(max(lengths[i : i + 8]) * len(lengths[i : i + 8]) for i in range(0, len(lengths), 8))
    assert sum(len(batch["input_ids"]) for batch in batches) == len(lengths)
    assert padded_grouped < 0.9 * padded_random
    assert batches[0]["labels"].dtype.is_floating_point and batches[0]["labels"].shape[1] == 20
