"""genre_model.tables: one reader for every table format the project takes, with errors that say what to do."""

import csv

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from genre_model.errors import DataError
from genre_model.tables import read_dataset, read_table, write_jsonl

from helpers import read_corpus

ROWS = [{"id": row["id"], "synopsis": row["synopsis"], "genres": row["genres"]} for row in read_corpus(limit=5)]


def write_csv(path, rows, delimiter=",", encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("name", ["films.jsonl", "films.json", "films.csv", "films.tsv", "films.parquet"])
def test_every_format_gives_the_same_rows_in_order(tmp_path, name):
    path = tmp_path / name
    flat = [row | {"genres": ",".join(row["genres"])} for row in ROWS]  # CSV cells are strings
    if name.endswith("jsonl"):
        write_jsonl(path, flat)
    elif name.endswith(".json"):
        path.write_text(
            "[" + ",".join(__import__("json").dumps(row, ensure_ascii=False) for row in flat) + "]", encoding="utf-8"
        )
    elif name.endswith("parquet"):
        pq.write_table(pa.Table.from_pylist(flat), path)
    else:  # Excel's UTF-8 files start with a byte-order mark
        write_csv(path, flat, delimiter="\t" if name.endswith("tsv") else ",", encoding="utf-8-sig")
    table = read_table(path)
    assert table.rows == flat and table.columns == ["id", "synopsis", "genres"] and len(table) == len(ROWS)


def test_a_text_file_is_one_synopsis_a_line(tmp_path):
    path = tmp_path / "films.txt"
    path.write_text("\n".join(row["synopsis"] for row in ROWS) + "\n\n", encoding="utf-8")
    table = read_table(path, text_column="plot")
    assert table.columns == ["plot"] and table.column("plot") == [row["synopsis"] for row in ROWS]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda path: None, "no such file"),
        (lambda path: path.write_text(""), "is empty"),
        (lambda path: path.write_text('{"synopsis": "하나"}\n{"synopsis": 둘}\n'), "line 2: not a JSON object"),
        (lambda path: path.write_text('["하나", "둘"]'), "every row must be a JSON object"),
        (lambda path: path.write_bytes("줄거리".encode("euc-kr")), "not UTF-8"),
    ],
    ids=["missing", "empty", "bad line", "not objects", "not utf-8"],
)
def test_unreadable_files_are_refused_with_a_reason(tmp_path, setup, message):
    path = tmp_path / "films.jsonl"
    setup(path)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_an_unsupported_format_names_the_supported_ones(tmp_path):
    (tmp_path / "films.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"unsupported file type \.xlsx; use one of \.csv"):
        read_table(tmp_path / "films.xlsx")


def test_a_missing_column_lists_the_columns_and_suggests_a_flag(tmp_path):
    table = read_table(
        write_jsonl(tmp_path / "films.jsonl", [{"title": "검은 항로", "plot": ROWS[0]["synopsis"], "장르": "액션"}])
    )
    with pytest.raises(
        DataError,
        match=r"column 'synopsis' not found in .*films.jsonl; available: title, plot, 장르. Pass --text_column plot",
    ):
        table.require("synopsis", "--text_column")
    with pytest.raises(DataError, match="Pass --genre_column 장르"):
        table.require("genres", "--genre_column")


def test_a_csv_row_with_extra_cells_keeps_its_named_columns(tmp_path):
    path = tmp_path / "films.csv"
    path.write_text("id,synopsis\na,부산 감천항의 밤 컨테이너 한 동,stray\n", encoding="utf-8")
    assert read_table(path).rows == [{"id": "a", "synopsis": "부산 감천항의 밤 컨테이너 한 동"}]


def test_a_dataset_of_local_files_keeps_the_split_names(tmp_path):
    train, test = write_jsonl(tmp_path / "train.jsonl", ROWS[:3]), write_jsonl(tmp_path / "test.jsonl", ROWS[3:])
    splits = read_dataset(str(train), test_file=str(test))
    assert set(splits) == {"train", "test"} and len(splits["train"]) == 3 and len(splits["test"]) == 2


def test_an_unreachable_hub_dataset_is_explained():
    with pytest.raises(
        DataError, match="could not load the dataset 'nobody/no-such-dataset' from the Hugging Face Hub"
    ):
        read_dataset("nobody/no-such-dataset")


def test_write_jsonl_leaves_no_partial_file(tmp_path):
    path = write_jsonl(tmp_path / "deep" / "rows.jsonl", ROWS)
    assert read_table(path).rows == ROWS and [p.name for p in path.parent.iterdir()] == ["rows.jsonl"]
