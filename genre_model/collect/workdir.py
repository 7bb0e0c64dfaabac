"""Where each collection step keeps its output, and how a step reads what an earlier one wrote.

    workdir = Workdir(Path("data/collect"))
    write_jsonl(workdir.films, records); read_jsonl(workdir.films, made_by="films")

Files are written by genre_model.tables.write_jsonl, to a temporary name and
renamed, so a killed run never leaves a half-written list for the next step to trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genre_model.collect.errors import CollectError
from genre_model.tables import read_table


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


def read_jsonl(path: Path, *, made_by: str) -> list[dict]:
    """The records of a file an earlier step wrote; `made_by` names that step for the error message."""
    if not path.is_file():
        raise CollectError(
            f"{path} not found: run `python -m genre_model.collect {made_by} --workdir {path.parent}` first"
        )
    return read_table(path).rows if path.stat().st_size else []
