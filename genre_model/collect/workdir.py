"""Where each collection step keeps its output, and how JSON Lines files are written and read.

    workdir = Workdir(Path("data/collect"))
    write_jsonl(workdir.films, records); read_jsonl(workdir.films, made_by="films")

Files are written to a temporary name and renamed, so a killed run never leaves
a half-written list for the next step to trust.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from genre_model.collect.errors import CollectError


@dataclass(frozen=True)
class Workdir:
    root: Path

    @property
    def cache(self) -> Path:
        return self.root / "cache.sqlite"

    @property
    def films(self) -> Path:
        return self.root / "films.jsonl"

    @property
    def synopses(self) -> Path:
        return self.root / "synopses.jsonl"

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"


def write_jsonl(path: Path, records: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(partial, path)


def read_jsonl(path: Path, *, made_by: str) -> list[dict]:
    """The records of a file an earlier step wrote; `made_by` names that step for the error message."""
    if not path.is_file():
        raise CollectError(
            f"{path} not found: run `python -m genre_model.collect {made_by} --workdir {path.parent}` first"
        )
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]
