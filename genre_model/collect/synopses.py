"""Looking up each film's Korean synopsis, from any source that implements SynopsisSource.

    records = collect_synopses(films, KmdbSource(client, key))
    save_synopses(workdir, records)

A new source (another database, a scraper) is one class with a `name` and a
`lookup(film)`; the loop, the progress bar and the record format stay here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Protocol

from tqdm import tqdm

from genre_model.collect.films import Film
from genre_model.collect.workdir import Workdir, read_jsonl
from genre_model.tables import write_jsonl

MATCHED = "matched"
NO_MATCH = "no_match"  # the source knows no film with this title and year
NO_KOREAN_PLOT = "no_korean_plot"  # the film is there, but without a plot in Korean
AMBIGUOUS = "ambiguous"  # several films fit equally well: taking one could attach the wrong synopsis

STATUS_DESCRIPTIONS = {
    MATCHED: "synopsis found",
    NO_MATCH: "no film with that title and year at the source",
    NO_KOREAN_PLOT: "film found, but no Korean synopsis",
    AMBIGUOUS: "several films fit equally well",
}


@dataclass(frozen=True)
class SynopsisRecord:
    film_id: str
    status: str  # one of STATUS_DESCRIPTIONS
    synopsis: str | None
    source: str
    source_id: str | None = None  # the source's id of the matched film
    source_title: str | None = None


class SynopsisSource(Protocol):
    name: str  # shown in the dataset card's sources

    def lookup(self, film: Film) -> SynopsisRecord: ...


def collect_synopses(films: list[Film], source: SynopsisSource) -> list[SynopsisRecord]:
    """One record per film, in film order."""
    records = []
    statuses: Counter[str] = Counter()
    with tqdm(films, unit="film", desc="synopses") as progress:
        for film in progress:
            record = source.lookup(film)
            records.append(record)
            statuses[record.status] += 1
            progress.set_postfix(statuses, refresh=False)
    return records


def save_synopses(workdir: Workdir, records: list[SynopsisRecord]) -> None:
    write_jsonl(workdir.synopses, (asdict(record) for record in records))


def load_synopses(workdir: Workdir) -> dict[str, SynopsisRecord]:
    """The records by film id."""
    records = (SynopsisRecord(**record) for record in read_jsonl(workdir.synopses, made_by="synopses"))
    return {record.film_id: record for record in records}
