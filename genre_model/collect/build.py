"""The dataset from the film list and the synopses: rules applied, genres mapped, duplicates removed.

    report = build_rows(load_films(workdir), load_synopses(workdir), FilmRules())
    write_dataset(report.rows, workdir.dataset)

Rows have the columns train.py reads (`--text_column synopsis --genre_column genres`):
id, title, year, nation, genres (canonical names in GENRES order), synopsis.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from genre_model.collect.films import Film
from genre_model.collect.rules import FilmRules, film_drop_reason
from genre_model.collect.synopses import MATCHED, STATUS_DESCRIPTIONS, SynopsisRecord
from genre_model.data import normalize_text
from genre_model.genres import parse_genres
from genre_model.tables import write_jsonl

PARQUET_FILE = "genre_synopses.parquet"
JSONL_FILE = "genre_synopses.jsonl"
NOT_LOOKED_UP = "not_looked_up"
DUPLICATE = "duplicate"


@dataclass
class BuildReport:
    films: int  # in the film list
    rules: dict[str, str]  # rule -> what it removes, in the order applied
    dropped: Counter[str] = field(default_factory=Counter)  # rule -> films it removed
    unknown_genres: Counter[str] = field(default_factory=Counter)  # genre names not in GENRES -> films
    sources: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

    def rule_counts(self) -> list[tuple[str, int, int]]:
        """(what the rule removes, films removed, films left) for each rule, in order."""
        left = self.films
        counts = []
        for rule, description in self.rules.items():
            left -= self.dropped[rule]
            counts.append((description, self.dropped[rule], left))
        return counts


def build_rows(
    films: list[Film], synopses: dict[str, SynopsisRecord], rules: FilmRules, *, drop_duplicates: bool = True
) -> BuildReport:
    report = BuildReport(films=len(films), rules=_all_rules(rules, drop_duplicates))
    seen_synopses: set[str] = set()
    for film in films:
        reason = film_drop_reason(film, rules)
        if reason is not None:
            report.dropped[reason] += 1
            continue
        parsed = parse_genres(film.genres)
        report.unknown_genres.update(parsed.unknown)
        record = synopses.get(film.id)
        reason = _synopsis_drop_reason(record, seen_synopses, drop_duplicates)
        if reason is not None:
            report.dropped[reason] += 1
            continue
        seen_synopses.add(normalize_text(record.synopsis))
        report.rows.append(
            {
                "id": film.id,
                "title": film.title,
                "year": film.year,
                "nation": film.nation,
                "genres": list(parsed.genres),
                "synopsis": record.synopsis,
            }
        )
        _add_source(report, film.source)
        _add_source(report, record.source)
    return report


def _all_rules(rules: FilmRules, drop_duplicates: bool) -> dict[str, str]:
    synopsis_rules = {
        NOT_LOOKED_UP: "no synopsis: not looked up (rerun `synopses` with the same rule flags)",
        **{status: f"no synopsis: {text}" for status, text in STATUS_DESCRIPTIONS.items() if status != MATCHED},
    }
    duplicates = (
        {DUPLICATE: "same synopsis as an earlier film (ignoring spacing, punctuation and case, as train.py does)"}
        if drop_duplicates
        else {}
    )
    return rules.descriptions() | synopsis_rules | duplicates


def _synopsis_drop_reason(record: SynopsisRecord | None, seen: set[str], drop_duplicates: bool) -> str | None:
    if record is None:
        return NOT_LOOKED_UP
    if record.status != MATCHED:
        return record.status
    if drop_duplicates and normalize_text(record.synopsis) in seen:
        return DUPLICATE
    return None


def _add_source(report: BuildReport, source: str) -> None:
    if source not in report.sources:
        report.sources.append(source)


def write_dataset(rows: list[dict], out_dir: Path) -> tuple[Path, Path]:
    """The rows as Parquet and as JSON Lines; returns both paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("id", pa.string()),
            ("title", pa.string()),
            ("year", pa.int64()),
            ("nation", pa.string()),
            ("genres", pa.list_(pa.string())),
            ("synopsis", pa.string()),
        ]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet_path = out_dir / PARQUET_FILE
    partial = parquet_path.with_name(parquet_path.name + ".partial")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), partial)
    os.replace(partial, parquet_path)
    jsonl_path = out_dir / JSONL_FILE
    write_jsonl(jsonl_path, rows)
    return parquet_path, jsonl_path
