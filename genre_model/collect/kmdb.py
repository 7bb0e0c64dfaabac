"""Korean synopses from the KMDb open API (search_json2.jsp), matched to KOBIS films by title and year.

    source = KmdbSource(client, key)
    record = source.lookup(film)          # a SynopsisRecord

Used by `python -m genre_model.collect synopses`. KMDb searches titles by
substring and marks the hits with " !HS " / " !HE ", so one query can return
several films: pick_match keeps only exact (normalized) titles and ranks them
by production year, then director, then nation.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from genre_model.collect.client import ApiClient, Request
from genre_model.collect.films import Film, parse_year
from genre_model.collect.synopses import AMBIGUOUS, MATCHED, NO_KOREAN_PLOT, NO_MATCH, SynopsisRecord

DEFAULT_URL = "https://api.koreafilm.or.kr/openapi-data2/wisenut/search_api"
KOREAN = "한국어"
# KOBIS and KMDb disagree by a year for films shot across a new year, so the
# search window is year ± 1 and the exact year only ranks first.
MAX_YEAR_GAP = 1
RESULTS_PER_QUERY = 50  # short titles match many longer ones by substring
_ERROR_FIELDS = ("message", "Message", "errMsg", "error")
_HIGHLIGHT = re.compile(r" ?!H[SE] ?")
_NOT_A_WORD = re.compile(r"[\W_]+")
# KOBIS writes 한국 where KMDb writes 대한민국.
_NATION_ALIASES = {"대한민국": "한국"}


@dataclass(frozen=True)
class KmdbFilm:
    """One search result, reduced to what matching and the dataset need."""

    doc_id: str
    title: str
    year: int | None
    nations: frozenset[str]
    directors: frozenset[str]
    korean_plot: str | None


def kmdb_url() -> str:
    return os.environ.get("KMDB_API_URL") or DEFAULT_URL


def strip_highlights(text: str) -> str:
    """KMDb text without its " !HS " / " !HE " hit markers, white space collapsed."""
    return " ".join(_HIGHLIGHT.sub("", text).split())


def normalize_title(title: str) -> str:
    """A title reduced for comparison: no markers, spaces, punctuation or case."""
    return _NOT_A_WORD.sub("", unicodedata.normalize("NFKC", strip_highlights(title))).casefold()


def nation_names(text: str) -> frozenset[str]:
    names = (name.strip() for name in text.split(","))
    return frozenset(_NATION_ALIASES.get(name, name) for name in names if name)


def kmdb_fault(payload: Any) -> str | None:
    """What a KMDb answer says went wrong, or None for search results (even empty ones)."""
    if not isinstance(payload, dict):
        return "the answer is not a JSON object"
    message = next((str(payload[field]) for field in _ERROR_FIELDS if payload.get(field)), None)
    if message is not None:
        return message
    if not isinstance(payload.get("Data"), list):
        return "the answer has no Data"
    return None


def kmdb_films(payload: dict) -> list[KmdbFilm]:
    return [_kmdb_film(item) for collection in payload["Data"] for item in collection.get("Result") or []]


def _kmdb_film(item: dict) -> KmdbFilm:
    plots = (item.get("plots") or {}).get("plot") or []
    korean = (strip_highlights(plot.get("plotText") or "") for plot in plots if plot.get("plotLang") == KOREAN)
    directors = (item.get("directors") or {}).get("director") or []
    return KmdbFilm(
        doc_id=str(item.get("DOCID") or ""),
        title=strip_highlights(item.get("title") or ""),
        year=parse_year(item.get("prodYear")),
        nations=nation_names(item.get("nation") or ""),
        directors=frozenset(strip_highlights(person.get("directorNm") or "") for person in directors) - {""},
        korean_plot=next((plot for plot in korean if plot), None),
    )


def pick_match(film: Film, candidates: list[KmdbFilm]) -> tuple[str, KmdbFilm | None]:
    """(MATCHED, the film) or (NO_MATCH / AMBIGUOUS, None)."""
    wanted = normalize_title(film.title)
    same_title = [
        candidate
        for candidate in {candidate.doc_id: candidate for candidate in candidates}.values()
        if normalize_title(candidate.title) == wanted and _year_gap(film, candidate) <= MAX_YEAR_GAP
    ]
    if not same_title:
        return NO_MATCH, None
    ranked = sorted(same_title, key=lambda candidate: _rank(film, candidate))
    if len(ranked) > 1 and _rank(film, ranked[0]) == _rank(film, ranked[1]):
        return AMBIGUOUS, None
    return MATCHED, ranked[0]


def _year_gap(film: Film, candidate: KmdbFilm) -> int:
    if film.year is None:
        return 0
    return MAX_YEAR_GAP if candidate.year is None else abs(film.year - candidate.year)


def _rank(film: Film, candidate: KmdbFilm) -> tuple[int, bool, bool]:
    """Smaller is better: year gap, then no shared director, then no shared nation."""
    shares_director = bool(set(film.directors) & candidate.directors)
    shares_nation = bool(nation_names(film.nation) & candidate.nations)
    return _year_gap(film, candidate), not shares_director, not shares_nation


class KmdbSource:
    """SynopsisSource for the KMDb open API."""

    name = "KMDb open API (search_json2.jsp, kmdb_new2)"

    def __init__(self, client: ApiClient, key: str) -> None:
        self._client = client
        self._key = key

    def lookup(self, film: Film) -> SynopsisRecord:
        payload = self._client.get_json(self._request(film), find_fault=kmdb_fault)
        status, match = pick_match(film, kmdb_films(payload))
        if match is None:
            return SynopsisRecord(film_id=film.id, status=status, synopsis=None, source=self.name)
        return SynopsisRecord(
            film_id=film.id,
            status=MATCHED if match.korean_plot else NO_KOREAN_PLOT,
            synopsis=match.korean_plot,
            source=self.name,
            source_id=match.doc_id,
            source_title=match.title,
        )

    def _request(self, film: Film) -> Request:
        params = {"collection": "kmdb_new2", "detail": "Y", "title": film.title, "listCount": str(RESULTS_PER_QUERY)}
        if film.year is not None:
            params |= {"createDts": str(film.year - MAX_YEAR_GAP), "createDte": str(film.year + MAX_YEAR_GAP)}
        return Request("KMDb", f"{kmdb_url()}/search_json2.jsp", params, secret_params={"ServiceKey": self._key})
