"""genre_model.batching: length-grouped, reproducible training batches padded only to their own longest row."""

import numpy as np
from datasets import Dataset

from genre_model.batching import Augmentation, LengthGroupedSampler, tokenize, train_dataloader
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
    batches = list(train_dataloader(encoded, tokenizer, batch_size=8, seed=0, max_length=256))
    padded_grouped = sum(batch["input_ids"].numel() for batch in batches)
    padded_random = sum(max(lengths[i : i + 8]) * len(lengths[i : i + 8]) for i in range(0, len(lengths), 8))
    assert sum(len(batch["input_ids"]) for batch in batches) == len(lengths)
    assert padded_grouped < 0.9 * padded_random
    assert batches[0]["labels"].dtype.is_floating_point and batches[0]["labels"].shape[1] == 20


def test_augmented_batches_crop_long_synopses_and_hide_tokens_the_same_way_every_time(tiny_encoder):
    rows = read_corpus(limit=64)
    dataset = Dataset.from_dict(
        {"text": [r["synopsis"] for r in rows], "labels": [to_multi_hot(r["genres"]) for r in rows]}
    )
    tokenizer = load_tokenizer(str(tiny_encoder), max_length=48)
    whole = tokenize(dataset, tokenizer, 48, whole=True)
    assert max(map(len, whole["input_ids"])) > 48 and max(whole["length"]) == 48
    augmentation = Augmentation(random_crop=True, token_dropout=0.2)

    def epoch_batches(epoch):
        loader = train_dataloader(whole, tokenizer, batch_size=8, seed=3, max_length=48, augmentation=augmentation)
        loader.sampler.set_epoch(epoch)
        return [batch["input_ids"].tolist() for batch in loader]

    first, again, next_epoch = epoch_batches(0), epoch_batches(0), epoch_batches(1)
    assert first == again != next_epoch  # drawn from (seed, epoch, row) only: a resumed run sees the same batches
    ids = [row for batch in first for row in batch]
    assert max(sum(token != tokenizer.pad_token_id for token in row) for row in ids) == 48
    assert all(row[0] == tokenizer.cls_token_id for row in ids)
    hidden = sum(row.count(tokenizer.mask_token_id) for row in ids) / sum(len(row) for row in ids)
    assert 0.1 < hidden < 0.25
    # a long synopsis is read from a different place from epoch to epoch, never past its end
    longest = int(np.argmax([len(row) for row in whole["input_ids"]]))
    loader = train_dataloader(
        whole, tokenizer, batch_size=8, seed=3, max_length=48, augmentation=Augmentation(random_crop=True)
    )
    crops = []
    for epoch in range(5):
        loader.sampler.set_epoch(epoch)
        crops.append(loader.collate_fn([whole[longest]])["input_ids"][0].tolist())
    assert len({tuple(crop) for crop in crops}) > 1 and all(crop[-1] == tokenizer.sep_token_id for crop in crops)
