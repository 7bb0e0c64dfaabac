"""Read and write tables of synopses: the one reader for train.py, the batch CLI, the collector, the app and the tests.

    table = read_table("films.csv")              # CSV, TSV, JSON Lines (or a JSON array), Parquet, .txt
    table.rows[0]["synopsis"]; table.columns
    table.require("synopsis", "--text_column")   # DataError naming the columns there are and the flag to pass
    splits = read_dataset("data/films.parquet")  # {"train": Table} ... or a Hub dataset id's splits
    write_jsonl("out/rows.jsonl", rows)          # written to a temporary name, then renamed

Rows come back as they are in the file, in order, as plain dicts: cleaning is
genre_model.data's job, and the batch CLI keeps every row, usable or not.
A `.txt` file is one synopsis a line, in a column named `text_column`.
Only a Hub dataset id needs 🤗 datasets, and imports it then: the serving side
reads files without it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from genre_model.errors import DataError

FORMATS = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".txt")
SPLIT_NAMES = ("train", "validation", "test")
# Column names that usually hold what an option asks for, to suggest the right flag in an error.
_LIKELY_COLUMNS = {
    "--text_column": ("synopsis", "plot", "text", "overview", "description", "story", "줄거리", "plotText"),
    "--genre_column": ("genres", "genre", "labels", "장르", "genreAlt", "repGenreNm"),
}
_SPLIT_ALIASES = {"valid": "validation", "dev": "validation", "val": "validation"}


@dataclass(frozen=True)
class Table:
    """The rows of one file (or one split of a Hub dataset), in order, and its column names."""

    source: str
    rows: list[dict]
    columns: list[str]

    def __len__(self) -> int:
        return len(self.rows)

    def require(self, column: str, option: str) -> None:
        """DataError unless `column` exists: the message lists the columns and suggests the `option` to pass."""
        if column in self.columns:
            return
        likely = [name for name in self.columns if name in _LIKELY_COLUMNS.get(option, ())]
        suggestion = likely[0] if likely else (self.columns[0] if self.columns else "<name>")
        raise DataError(
            f"column {column!r} not found in {self.source}; available: {', '.join(self.columns) or '(none)'}. "
            f"Pass {option} {suggestion}"
        )

    def column(self, name: str) -> list:
        """The values of one column, None where a row lacks it."""
        return [row.get(name) for row in self.rows]


def read_table(path: str | Path, *, text_column: str = "synopsis") -> Table:
    """Every row of a local CSV/TSV, JSON Lines (or JSON array), Parquet or .txt file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty: it holds no rows")
    try:
        rows, columns = _READERS[suffix](path, text_column)
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8") from error
    if not rows:
        raise DataError(f"{path} holds no rows")
    return Table(str(path), rows, columns)


def read_dataset(source: str, validation_file: str | None = None, test_file: str | None = None) -> dict[str, Table]:
    """train.py's data: a local file (plus optional validation and test files), or the splits of a Hub dataset id."""
    files = {"train": source, "validation": validation_file, "test": test_file}
    local = Path(source).exists() or Path(source).suffix.lower() in FORMATS
    if local:
        return {split: read_table(path) for split, path in files.items() if path}
    if validation_file or test_file:
        raise DataError("--validation_file/--test_file go with a local --dataset file, not a Hub dataset id")
    return _read_hub_dataset(source)


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    """JSON Lines, one object a line, Hangul as is; a killed run never leaves half a file under `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with partial.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(partial, path)
    return path


def _read_delimited(path: Path, _text_column: str) -> tuple[list[dict], list[str]]:
    # utf-8-sig: files saved by Excel start with a byte-order mark
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        # a row with more cells than the header keeps them under None: not a column anyone named
        rows = [{key: value for key, value in row.items() if key is not None} for row in reader]
        return rows, list(reader.fieldnames or [])


def _read_json(path: Path, _text_column: str) -> tuple[list[dict], list[str]]:
    with open(path, encoding="utf-8-sig") as file:
        text = file.read()
    if text.lstrip().startswith("["):  # one JSON array of objects
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from error
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise DataError(
                    f"{path}, line {number}: not a JSON object ({error.msg}); expected JSON Lines, one object a line"
                ) from error
    if not all(isinstance(row, dict) for row in rows):
        raise DataError(f'{path}: every row must be a JSON object such as {{"synopsis": "...", "genres": [...]}}')
    return rows, list(dict.fromkeys(key for row in rows for key in row))


def _read_parquet(path: Path, _text_column: str) -> tuple[list[dict], list[str]]:
    import pyarrow.parquet as pq
    from pyarrow import ArrowException

    try:
        table = pq.read_table(path)
    except (ArrowException, OSError) as error:
        raise DataError(f"{path}: not a readable Parquet file ({error})") from error
    return table.to_pylist(), list(table.column_names)


def _read_lines(path: Path, text_column: str) -> tuple[list[dict], list[str]]:
    with open(path, encoding="utf-8-sig") as file:
        return [{text_column: line.strip()} for line in file if line.strip()], [text_column]


_READERS = {
    ".csv": _read_delimited,
    ".tsv": _read_delimited,
    ".jsonl": _read_json,
    ".json": _read_json,
    ".parquet": _read_parquet,
    ".txt": _read_lines,
}


def _read_hub_dataset(dataset_id: str) -> dict[str, Table]:
    from datasets import load_dataset

    try:
        loaded = load_dataset(dataset_id)
    except Exception as error:  # datasets raises many types; the user needs one message
        first_line = next(iter(str(error).strip().splitlines()), type(error).__name__)
        raise DataError(f"could not load the dataset {dataset_id!r} from the Hugging Face Hub: {first_line}") from error
    ours = {_SPLIT_ALIASES.get(name, name): name for name in loaded if _SPLIT_ALIASES.get(name, name) in SPLIT_NAMES}
    if "train" not in ours:
        raise DataError(f"the dataset {dataset_id!r} has no 'train' split; it has {', '.join(loaded)}")
    return {
        split: Table(f"{dataset_id} ({theirs})", loaded[theirs].to_list(), list(loaded[theirs].column_names))
        for split, theirs in ours.items()
    }
