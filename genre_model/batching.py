"""Batches that waste little padding: tokenisation with dynamic padding and length-grouped sampling.

Synopses run from ~60 to ~600 tokens. Padding every row to a fixed length (the
predecessor padded to 300) spends most of the compute on [PAD]; padding each
batch to its own longest row, and putting rows of similar length together,
removes most of that waste (benchmarks/train_speed.py measures it).
"""

from __future__ import annotations

import torch
from datasets import Dataset, List, Value
from torch.utils.data import DataLoader, Sampler
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase
from transformers.trainer_pt_utils import get_length_grouped_indices

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "labels")


def tokenize(dataset: Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Dataset:
    """Token ids (truncated to `max_length`, not padded), float32 labels and a `length` column."""

    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    encoded = dataset.map(encode, batched=True, desc="tokenizing")
    # BCE-with-logits wants float targets of the logits' dtype
    return encoded.cast_column("labels", List(Value("float32")))


class LengthGroupedSampler(Sampler[int]):
    """A random order in which neighbours have similar lengths, reshuffled each epoch.

    The order depends only on (seed, epoch), so every process draws the same one
    (accelerate then deals whole batches out to processes) and a resumed run sees
    the batches an uninterrupted run would have seen.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        self.lengths, self.batch_size, self.seed, self.epoch = lengths, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


def _private_generator() -> torch.Generator:
    # Each new DataLoader iterator draws a seed from its generator, or from torch's global RNG
    # when it has none. That draw would shift dropout's random stream whenever a resumed run
    # opens an iterator an uninterrupted run did not, so iterators draw from their own RNG.
    return torch.Generator().manual_seed(0)


def _model_inputs_only(dataset: Dataset) -> Dataset:
    return dataset.select_columns([column for column in MODEL_INPUTS if column in dataset.column_names])


def train_dataloader(
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int,
    seed: int,
    pad_to_multiple_of: int | None = None,
) -> DataLoader:
    sampler = LengthGroupedSampler(dataset["length"], batch_size, seed)
    collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)
    return DataLoader(
        _model_inputs_only(dataset),
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collator,
        generator=_private_generator(),
    )
