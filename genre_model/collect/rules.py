"""The predecessor's rules for which films belong in the dataset, each one switchable.

    reason = film_drop_reason(film, FilmRules())   # None when the film stays

The film-level rules run before the synopsis lookup too, so no API quota is
spent on films the dataset would drop anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from genre_model.collect.films import Film
from genre_model.genres import parse_genres

FEATURE = "장편"
ADULT = "adult"
YEARS = "years"
NOT_FEATURE = "not_feature"
NO_GENRE = "no_genre"


@dataclass(frozen=True)
class FilmRules:
    years: tuple[int, int] | None = (2000, 2023)  # production years kept, inclusive; None keeps all
    drop_adult: bool = True  # 성인물(에로)
    feature_only: bool = True  # 장편
    drop_without_genre: bool = True  # only 기타, or nothing we know

    def descriptions(self) -> dict[str, str]:
        """What each rule that is on removes, in the order the rules apply."""
        described = {
            ADULT: "adult films (성인물(에로))" if self.drop_adult else None,
            YEARS: f"production year outside {self.years[0]}-{self.years[1]}" if self.years else None,
            NOT_FEATURE: f"not a feature film ({FEATURE})" if self.feature_only else None,
            NO_GENRE: "no known genre (only 기타 or none)" if self.drop_without_genre else None,
        }
        return {rule: text for rule, text in described.items() if text}


def film_drop_reason(film: Film, rules: FilmRules) -> str | None:
    """The first rule that removes `film`, or None."""
    parsed = parse_genres(film.genres)
    if rules.drop_adult and parsed.excluded:
        return ADULT
    if rules.years and (film.year is None or not rules.years[0] <= film.year <= rules.years[1]):
        return YEARS
    if rules.feature_only and film.type != FEATURE:
        return NOT_FEATURE
    if rules.drop_without_genre and not parsed.genres:
        return NO_GENRE
    return None
