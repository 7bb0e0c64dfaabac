"""genre_model.data: cleaning with a drop report, de-duplication and leak-free splits."""

import csv
import json

import pytest

from genre_model.data import DataSpec, normalize_text, prepare_splits
from genre_model.errors import DataError
from genre_model.tables import read_dataset, write_jsonl

from helpers import read_corpus

SPEC = DataSpec()


def _split_texts(splits):
    return {name: set(map(normalize_text, split["text"])) for name, split in splits.datasets.items()}


@pytest.fixture
def corpus_rows():
    return read_corpus(limit=200)


def test_duplicate_synopses_never_cross_splits(tmp_path, corpus_rows):
    # every synopsis three times: verbatim, re-spaced and re-punctuated, as scraped data often has them
    noisy = []
    for row in corpus_rows:
        noisy += [
            row,
            row | {"id": row["id"] + "-ws", "synopsis": "  " + row["synopsis"].replace(" ", "  ") + " "},
            row | {"id": row["id"] + "-p", "synopsis": row["synopsis"].replace(".", "!") + "..."},
        ]
    splits = prepare_splits(read_dataset(str(write_jsonl(tmp_path / "noisy.jsonl", noisy))), SPEC, seed=1)
    texts = _split_texts(splits)
    assert (
        not texts["train"] & texts["validation"]
        and not texts["train"] & texts["test"]
        and not texts["validation"] & texts["test"]
    )
    assert sum(len(split) for split in splits.datasets.values()) == len(corpus_rows)
    dropped = splits.drop_report.to_dict()["dropped"]["train"]
    assert dropped["duplicate_normalized"] == 2 * len(corpus_rows)


def test_presplit_data_keeps_its_splits_and_removes_rows_that_leak_from_train(tmp_path, corpus_rows):
    train, test = corpus_rows[:150], corpus_rows[150:] + corpus_rows[:5]  # five test rows are training rows
    validation = corpus_rows[140:160]  # overlaps both
    files = {
        name: str(write_jsonl(tmp_path / f"{name}.jsonl", rows))
        for name, rows in (("train", train), ("validation", validation), ("test", test))
    }
    splits = prepare_splits(read_dataset(files["train"], files["validation"], files["test"]), SPEC, seed=1)
    report = splits.drop_report.to_dict()
    assert splits.presplit
    assert report["dropped"]["test"] == {"also_in_train": 5, "also_in_validation": 10}
    assert report["dropped"]["validation"] == {"also_in_train": 10}
    texts = _split_texts(splits)
    assert not texts["train"] & texts["test"] and not texts["validation"] & texts["test"]
    assert len(splits.datasets["train"]) == 150


def test_a_missing_validation_split_is_carved_from_train(tmp_path, corpus_rows):
    train = str(write_jsonl(tmp_path / "train.jsonl", corpus_rows[:150]))
    test = str(write_jsonl(tmp_path / "test.jsonl", corpus_rows[150:]))
    splits = prepare_splits(read_dataset(train, test_file=test), SPEC, seed=1)
    assert len(splits.datasets["test"]) == 50
    assert len(splits.datasets["validation"]) == pytest.approx(0.1 * 150, abs=2)  # a tenth of what train had


def test_each_cleaning_rule_is_counted_in_the_report(tmp_path, corpus_rows):
    bad = [
        {"id": "empty", "synopsis": "   ", "genres": ["드라마"]},
        {"id": "short", "synopsis": "짧은 줄거리.", "genres": ["드라마"]},
        {"id": "adult", "synopsis": corpus_rows[0]["synopsis"] + " 다른 판본", "genres": ["성인물(에로)", "멜로"]},
        {"id": "etc", "synopsis": corpus_rows[1]["synopsis"] + " 다른 판본", "genres": ["기타"]},
        {"id": "unknown", "synopsis": corpus_rows[2]["synopsis"] + " 다른 판본", "genres": ["무협"]},
        {"id": "missing", "synopsis": None, "genres": ["드라마"]},
    ]
    splits = prepare_splits(read_dataset(str(write_jsonl(tmp_path / "d.jsonl", corpus_rows + bad))), SPEC, seed=1)
    report = splits.drop_report.to_dict()
    assert report["dropped"]["train"] == {
        "empty_synopsis": 2,
        "short_synopsis": 1,
        "excluded_adult_film": 1,
        "no_known_genre": 2,
    }
    assert report["unknown_genres"] == {"무협": 1}
    assert report["rows_kept"]["train"] == len(corpus_rows)


def test_kobis_genre_strings_in_a_csv_become_multi_hot_labels(tmp_path, corpus_rows):
    path = tmp_path / "kobis.csv"
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["영화명", "줄거리", "장르"])
        for row in corpus_rows:
            writer.writerow(
                [row["title"], row["synopsis"], ",".join(row["genres"]).replace("멜로,로맨스", "멜로/로맨스")]
            )
    spec = DataSpec(text_column="줄거리", genre_column="장르", id_column="영화명")
    splits = prepare_splits(read_dataset(str(path)), spec, seed=1)
    pooled = {
        row_id: genres for split in splits.datasets.values() for row_id, genres in zip(split["row_id"], split["genres"])
    }
    for row in corpus_rows:
        assert sorted(pooled[row["title"]]) == sorted(row["genres"])


def test_the_split_is_reproducible_and_stratified(tmp_path):
    rows = read_corpus()
    path = str(write_jsonl(tmp_path / "all.jsonl", rows))
    first, second = (prepare_splits(read_dataset(path), SPEC, seed=7) for _ in range(2))
    assert first.manifest() == second.manifest()
    summary = first.summary()
    for genre, count in summary["train"]["genre_counts"].items():
        total = count + summary["validation"]["genre_counts"][genre] + summary["test"]["genre_counts"][genre]
        # each split holds about its share of every genre
        assert summary["test"]["genre_counts"][genre] == pytest.approx(0.1 * total, abs=3.5), genre


def test_the_manifest_names_every_row_once(tmp_path, corpus_rows):
    splits = prepare_splits(read_dataset(str(write_jsonl(tmp_path / "d.jsonl", corpus_rows))), SPEC, seed=1)
    ids = [row_id for split in splits.manifest().values() for row_id in split["row_ids"]]
    assert sorted(ids) == sorted(row["id"] for row in corpus_rows)


def test_a_missing_column_names_the_columns_that_exist(tmp_path, corpus_rows):
    path = str(write_jsonl(tmp_path / "d.jsonl", corpus_rows))
    with pytest.raises(
        DataError, match=r"column 'plot' not found in .*; available: .*synopsis.*Pass --text_column synopsis"
    ):
        prepare_splits(read_dataset(path), DataSpec(text_column="plot"), seed=1)


def test_a_genre_column_of_numbers_is_refused(tmp_path, corpus_rows):
    rows = [row | {"genres": 3} for row in corpus_rows[:20]]
    with pytest.raises(DataError, match="list of genre names or a string"):
        prepare_splits(read_dataset(str(write_jsonl(tmp_path / "d.jsonl", rows))), SPEC, seed=1)


def test_data_with_only_unknown_genres_is_refused_with_the_report(tmp_path, corpus_rows):
    rows = [row | {"genres": ["무협"]} for row in corpus_rows[:30]]
    with pytest.raises(DataError, match="after cleaning.*no_known_genre"):
        prepare_splits(read_dataset(str(write_jsonl(tmp_path / "d.jsonl", rows))), SPEC, seed=1)


def test_parquet_reads_like_json_lines(tmp_path, corpus_rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(corpus_rows), tmp_path / "d.parquet")
    from_parquet = prepare_splits(read_dataset(str(tmp_path / "d.parquet")), SPEC, seed=3)
    from_jsonl = prepare_splits(read_dataset(str(write_jsonl(tmp_path / "d.jsonl", corpus_rows))), SPEC, seed=3)
    assert from_parquet.manifest() == from_jsonl.manifest()
    json.dumps(from_parquet.summary())  # the summary is JSON-ready for the model folder


def test_short_means_the_same_in_training_and_serving(tmp_path, corpus_rows):
    from genre_model.inputs import MIN_CHARS, check_synopsis

    spaced = " ".join("가" * (MIN_CHARS - 1))  # long with its spaces, one character short without them
    rows = corpus_rows[:40] + [{"id": "spaced", "synopsis": spaced, "genres": ["드라마"]}]
    splits = prepare_splits(read_dataset(str(write_jsonl(tmp_path / "d.jsonl", rows))), SPEC, seed=1)
    assert splits.drop_report.to_dict()["dropped"]["train"] == {"short_synopsis": 1}
    assert "너무 짧습니다" in check_synopsis(spaced)
