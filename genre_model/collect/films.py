"""One film as the film list describes it, whichever source (KOBIS API or website export) it came from.

films = load_films(workdir)        # after `python -m genre_model.collect films`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from genre_model.collect.workdir import Workdir, read_jsonl
from genre_model.tables import write_jsonl


@dataclass(frozen=True)
class Film:
    id: str  # KOBIS movieCd, or a stable hash for spreadsheet rows
    title: str
    title_en: str
    year: int | None  # production year
    nation: str  # "한국" or "한국,미국"
    type: str  # 장편 / 단편 / 옴니버스 / 기타
    genres: str  # as KOBIS writes them: "멜로/로맨스,드라마"
    status: str  # 개봉, 개봉예정, 기타, ...
    directors: tuple[str, ...]
    source: str  # where the film list came from, for the dataset card


def save_films(workdir: Workdir, films: list[Film]) -> None:
    write_jsonl(workdir.films, (asdict(film) for film in films))


def load_films(workdir: Workdir) -> list[Film]:
    return [
        Film(**{**record, "directors": tuple(record["directors"])})
        for record in read_jsonl(workdir.films, made_by="films")
    ]


def parse_year(value: object) -> int | None:
    """A production year from "2019", 2019 or 2019.0; None when there is none."""
    text = str(value).strip() if value is not None else ""
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def unique_by_id(films: list[Film]) -> list[Film]:
    """The films in their first order, each id once (a list can shift between pages, an export can repeat rows)."""
    first: dict[str, Film] = {}
    for film in films:
        first.setdefault(film.id, film)
    return list(first.values())
