"""genre_model.corpus: the project's own corpus keeps the promises the docs, tests and demo model rely on."""

from collections import Counter

import pytest

from genre_model.data import normalize_text
from genre_model.genres import GENRES, parse_genres

from helpers import read_corpus


@pytest.fixture(scope="module")
def corpus():
    return read_corpus()


def test_the_corpus_is_large_and_covers_every_genre(corpus):
    assert len(corpus) >= 1000
    counts = Counter(genre for row in corpus for genre in row["genres"])
    assert {genre: counts[genre] for genre in GENRES if counts[genre] < 40} == {}


def test_every_row_is_in_the_format_train_py_reads(corpus):
    for row in corpus:
        assert set(row) == {"id", "title", "year", "nation", "genres", "synopsis"}, row["id"]
        assert list(parse_genres(row["genres"]).genres) == sorted(row["genres"], key=GENRES.index), row["id"]
        assert 150 <= len(row["synopsis"]) <= 600, row["id"]


def test_ids_and_synopses_are_unique(corpus):
    assert len({row["id"] for row in corpus}) == len(corpus)
    assert len({normalize_text(row["synopsis"]) for row in corpus}) == len(corpus)


def test_the_corpus_is_multi_label_and_mixes_korean_and_foreign_films(corpus):
    several = sum(len(row["genres"]) > 1 for row in corpus)
    korean = sum(row["nation"] == "한국" for row in corpus)
    assert 0.4 < several / len(corpus) < 0.9
    assert 0.3 < korean / len(corpus) < 0.7


def test_the_corpus_ships_inside_the_package_and_examples_points_to_it():
    from genre_model.corpus import EXAMPLE_CORPUS

    from helpers import PROJECT_ROOT

    assert EXAMPLE_CORPUS.is_file() and EXAMPLE_CORPUS.parent == PROJECT_ROOT / "genre_model" / "corpus"
    assert (PROJECT_ROOT / "examples" / "synopses.jsonl").resolve() == EXAMPLE_CORPUS.resolve()
