"""Tests of the data collector (`python -m genre_model.collect`) against local fake KOBIS and KMDb APIs.

    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/test_collect.py -q

Each step runs through the CLI's own entry point, `main(argv)`, with the
environment a user would set (in this process, to save an interpreter start a
step); the interrupted run is a real process, killed mid-request. The fake
server (tests/fake_apis.py) says what each film should become and counts every
request it answers.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import openpyxl
import pytest

from genre_model.collect.__main__ import main
from genre_model.collect.build import build_rows
from genre_model.collect.films import Film, load_films
from genre_model.collect.kmdb import KmdbFilm, normalize_title, pick_match, strip_highlights
from genre_model.collect.rules import FilmRules
from genre_model.collect.synopses import load_synopses
from genre_model.collect.workdir import Workdir
from genre_model.tables import read_table

from fake_apis import KMDB_KEY, KOBIS_KEY, LOOKED_UP, Catalogue, FakeApis, make_catalogue

REPO = Path(__file__).resolve().parents[1]
FAST_NETWORK = ["--rate", "500", "--retries", "3", "--backoff", "0.01", "--timeout", "1"]
FILM_YEARS = ["--years", "1999-2023"]  # wider than the dataset's 2000-2023, so the year rule has work


def cli_env(server: FakeApis | None = None, extra: dict | None = None) -> dict:
    return {
        **os.environ,
        "KOBIS_API_KEY": KOBIS_KEY,
        "KMDB_API_KEY": KMDB_KEY,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_PROXY": "127.0.0.1",  # a proxy configured for package registries must not see the fake server
        **({"KOBIS_API_URL": server.kobis_url, "KMDB_API_URL": server.kmdb_url} if server else {}),
        **(extra or {}),
    }


def cli_command(step: str, *args: str, workdir: Path) -> list[str]:
    """One CLI step; network steps get test-speed settings."""
    network = FAST_NETWORK if step in ("films", "synopses") else []
    return [sys.executable, "-m", "genre_model.collect", step, "--workdir", str(workdir), *network, *args]


def collect(step: str, *args: str, workdir: Path, server: FakeApis | None = None, env: dict | None = None):
    """Run one CLI step (`python -m genre_model.collect`'s main) against the fake server, with its output captured."""
    command = cli_command(step, *args, workdir=workdir)
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(stdout), redirect_stderr(stderr):
        for name, value in cli_env(server, env).items():
            patch.setenv(name, value)
        code = main(command[3:])
    return subprocess.CompletedProcess(command, code, stdout.getvalue(), stderr.getvalue())


def succeed(step: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    result = collect(step, *args, **kwargs)
    assert result.returncode == 0, result.stderr
    return result


def fail_cleanly(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


def dataset_rows(workdir: Path) -> tuple[list[dict], list[dict]]:
    """The rows of the built dataset, from the Parquet file and from the JSON Lines file."""
    return tuple(
        read_table(workdir / "dataset" / name).rows for name in ("genre_synopses.parquet", "genre_synopses.jsonl")
    )


def assert_every_answer_fetched_once(server: FakeApis) -> None:
    repeated = {request: count for request, count in server.ok_counts().items() if count > 1}
    assert not repeated


@pytest.fixture
def server():
    apis = FakeApis(make_catalogue()).start()
    yield apis
    apis.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One full run (films, synopses, build) against a fresh server, and its output streams."""
    apis = FakeApis(make_catalogue()).start()
    workdir = tmp_path_factory.mktemp("collect")
    runs = [
        succeed("films", *FILM_YEARS, workdir=workdir, server=apis),
        succeed("synopses", workdir=workdir, server=apis),
        succeed("build", workdir=workdir),
    ]
    yield apis, workdir, runs
    apis.stop()


def test_dataset_holds_exactly_the_films_the_rules_keep(built):
    apis, workdir, _ = built
    parquet, jsonl = dataset_rows(workdir)
    assert parquet == apis.catalogue.expected_rows()
    assert jsonl == apis.catalogue.expected_rows()


def test_each_rule_drops_the_films_it_should(built):
    apis, workdir, _ = built
    report = build_rows(load_films(Workdir(workdir)), load_synopses(Workdir(workdir)), FilmRules())
    expected = Counter(film.dropped_by for film in apis.catalogue.films if film.dropped_by)
    assert +report.dropped == expected
    assert report.unknown_genres == Counter({"실험": 1})


def test_keep_duplicates_flag_keeps_the_repeated_synopsis(built, tmp_path):
    apis, workdir, _ = built
    succeed("build", "--keep-duplicates", "--output", str(tmp_path), workdir=workdir)
    rows = read_table(tmp_path / "genre_synopses.parquet").rows
    twins = [row["title"] for row in rows if row["title"].startswith("쌍둥이 별")]
    assert twins == ["쌍둥이 별", "쌍둥이 별 리마스터"]
    assert len(rows) == len(apis.catalogue.expected_rows()) + 1


def test_films_the_rules_drop_are_never_looked_up(built):
    apis, _, _ = built
    looked_up = {film.title for film in apis.catalogue.films if film.dropped_by in LOOKED_UP}
    assert apis.kmdb_titles() == looked_up


def test_dataset_card_has_hub_metadata_counts_and_chart(built):
    from huggingface_hub import DatasetCard

    apis, workdir, _ = built
    card = DatasetCard.load(workdir / "dataset" / "README.md")
    assert card.data.language == ["ko"]
    assert card.data.task_categories == ["text-classification"]
    assert card.data.task_ids == ["multi-label-classification"]
    assert card.data.size_categories == ["n<1K"]
    assert "KOBIS" in card.text and "KMDb" in card.text and "terms" in card.text
    genre_counts = Counter(genre for row in apis.catalogue.expected_rows() for genre in row["genres"])
    for genre, count in genre_counts.items():
        assert f"| {genre} | {count} |" in card.text
    assert "| 실험 | 1 |" in card.text
    assert (workdir / "dataset" / "genre_distribution.png").read_bytes().startswith(b"\x89PNG")


def test_faults_are_retried_and_every_answer_is_fetched_once(built):
    apis, _, _ = built
    assert {"500", "429", "slow", "malformed"} <= set(apis.outcomes())
    assert_every_answer_fetched_once(apis)


def test_rerun_is_served_from_the_cache(built):
    apis, workdir, _ = built
    requests_before = len(apis.log)
    films = succeed("films", *FILM_YEARS, workdir=workdir, server=apis)
    synopses = succeed("synopses", workdir=workdir, server=apis)
    assert len(apis.log) == requests_before
    assert "0 requests sent" in films.stdout and "0 requests sent" in synopses.stdout


def test_api_keys_never_reach_files_or_output(built):
    _, workdir, runs = built
    keys = [KOBIS_KEY.encode(), KMDB_KEY.encode()]
    written = [path for path in workdir.rglob("*") if path.is_file()]
    assert any(path.name == "cache.sqlite" for path in written)
    for path in written:
        content = path.read_bytes()
        assert not any(key in content for key in keys), path
    for run in runs:
        assert not any(key.decode() in run.stdout + run.stderr for key in keys)


def test_killed_run_resumes_without_repeating_a_request(server, tmp_path):
    succeed("films", *FILM_YEARS, workdir=tmp_path, server=server)
    server.hold_kmdb_after = 6
    running = subprocess.Popen(
        cli_command("synopses", workdir=tmp_path),
        cwd=REPO,
        env=cli_env(server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.held.wait(timeout=60), "the collector never reached the held request"
    finally:
        running.kill()
        running.wait()
    server.hold_kmdb_after = None
    server.release.set()

    succeed("synopses", workdir=tmp_path, server=server)
    succeed("build", workdir=tmp_path)
    assert dataset_rows(tmp_path)[0] == server.catalogue.expected_rows()
    assert_every_answer_fetched_once(server)


def test_quota_fault_stops_cleanly_and_the_rerun_resumes(server, tmp_path):
    server.quota["kobis"] = 1
    fail_cleanly(collect("films", *FILM_YEARS, workdir=tmp_path, server=server), "KOBIS refused", "320011", "rerun")
    server.quota["kobis"] = None
    succeed("films", *FILM_YEARS, workdir=tmp_path, server=server)

    server.quota["kmdb"] = 5
    fail_cleanly(collect("synopses", workdir=tmp_path, server=server), "KMDb refused", "한도", "rerun")
    server.quota["kmdb"] = None
    succeed("synopses", workdir=tmp_path, server=server)

    succeed("build", workdir=tmp_path)
    assert dataset_rows(tmp_path)[0] == server.catalogue.expected_rows()
    assert_every_answer_fetched_once(server)


def write_kobis_export(path: Path, catalogue: Catalogue, *, columns: list[str] | None = None) -> Path:
    """A spreadsheet shaped like the KOBIS website's export: a title and notices above the header row."""
    header = columns or ["영화명", "영화명(영문)", "제작연도", "제작국가", "유형", "장르", "제작상태", "감독", "제작사"]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "영화정보 리스트"
    sheet.append(["영화정보 리스트"])
    sheet.append(["※ 영화정보는 영화진흥위원회 통합전산망에 등록된 정보입니다."])
    sheet.append([])
    sheet.append(header)
    for film in catalogue.films:
        values = {
            "영화명": film.title,
            "영화명(영문)": "",
            "제작연도": film.year,
            "제작국가": film.nation,
            "유형": film.type,
            "장르": film.genre,
            "제작상태": "개봉",
            "감독": ",".join(film.directors),
            "제작사": "",
        }
        sheet.append([values[name] for name in header])
    workbook.save(path)
    return path


def test_spreadsheet_gives_the_same_films_as_the_api(built, tmp_path):
    apis, api_workdir, _ = built
    export = write_kobis_export(tmp_path / "kobis.xlsx", apis.catalogue)
    succeed("films", "--xlsx", str(export), workdir=tmp_path / "xlsx")

    def described(workdir: Path) -> list[dict]:
        return [
            {name: value for name, value in vars(film).items() if name not in ("id", "source")}
            for film in load_films(Workdir(workdir))
        ]

    assert described(tmp_path / "xlsx") == described(api_workdir)
    ids = [film.id for film in load_films(Workdir(tmp_path / "xlsx"))]
    assert len(set(ids)) == len(ids)


def test_bad_spreadsheets_are_reported_without_traceback(tmp_path):
    no_director = write_kobis_export(
        tmp_path / "no_director.xlsx", Catalogue(films=[], kmdb=[]), columns=["영화명", "제작연도", "장르"]
    )
    fail_cleanly(collect("films", "--xlsx", str(no_director), workdir=tmp_path), "lacks", "감독")
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    fail_cleanly(collect("films", "--xlsx", str(empty), workdir=tmp_path), "cannot read")


@pytest.mark.parametrize("step", ["synopses", "build"])
def test_steps_run_out_of_order_say_what_to_run_first(step, tmp_path):
    fail_cleanly(collect(step, workdir=tmp_path), "genre_model.collect films")


def test_missing_api_key_is_reported_without_traceback(tmp_path):
    result = collect("films", workdir=tmp_path, env={"KOBIS_API_KEY": ""})
    fail_cleanly(result, "KOBIS_API_KEY", "--xlsx")


def test_push_without_token_fails_with_a_clear_message(built, tmp_path):
    _, workdir, _ = built
    env = {"HF_TOKEN": "", "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"}
    fail_cleanly(
        collect("push", "someone/films", workdir=workdir, env=env), "needs a Hugging Face token", "hf auth login"
    )


def test_kmdb_highlight_markers_are_removed():
    assert strip_highlights(" !HS 괴물 !HE ") == "괴물"
    assert strip_highlights("살인의  !HS 추억 !HE ") == "살인의 추억"
    assert normalize_title("미스터 김 : 귀환") == normalize_title(" !HS 미스터 김 !HE : 귀환")


def test_equally_good_matches_are_not_guessed():
    film = Film(
        id="1",
        title="거울",
        title_en="",
        year=2014,
        nation="한국",
        type="장편",
        genres="드라마",
        status="개봉",
        directors=(),
        source="test",
    )
    twins = [
        KmdbFilm(
            doc_id=str(number),
            title="거울",
            year=2014,
            nations=frozenset({"한국"}),
            directors=frozenset(),
            korean_plot=plot,
        )
        for number, plot in enumerate(("첫째", "둘째"))
    ]
    assert pick_match(film, twins) == ("ambiguous", None)
    assert pick_match(film, twins[:1]) == ("matched", twins[0])
