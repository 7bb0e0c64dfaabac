"""The 20 genres, in one fixed order, and the parser that maps what sources write onto them.

Everything that reads or writes genre names imports them from here: the data
loader, train.py (the order is the model's label order), the model card, the
collector and the app.

    >>> parse_genres("멜로/로맨스,드라마").genres
    ('드라마', '멜로', '로맨스')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GENRES: tuple[str, ...] = (
    "SF",
    "가족",
    "공연",
    "공포(호러)",
    "다큐멘터리",
    "드라마",
    "멜로",
    "로맨스",
    "뮤지컬",
    "미스터리",
    "범죄",
    "사극",
    "서부극(웨스턴)",
    "스릴러",
    "애니메이션",
    "액션",
    "어드벤처",
    "전쟁",
    "코미디",
    "판타지",
)
GENRE_INDEX: dict[str, int] = {genre: index for index, genre in enumerate(GENRES)}

# Names sources use for our genres. KOBIS writes the canonical names (with
# "멜로/로맨스" as one genre, which the splitter below turns into both); KMDb
# and hand-made files use the shorter or older spellings.
ALIASES: dict[str, tuple[str, ...]] = {
    "공포": ("공포(호러)",),
    "호러": ("공포(호러)",),
    "서부": ("서부극(웨스턴)",),
    "서부극": ("서부극(웨스턴)",),
    "웨스턴": ("서부극(웨스턴)",),
    "모험": ("어드벤처",),
    "에스에프": ("SF",),
    "공상과학": ("SF",),
    "애니": ("애니메이션",),
    "다큐": ("다큐멘터리",),
    "코메디": ("코미디",),
    "로맨틱코미디": ("로맨스", "코미디"),
    "공연실황": ("공연",),
}
# A film carrying one of these is left out of the data altogether.
EXCLUDING_NAMES = frozenset({"성인물(에로)", "성인물", "에로"})
# Names that say nothing about the film: dropped without being reported.
IGNORED_NAMES = frozenset({"기타", ""})

# Commas, semicolons, pipes, slashes, middle dots and white space all separate
# genres ("멜로/로맨스" is two genres, "액션 코미디" too); spaces inside
# parentheses are closed up first so "공포 (호러)" stays one name.
_SEPARATORS = re.compile(r"[,;|/·\s]+")
_SPACE_AROUND_PARENS = re.compile(r"\s*([()])\s*")


@dataclass(frozen=True)
class ParsedGenres:
    """What one film's genre field says, in our terms."""

    genres: tuple[str, ...]  # known genres, in GENRES order, without repeats
    unknown: tuple[str, ...]  # names we do not know, as written, for the report
    excluded: bool  # the film is an adult film (성인물(에로)) and must be dropped


def _canonical_names(token: str) -> tuple[str, ...] | None:
    """Our genres for one name, or None when the name is unknown."""
    if token in GENRE_INDEX:
        return (token,)
    key = token.upper() if token.isascii() else token
    if key in GENRE_INDEX:
        return (key,)
    return ALIASES.get(key)


def split_genre_names(value: str) -> list[str]:
    """The individual names in one genre string, e.g. KOBIS's "멜로/로맨스,드라마"."""
    closed_up = _SPACE_AROUND_PARENS.sub(r"\1", value.strip())
    return [name for name in _SEPARATORS.split(closed_up) if name]


def parse_genres(value: str | Sequence[str] | None) -> ParsedGenres:
    """Map a genre field (a KOBIS string or a list of names) onto GENRES.

    Unknown names are returned for reporting, never mapped by guesswork.
    Raises TypeError for anything that is neither a string nor a list of strings.
    """
    names = _names_in(value)
    known: set[str] = set()
    unknown: list[str] = []
    excluded = False
    for name in names:
        if name in EXCLUDING_NAMES:
            excluded = True
        elif name in IGNORED_NAMES:
            continue
        elif (canonical := _canonical_names(name)) is not None:
            known.update(canonical)
        elif name not in unknown:
            unknown.append(name)
    ordered = tuple(genre for genre in GENRES if genre in known)
    return ParsedGenres(genres=ordered, unknown=tuple(unknown), excluded=excluded)


def _names_in(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        if value.strip().startswith("["):  # a list written as JSON into a CSV cell (as the batch CLI writes them)
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return split_genre_names(value.strip(" []"))
            return _names_in(value) if isinstance(value, list) else []
        return split_genre_names(value)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        names: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise TypeError(f"a genre list must hold strings, found {type(item).__name__}: {item!r}")
            names.extend(split_genre_names(item))
        return names
    raise TypeError(
        f"genres must be a list of names or a string like '멜로/로맨스,드라마', found {type(value).__name__}: {value!r}"
    )


def to_multi_hot(genres: Iterable[str]) -> list[float]:
    """A float 0/1 vector in GENRES order: the target format of BCE-with-logits."""
    vector = [0.0] * len(GENRES)
    for genre in genres:
        vector[GENRE_INDEX[genre]] = 1.0
    return vector
