"""The dataset card (README.md with Hub YAML front matter) and its genre chart, written from a BuildReport.

    write_card(report, Path("data/collect/dataset"))

Written by `python -m genre_model.collect build`; every number in it comes
from the build that produced the data files next to it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from genre_model.charts import bar_chart
from genre_model.collect.build import JSONL_FILE, PARQUET_FILE, BuildReport
from genre_model.genres import GENRES

CARD_FILE = "README.md"
CHART_FILE = "genre_distribution.png"
_SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(rows: int) -> str:
    """The Hub's size_categories tag for a dataset of `rows` rows."""
    return next((label for limit, label in _SIZE_CATEGORIES if rows < limit), "1M<n<10M")


def genre_counts(rows: list[dict]) -> dict[str, int]:
    """Films per genre, most frequent first; genres no film has are listed with 0."""
    counts = Counter(genre for row in rows for genre in row["genres"])
    return dict(sorted(((genre, counts[genre]) for genre in GENRES), key=lambda item: -item[1]))


def write_card(report: BuildReport, out_dir: Path) -> Path:
    counts = genre_counts(report.rows)
    bar_chart(counts, out_dir / CHART_FILE, title="Films per genre", xlabel="films")
    path = out_dir / CARD_FILE
    path.write_text(f"---\n{_front_matter(len(report.rows))}---\n\n{_body(report, counts)}", encoding="utf-8")
    return path


def _front_matter(rows: int) -> str:
    from huggingface_hub import DatasetCardData

    return (
        DatasetCardData(
            language=["ko"],
            license="other",
            task_categories=["text-classification"],
            task_ids=["multi-label-classification"],
            size_categories=[size_category(rows)],
            pretty_name="Korean film synopses with genres (KOBIS + KMDb)",
            configs=[{"config_name": "default", "data_files": [{"split": "train", "path": PARQUET_FILE}]}],
        ).to_yaml()
        + "\n"
    )


def _table(header: tuple[str, ...], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _body(report: BuildReport, counts: dict[str, int]) -> str:
    total = len(report.rows)
    rule_table = _table(("films removed by", "removed", "left"), report.rule_counts())
    unknown = (
        _table(("genre name", "films"), report.unknown_genres.most_common())
        if report.unknown_genres
        else "None: every genre name was mapped."
    )
    genre_table = _table(
        ("genre", "films", "share of films"),
        [(genre, count, f"{count / total:.1%}") for genre, count in counts.items()],
    )
    sources = "\n".join(f"- {source}" for source in report.sources)
    return f"""# Korean film synopses with genres (KOBIS + KMDb)

{total} Korean film synopses, each labelled with one or more of {len(GENRES)} genres (multi-label), for training
genre_model: `train.py --text_column synopsis --genre_column genres`.
Built on {date.today().isoformat()} by `python -m genre_model.collect build`.

## Terms of use

The film list comes from KOBIS (Korean Film Council, 영화진흥위원회) and the synopses from KMDb (Korean Film
Archive, 한국영상자료원). Their terms of use decide what you may do with this data, not this card: **check the
KOBIS and KMDb open API terms before you use, share or publish it.** `license: other` records that no open
license is granted here.

## Files and columns

`{PARQUET_FILE}` and `{JSONL_FILE}` hold the same rows.

| column | meaning |
|---|---|
| id | KOBIS movieCd (`xlsx-` and a hash for films from the KOBIS website export) |
| title | Korean title |
| year | production year |
| nation | production countries, as KOBIS writes them |
| genres | genres in genre_model's order ({", ".join(GENRES)}) |
| synopsis | Korean synopsis (KMDb plot, language 한국어) |

## How the films were selected

{report.films} films in the film list; each rule removes films the rules above it kept.

{rule_table}

Genre names not among the {len(GENRES)} genres (left out of `genres`), in the films that passed the film rules:

{unknown}

## Genre distribution

{genre_table}

![Films per genre]({CHART_FILE})

## Sources

{sources}
"""
