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
    assert len(corpus) >= 3000
    counts = Counter(genre for row in corpus for genre in row["genres"])
    assert {genre: counts[genre] for genre in GENRES if counts[genre] < 100} == {}
    # realistic frequencies: drama the most common genre, as in every catalogue
    assert counts.most_common(1)[0][0] == "드라마"


def test_every_row_is_in_the_format_train_py_reads(corpus):
    for row in corpus:
        assert set(row) == {"id", "title", "year", "nation", "genres", "synopsis"}, row["id"]
        assert list(parse_genres(row["genres"]).genres) == sorted(row["genres"], key=GENRES.index), row["id"]
        assert 40 <= len(row["synopsis"]) <= 1500, row["id"]


def test_the_corpus_has_the_lengths_real_sources_publish(corpus):
    lengths = [len(row["synopsis"]) for row in corpus]
    # one-line overviews, portal paragraphs, press texts and long plot summaries
    assert sum(length < 150 for length in lengths) > 0.1 * len(corpus)
    assert sum(length > 600 for length in lengths) > 0.1 * len(corpus)
    assert sum(length > 1000 for length in lengths) > 100


def test_ids_titles_and_synopses_are_unique(corpus):
    assert len({row["id"] for row in corpus}) == len(corpus)
    assert len({row["title"] for row in corpus}) == len(corpus)
    assert len({normalize_text(row["synopsis"]) for row in corpus}) == len(corpus)


def test_no_synopsis_is_a_near_copy_of_another(corpus):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3)).fit_transform(
        [normalize_text(row["synopsis"]) for row in corpus]
    )
    similarity = (vectors @ vectors.T).tocoo()
    close = [
        (corpus[i]["id"], corpus[j]["id"], round(value, 2))
        for i, j, value in zip(similarity.row, similarity.col, similarity.data)
        if i < j and value > 0.6
    ]
    assert close == []


def test_the_corpus_is_multi_label_and_mixes_korean_and_foreign_films(corpus):
    several = sum(len(row["genres"]) > 1 for row in corpus)
    korean = sum(row["nation"] == "한국" for row in corpus)
    assert 0.6 < several / len(corpus) < 0.9
    assert 0.3 < korean / len(corpus) < 0.7


def test_the_corpus_ships_inside_the_package_and_examples_points_to_it():
    from genre_model.corpus import EXAMPLE_CORPUS

    from helpers import PROJECT_ROOT

    assert EXAMPLE_CORPUS.is_file() and EXAMPLE_CORPUS.parent == PROJECT_ROOT / "genre_model" / "corpus"
    assert (PROJECT_ROOT / "examples" / "synopses.jsonl").resolve() == EXAMPLE_CORPUS.resolve()
