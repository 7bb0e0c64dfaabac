"""The KOBIS film list through the KOBIS open API (searchMovieList.json), page by page.

    films = fetch_film_list(client, key, years=(2000, 2023))

Used by `python -m genre_model.collect films`; every page goes through the
response cache, so an interrupted listing resumes at the first missing page.
"""

from __future__ import annotations

import math
import os
from typing import Any

from tqdm import tqdm

from genre_model.collect.client import ApiClient, Request
from genre_model.collect.films import Film, parse_year, unique_by_id

DEFAULT_URL = "https://www.kobis.or.kr/kobisopenapi/webservice/rest"
PAGE_SIZE = 100  # the most KOBIS serves per page
SOURCE = "KOBIS open API (searchMovieList)"


def kobis_url() -> str:
    return os.environ.get("KOBIS_API_URL") or DEFAULT_URL


def kobis_fault(payload: Any) -> str | None:
    """What a KOBIS answer says went wrong ({"faultInfo": {...}}), or None for a film list."""
    if isinstance(payload, dict) and "faultInfo" in payload:
        info = payload["faultInfo"] or {}
        return f"{info.get('message', 'no message')}, errorCode {info.get('errorCode', 'none')}"
    if not isinstance(payload, dict) or not isinstance(payload.get("movieListResult"), dict):
        return "the answer has no movieListResult"
    return None


def film_from_api(item: dict) -> Film:
    return Film(
        id=str(item["movieCd"]),
        title=(item.get("movieNm") or "").strip(),
        title_en=(item.get("movieNmEn") or "").strip(),
        year=parse_year(item.get("prdtYear")),
        nation=item.get("nationAlt") or "",
        type=item.get("typeNm") or "",
        genres=item.get("genreAlt") or "",
        status=item.get("prdtStatNm") or "",
        directors=tuple(person["peopleNm"] for person in item.get("directors") or [] if person.get("peopleNm")),
        source=SOURCE,
    )


def fetch_film_list(client: ApiClient, key: str, *, years: tuple[int, int]) -> list[Film]:
    """Every film KOBIS lists with a production year in `years` (inclusive)."""

    def page(number: int) -> dict:
        params = {
            "curPage": str(number),
            "itemPerPage": str(PAGE_SIZE),
            "prdtStartYear": str(years[0]),
            "prdtEndYear": str(years[1]),
        }
        request = Request("KOBIS", f"{kobis_url()}/movie/searchMovieList.json", params, secret_params={"key": key})
        return client.get_json(request, find_fault=kobis_fault)["movieListResult"]

    first = page(1)
    pages = max(1, math.ceil(int(first.get("totCnt") or 0) / PAGE_SIZE))
    films: list[Film] = []
    with tqdm(total=pages, unit="page", desc="KOBIS film list") as progress:
        for number in range(1, pages + 1):
            result = first if number == 1 else page(number)
            films.extend(film_from_api(item) for item in result.get("movieList") or [])
            progress.update()
            progress.set_postfix(films=len(films))
    return unique_by_id(films)
