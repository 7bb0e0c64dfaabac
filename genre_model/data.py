"""Clean, de-duplicate and split synopsis data, leak-free, into 🤗 datasets for training.

    splits = prepare_splits(read_dataset("examples/synopses.jsonl"), DataSpec(), seed=42)
    splits.datasets["train"]          # columns: text, labels (multi-hot floats), genres, row_id, text_sha1
    splits.drop_report                # rows dropped, per rule and per split
    splits.manifest()                 # which row went where (ids and text hashes)

The order matters and is the point of this module: rows are cleaned, then
de-duplicated across *all* splits (whitespace/punctuation-insensitive), and
only then split, so no synopsis can sit in two splits. When the source already
has train/validation/test splits they are kept, and a synopsis that appears in
an earlier split is removed from the later one (train wins), and reported.
Reading the files is genre_model.tables' job; this module gets their rows.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from datasets import Dataset, DatasetDict
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

from genre_model.errors import ArgumentError, DataError
from genre_model.genres import GENRES, parse_genres, to_multi_hot
from genre_model.inputs import MIN_CHARS, synopsis_length
from genre_model.tables import SPLIT_NAMES, Table

# What is left of a synopsis after normalisation: letters and digits only, so
# two copies that differ in spacing, punctuation or width count as one.
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class DataSpec:
    """Where the data is, which columns hold what, cleaning and splitting: train.py's data arguments."""

    dataset: str | None = field(
        default=None, metadata={"required": True, "help": "CSV/TSV/JSON Lines/Parquet file, or a Hub dataset id"}
    )
    validation_file: str | None = field(
        default=None, metadata={"help": "your own validation split (otherwise carved from --dataset)"}
    )
    test_file: str | None = field(
        default=None, metadata={"help": "your own test split (otherwise carved from --dataset)"}
    )
    text_column: str = field(default="synopsis", metadata={"help": "column with the synopsis text"})
    genre_column: str = field(
        default="genres",
        metadata={"help": "column with genres: a list of names or a KOBIS string like '멜로/로맨스,드라마'"},
    )
    id_column: str | None = field(
        default="id", metadata={"help": "column with a row id, recorded in the split manifest (optional)"}
    )
    min_chars: int = field(
        default=MIN_CHARS, metadata={"help": "drop synopses shorter than this many characters, white space not counted"}
    )
    validation_fraction: float = field(
        default=0.1, metadata={"help": "share of the data for validation, when the data has no validation split"}
    )
    test_fraction: float = field(
        default=0.1, metadata={"help": "share of the data for test, when the data has no test split"}
    )


@dataclass
class DropReport:
    """How many rows each cleaning rule removed, per split, and which genre names were unknown."""

    rows_in: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, Counter] = field(default_factory=dict)
    unknown_genres: Counter = field(default_factory=Counter)

    def drop(self, split: str, rule: str) -> None:
        self.dropped.setdefault(split, Counter())[rule] += 1

    def to_dict(self) -> dict:
        return {
            "rows_in": dict(self.rows_in),
            "dropped": {split: dict(rules) for split, rules in self.dropped.items()},
            "rows_kept": {
                split: self.rows_in[split] - sum(self.dropped.get(split, {}).values()) for split in self.rows_in
            },
            "unknown_genres": dict(self.unknown_genres.most_common()),
        }


@dataclass
class PreparedSplits:
    datasets: DatasetDict
    drop_report: DropReport
    presplit: bool  # the source came with its own splits

    def manifest(self) -> dict:
        """Which rows went where: ids (when the data has them) and text hashes, per split."""
        return {
            name: {"row_ids": list(split["row_id"]), "text_sha1": list(split["text_sha1"])}
            for name, split in self.datasets.items()
        }

    def summary(self) -> dict:
        """Rows and genre counts per split, for logs and the model card."""
        summary = {}
        for name, split in self.datasets.items():
            counts = np.asarray(split["labels"]).sum(axis=0) if len(split) else np.zeros(len(GENRES))
            summary[name] = {"rows": len(split), "genre_counts": {g: int(c) for g, c in zip(GENRES, counts)}}
        return summary


def normalize_text(text: str) -> str:
    """The de-duplication key: NFKC, lower case, letters and digits only."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def text_hash(text: str) -> str:
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()


def prepare_splits(raw: dict[str, Table], spec: DataSpec, seed: int) -> PreparedSplits:
    """Clean every split, de-duplicate across all of them, then carve the missing splits out of train."""
    report = DropReport()
    cleaned = {name: clean_split(raw[name], name, spec, report) for name in SPLIT_NAMES if name in raw}
    deduped = _dedupe_in_order(cleaned, report)
    if len(deduped["train"]) < 10:
        raise DataError(
            f"only {len(deduped['train'])} usable training rows left after cleaning; drop report: {report.to_dict()}"
        )
    wanted = {"validation": spec.validation_fraction, "test": spec.test_fraction}
    missing = {name: fraction for name, fraction in wanted.items() if name not in deduped}
    carved = stratified_split(deduped.pop("train"), missing, seed)
    datasets = DatasetDict({name: (carved | deduped)[name] for name in SPLIT_NAMES})
    for name, split in datasets.items():
        if len(split) == 0:
            raise DataError(f"the {name} split is empty after cleaning; drop report: {report.to_dict()}")
    return PreparedSplits(datasets=datasets, drop_report=report, presplit=len(raw) > 1)


def clean_split(table: Table, split_name: str, spec: DataSpec, report: DropReport) -> Dataset:
    """Rows with a usable synopsis and a known genre, as columns text, genres, labels, row_id, text_sha1."""
    table.require(spec.text_column, "--text_column")
    table.require(spec.genre_column, "--genre_column")
    _check_genre_type(table.column(spec.genre_column), spec.genre_column)
    report.rows_in[split_name] = len(table)
    has_ids = spec.id_column in table.columns
    columns = {"text": [], "genres": [], "labels": [], "row_id": [], "text_sha1": []}
    for index, row in enumerate(table.rows):
        rule, text, genres = _judge_row(row.get(spec.text_column), row.get(spec.genre_column), spec, report)
        if rule:
            report.drop(split_name, rule)
            continue
        row_id = row.get(spec.id_column) if has_ids else index
        for name, item in zip(columns, (text, list(genres), to_multi_hot(genres), str(row_id), text_hash(text))):
            columns[name].append(item)
    return Dataset.from_dict(columns)


def _check_genre_type(genre_values: list, column: str) -> None:
    first_value = next((value for value in genre_values if value is not None), None)
    if first_value is not None and not isinstance(first_value, (str, list, tuple)):
        raise DataError(
            f"column '{column}' must hold a list of genre names or a string like '멜로/로맨스,드라마'; "
            f"found {type(first_value).__name__} ({first_value!r})"
        )


def _judge_row(text, genre_value, spec: DataSpec, report: DropReport) -> tuple[str | None, str, tuple[str, ...]]:
    """(the rule that drops the row or None, the stripped text, its genres)."""
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        return "empty_synopsis", text, ()
    if synopsis_length(text) < spec.min_chars:
        return "short_synopsis", text, ()
    try:
        parsed = parse_genres(genre_value)
    except TypeError:
        return "malformed_genres", text, ()
    report.unknown_genres.update(parsed.unknown)
    if parsed.excluded:
        return "excluded_adult_film", text, ()
    if not parsed.genres:
        return "no_known_genre", text, ()
    return None, text, parsed.genres


def _dedupe_in_order(splits: dict[str, Dataset], report: DropReport) -> dict[str, Dataset]:
    """Drop every row whose normalised text was seen before, in this split or an earlier one."""
    first_split_of: dict[str, str] = {}
    exact_texts: set[str] = set()
    deduped = {}
    for name, split in splits.items():
        kept = []
        for index, (text, key) in enumerate(zip(split["text"], split["text_sha1"])):
            if key not in first_split_of:
                first_split_of[key] = name
                exact_texts.add(text)
                kept.append(index)
            elif first_split_of[key] != name:
                report.drop(name, f"also_in_{first_split_of[key]}")
            else:
                report.drop(name, "duplicate_exact" if text in exact_texts else "duplicate_normalized")
        deduped[name] = split.select(kept)
    return deduped


def stratified_split(dataset: Dataset, fractions: dict[str, float], seed: int) -> dict[str, Dataset]:
    """Carve each named split (a fraction of the whole) out of `dataset` by iterative multi-label
    stratification (Sechidis et al., 2011) with a fixed seed; the rest is "train"."""
    if any(not 0 < fraction < 1 for fraction in fractions.values()) or sum(fractions.values()) >= 1:
        raise ArgumentError(f"split fractions must be in (0, 1) and leave rows for training; got {fractions}")
    labels = np.asarray(dataset["labels"]).reshape(len(dataset), len(GENRES))
    remaining, left_fraction, splits = np.arange(len(labels)), 1.0, {}
    for name, fraction in fractions.items():
        # fractions are of the whole, so rescale each to the rows still left
        remaining, held_out = _stratified_indices(labels, remaining, fraction / left_fraction, seed)
        splits[name] = dataset.select(sorted(held_out))
        left_fraction -= fraction
    splits["train"] = dataset.select(sorted(remaining))
    return splits


def _stratified_indices(
    labels: np.ndarray, indices: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    kept, held_out = next(splitter.split(np.zeros(len(indices)), labels[indices]))
    return indices[kept], indices[held_out]
