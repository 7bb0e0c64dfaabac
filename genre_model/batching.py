"""Training batches: little padding, reproducible order, and optional augmentation (random crops, token dropout).

Synopses run from ~20 to ~1,000 tokens. Padding every row to a fixed length (the
predecessor padded to 300) spends most of the compute on [PAD]; padding each
batch to its own longest row, and putting rows of similar length together,
removes most of that waste (benchmarks/train_speed.py measures it).

Augmentation, for small training sets (the demo model's): with `random_crop`, a
synopsis longer than the window is read from a random place each epoch rather
than always from its start (the predictor reads all of it, in windows); with
`token_dropout`, a share of its tokens is hidden behind [MASK] each time it is
read, so the model cannot lean on a few words. Both draw from (seed, epoch,
row) only, so a resumed run sees exactly the batches an uninterrupted one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset, List, Value
from torch.utils.data import DataLoader, Sampler
from transformers import PreTrainedTokenizerBase
from transformers.trainer_pt_utils import get_length_grouped_indices


@dataclass(frozen=True)
class Augmentation:
    random_crop: bool = False  # a random window of a long synopsis each epoch, not always its first
    token_dropout: float = 0.0  # share of tokens hidden behind [MASK] each time a synopsis is read

    @property
    def active(self) -> bool:
        return self.random_crop or self.token_dropout > 0


def tokenize(dataset: Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int, whole: bool = False) -> Dataset:
    """Token ids (not padded; truncated to `max_length` unless `whole`), float32 labels, a `length` column
    (the tokens a batch will hold: at most `max_length`) and a `row` column (the row's index)."""

    def encode(batch, indices):
        encoded = tokenizer(batch["text"], truncation=not whole, max_length=None if whole else max_length)
        encoded["length"] = [min(len(ids), max_length) for ids in encoded["input_ids"]]
        encoded["row"] = indices
        return encoded

    encoded = dataset.map(encode, batched=True, with_indices=True, desc="tokenizing")
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


class TrainingCollator:
    """Crops and hides tokens as `augmentation` says (randomness from seed, epoch and row), then pads the batch."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int,
        augmentation: Augmentation,
        seed: int,
        sampler: LengthGroupedSampler,
        pad_to_multiple_of: int | None = None,
    ):
        self.tokenizer, self.max_length, self.augmentation, self.seed = tokenizer, max_length, augmentation, seed
        self.sampler, self.pad_to_multiple_of = sampler, pad_to_multiple_of  # the sampler knows the epoch
        self.hidden_id = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.unk_token_id

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        rows = [self._augmented(feature) for feature in features]
        batch = self.tokenizer.pad(
            [{"input_ids": ids} for ids in rows], pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt"
        )
        batch["labels"] = torch.tensor([feature["labels"] for feature in features], dtype=torch.float32)
        return dict(batch)

    def _augmented(self, feature: dict) -> list[int]:
        ids = list(feature["input_ids"])
        if not self.augmentation.active:
            return ids
        rng = np.random.default_rng((self.seed, self.sampler.epoch, feature["row"]))
        first, body, last = ids[:1], ids[1:-1], ids[-1:]  # [CLS] ... [SEP] stay in place
        room = self.max_length - 2
        if len(body) > room:
            start = int(rng.integers(0, len(body) - room + 1)) if self.augmentation.random_crop else 0
            body = body[start : start + room]
        if self.augmentation.token_dropout > 0:
            hidden = rng.random(len(body)) < self.augmentation.token_dropout
            body = [self.hidden_id if hide else token for token, hide in zip(body, hidden)]
        return first + body + last


def _private_generator() -> torch.Generator:
    # Each new DataLoader iterator draws a seed from its generator, or from torch's global RNG
    # when it has none. That draw would shift dropout's random stream whenever a resumed run
    # opens an iterator an uninterrupted run did not, so iterators draw from their own RNG.
    return torch.Generator().manual_seed(0)


def train_dataloader(
    dataset: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int,
    seed: int,
    max_length: int,
    augmentation: Augmentation = Augmentation(),
    pad_to_multiple_of: int | None = None,
) -> DataLoader:
    """Length-grouped batches of a `tokenize`d dataset (tokenized `whole` when `augmentation.random_crop`)."""
    sampler = LengthGroupedSampler(dataset["length"], batch_size, seed)
    collator = TrainingCollator(tokenizer, max_length, augmentation, seed, sampler, pad_to_multiple_of)
    return DataLoader(
        dataset.select_columns(["input_ids", "labels", "row"]),
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collator,
        generator=_private_generator(),
    )
