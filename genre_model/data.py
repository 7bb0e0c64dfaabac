"""Load, clean, de-duplicate and split synopsis data, leak-free, on 🤗 datasets.

    splits = prepare_splits(load_raw("examples/synopses.jsonl"), DataSpec(), seed=42)
    splits.datasets["train"]          # columns: text, labels (multi-hot floats), genres, row_id, ...
    splits.drop_report                # rows dropped, per rule and per split
    splits.manifest()                 # which row went where (ids and text hashes)

The order matters and is the point of this module: rows are cleaned, then
de-duplicated across *all* splits (whitespace/punctuation-insensitive), and
only then split, so no synopsis can sit in two splits. When the source already
has train/validation/test splits they are kept, and a synopsis that appears in
an earlier split is removed from the later one (train wins), and reported.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict, load_dataset
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

from genre_model.genres import GENRES, parse_genres, to_multi_hot

SPLIT_NAMES = ("train", "validation", "test")
_LOCAL_FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
# What is left of a synopsis after normalisation: letters and digits only, so
# two copies that differ in spacing, punctuation or width count as one.
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


class DataError(ValueError):
    """The data cannot be used as given; the message says what to change."""


@dataclass(frozen=True)
class DataSpec:
    """Which columns hold what, and how strict cleaning is."""

    text_column: str = "synopsis"
    genre_column: str = "genres"
    id_column: str | None = "id"  # kept for the split manifest when present
    min_chars: int = 20
    validation_fraction: float = 0.1
    test_fraction: float = 0.1


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
            "rows_kept": {split: self.rows_in[split] - sum(self.dropped.get(split, {}).values()) for split in self.rows_in},
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


def load_raw(source: str, validation_file: str | None = None, test_file: str | None = None) -> DatasetDict:
    """Read a CSV/TSV/JSON Lines/Parquet file (plus optional validation/test files) or a Hub dataset id."""
    files = {"train": source, "validation": validation_file, "test": test_file}
    files = {split: path for split, path in files.items() if path}
    if Path(source).exists() or Path(source).suffix.lower() in _LOCAL_FORMATS:
        return _load_local(files)
    if len(files) > 1:
        raise DataError("--validation_file/--test_file go with a local --dataset file, not a Hub dataset id")
    try:
        loaded = load_dataset(source)
    except Exception as error:  # datasets raises many types; the user needs one message
        raise DataError(f"could not load dataset '{source}' from the Hugging Face Hub: {error}") from error
    return DatasetDict({ours: loaded[theirs] for ours, theirs in _known_split_names(loaded).items()})


def _load_local(files: dict[str, str]) -> DatasetDict:
    for path in files.values():
        if not Path(path).is_file():
            raise DataError(f"data file not found: {path}")
        if Path(path).stat().st_size == 0:
            raise DataError(f"data file is empty: {path}")
    suffixes = {Path(path).suffix.lower() for path in files.values()}
    if len(suffixes) != 1 or (suffix := suffixes.pop()) not in _LOCAL_FORMATS:
        raise DataError(f"data files must share one format among {', '.join(sorted(_LOCAL_FORMATS))}; got {sorted(files.values())}")
    options = {"delimiter": "\t"} if suffix == ".tsv" else {}
    try:
        return load_dataset(_LOCAL_FORMATS[suffix], data_files=files, **options)
    except Exception as error:
        raise DataError(f"could not read {', '.join(files.values())}: {error}") from error


def _known_split_names(loaded: DatasetDict) -> dict[str, str]:
    """Our split name -> the source's, for the splits we use."""
    aliases = {"valid": "validation", "dev": "validation", "val": "validation"}
    renamed = {aliases.get(name, name): name for name in loaded if aliases.get(name, name) in SPLIT_NAMES}
    if "train" not in renamed:
        raise DataError(f"dataset has no 'train' split; found {', '.join(loaded)}")
    return renamed


def prepare_splits(raw: DatasetDict, spec: DataSpec, seed: int) -> PreparedSplits:
    """Clean every split, de-duplicate across all of them, then carve the missing splits out of train."""
    report = DropReport()
    cleaned = {name: clean_split(raw[name], name, spec, report) for name in SPLIT_NAMES if name in raw}
    deduped = _dedupe_in_order(cleaned, report)
    if len(deduped["train"]) < 10:
        raise DataError(f"only {len(deduped['train'])} usable training rows left after cleaning; drop report: {report.to_dict()}")
    wanted = {"validation": spec.validation_fraction, "test": spec.test_fraction}
    missing = {name: fraction for name, fraction in wanted.items() if name not in deduped}
    carved = stratified_split(deduped.pop("train"), missing, seed)
    datasets = DatasetDict({name: (carved | deduped)[name] for name in SPLIT_NAMES})
    for name, split in datasets.items():
        if len(split) == 0:
            raise DataError(f"the {name} split is empty after cleaning; drop report: {report.to_dict()}")
    return PreparedSplits(datasets=datasets, drop_report=report, presplit=len(raw) > 1)


def clean_split(split: Dataset, split_name: str, spec: DataSpec, report: DropReport) -> Dataset:
    """Keep rows with a usable synopsis and at least one known genre; add text, labels, genres, row_id."""
    _check_columns(split, spec)
    report.rows_in[split_name] = len(split)
    texts, genre_values = split[spec.text_column], split[spec.genre_column]
    _check_genre_type(genre_values, spec.genre_column)
    ids = split[spec.id_column] if spec.id_column in split.column_names else range(len(split))
    kept, columns = [], {"text": [], "genres": [], "labels": [], "row_id": [], "text_sha1": []}
    for index, (text, value, row_id) in enumerate(zip(texts, genre_values, ids)):
        rule, text, genres = _judge_row(text, value, spec, report)
        if rule:
            report.drop(split_name, rule)
            continue
        kept.append(index)
        for name, item in zip(columns, (text, list(genres), to_multi_hot(genres), str(row_id), text_hash(text))):
            columns[name].append(item)
    cleaned = split.select(kept)
    for name, values in columns.items():
        if name in cleaned.column_names:
            cleaned = cleaned.remove_columns(name)
        cleaned = cleaned.add_column(name, values)
    return cleaned


def _check_columns(split: Dataset, spec: DataSpec) -> None:
    available = ", ".join(split.column_names)
    for option, column in (("--text_column", spec.text_column), ("--genre_column", spec.genre_column)):
        if column not in split.column_names:
            raise DataError(f"column '{column}' not found; available: {available}. Pass {option} <name>")
    if len(split) == 0:
        raise DataError("the data has no rows")


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
    if len(text) < spec.min_chars:
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
        raise DataError(f"split fractions must be in (0, 1) and leave rows for training; got {fractions}")
    labels = np.asarray(dataset["labels"]).reshape(len(dataset), len(GENRES))
    remaining, left_fraction, splits = np.arange(len(labels)), 1.0, {}
    for name, fraction in fractions.items():
        # fractions are of the whole, so rescale each to the rows still left
        remaining, held_out = _stratified_indices(labels, remaining, fraction / left_fraction, seed)
        splits[name] = dataset.select(sorted(held_out))
        left_fraction -= fraction
    splits["train"] = dataset.select(sorted(remaining))
    return splits


def _stratified_indices(labels: np.ndarray, indices: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    kept, held_out = next(splitter.split(np.zeros(len(indices)), labels[indices]))
    return indices[kept], indices[held_out]
