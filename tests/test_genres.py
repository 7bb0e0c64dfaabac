"""genre_model.genres: the fixed genre list and the parser of what sources write."""

import pytest

from genre_model.genres import GENRES, parse_genres, split_genre_names, to_multi_hot


def test_there_are_twenty_genres_in_a_fixed_order():
    assert len(GENRES) == 20 == len(set(GENRES))
    assert GENRES[0] == "SF" and GENRES[-1] == "판타지"


def test_kobis_melo_romance_counts_as_both_genres():
    parsed = parse_genres("멜로/로맨스,드라마")
    assert parsed.genres == ("드라마", "멜로", "로맨스")
    assert parsed.unknown == () and not parsed.excluded


@pytest.mark.parametrize(
    "written, expected",
    [
        ("공포", ("공포(호러)",)),
        ("공포/호러", ("공포(호러)",)),
        ("공포 (호러)", ("공포(호러)",)),
        ("모험", ("어드벤처",)),
        ("서부", ("서부극(웨스턴)",)),
        ("웨스턴, 액션", ("서부극(웨스턴)", "액션")),
        ("sf", ("SF",)),
        ("액션 코미디", ("액션", "코미디")),
        ("범죄|스릴러", ("범죄", "스릴러")),
    ],
)
def test_aliases_and_separators_map_onto_canonical_names(written, expected):
    assert parse_genres(written).genres == expected


def test_a_list_of_names_is_parsed_like_a_string():
    assert parse_genres(["멜로/로맨스", "코미디"]).genres == parse_genres("멜로/로맨스,코미디").genres


def test_etc_is_dropped_silently_and_unknown_names_are_reported_not_mapped():
    parsed = parse_genres("기타,드라마,무협,컬트")
    assert parsed.genres == ("드라마",)
    assert parsed.unknown == ("무협", "컬트")


def test_adult_films_are_marked_excluded():
    assert parse_genres("성인물(에로),멜로/로맨스").excluded
    assert parse_genres(["에로"]).excluded


def test_missing_genres_parse_to_nothing():
    assert parse_genres(None).genres == ()
    assert parse_genres("").genres == ()


@pytest.mark.parametrize("value", [3, 2.5, {"genre": "액션"}, ["액션", 7]])
def test_values_that_are_neither_strings_nor_lists_of_strings_are_refused(value):
    with pytest.raises(TypeError, match="genre"):
        parse_genres(value)


def test_multi_hot_vectors_follow_genre_order():
    vector = to_multi_hot(["코미디", "SF"])
    assert vector[0] == 1.0 and vector[GENRES.index("코미디")] == 1.0 and sum(vector) == 2.0


def test_split_keeps_parenthesised_names_whole():
    assert split_genre_names(" 서부극(웨스턴) , 공포(호러)") == ["서부극(웨스턴)", "공포(호러)"]
