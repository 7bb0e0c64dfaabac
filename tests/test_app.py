"""app.py as users meet it: a real server process, its API through gradio_client, and the page in headless Chromium.

    .venv/bin/python -m pytest tests/test_app.py -q

The server runs `python app.py --model <trained_model> --port <free port>` on
127.0.0.1 only. The browser test needs Debian's `chromium` and `fonts-noto-cjk`
(Korean renders as boxes without them) and the `playwright` package, which
drives /usr/bin/chromium and never downloads a browser of its own. It leaves
screenshots in test-artifacts/ (app-*.png): look at them.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from genre_model.genres import GENRES
from genre_model.inputs import MAX_CHARS, check_synopsis
from genre_model.predict import GenrePredictor
from genre_model.tables import read_table

from helpers import OFFLINE_ENVIRONMENT, PROJECT_ROOT, read_corpus

PER_GENRE, ONE_THRESHOLD = "모델의 장르별 임계값", "하나의 임계값"
NOTHING_CHOSEN = "임계값을 넘은 장르가 없습니다"
MODEL_CALL = "model scored"  # the line app.py logs each time it runs the model
SYNOPSES = [row["synopsis"] for row in read_corpus(limit=8)]
CHROMIUM = Path("/usr/bin/chromium")
# From shared notes on running Chromium headless as root in a sandbox-less container; Playwright adds --headless itself.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """`python app.py ...` in its own process, on a free loopback port, until stopped."""

    def __init__(
        self, app: Path, arguments: list[str], log: Path, environment: dict | None = None, timeout: float = 150
    ):
        self.port, self.log = free_port(), log
        self.url = f"http://127.0.0.1:{self.port}/"
        with open(log, "w") as output:
            self.process = subprocess.Popen(
                [sys.executable, str(app), *arguments, "--port", str(self.port), "--host", "127.0.0.1"],
                cwd=app.parent,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=os.environ | OFFLINE_ENVIRONMENT | (environment or {}),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"app.py exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise AssertionError(f"app.py did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def model_calls(self) -> int:
        return self.log.read_text(errors="replace").count(MODEL_CALL)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def server(trained_model, verdict_cache, tmp_path_factory):
    app = AppServer(
        PROJECT_ROOT / "app.py",
        ["--model", str(trained_model)],
        tmp_path_factory.mktemp("app") / "app.log",
        {"GENRE_MODEL_CACHE": str(verdict_cache)},
    )
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def reference(trained_model, verdict_cache) -> GenrePredictor:
    """The library's own answers, which the app must show unchanged."""
    return GenrePredictor.load(trained_model, device="cpu", cache_dir=verdict_cache)


def test_predict_ranks_all_genres_with_their_thresholds_and_chooses_with_the_model_s(client, reference):
    answer = client.predict(SYNOPSES[0], PER_GENRE, 0.5, api_name="/predict")
    [expected] = reference.predict([SYNOPSES[0]])
    assert [item["genre"] for item in answer["genres"]] == [genre for genre, _ in expected.ranked]
    assert [item["probability"] for item in answer["genres"]] == pytest.approx(
        [p for _, p in expected.ranked], abs=1e-5
    )
    assert {item["genre"]: item["threshold"] for item in answer["genres"]} == reference.thresholds.per_genre
    assert answer["chosen"] == expected.chosen == [item["genre"] for item in answer["genres"] if item["chosen"]]
    assert "error" not in answer and answer["windows"] == expected.chunks


def test_one_threshold_applies_to_every_genre(client):
    everything = client.predict(SYNOPSES[1], ONE_THRESHOLD, 0.0, api_name="/predict")
    nothing = client.predict(SYNOPSES[1], ONE_THRESHOLD, 1.0, api_name="/predict")
    assert sorted(everything["chosen"]) == sorted(GENRES) and nothing["chosen"] == []
    assert {item["threshold"] for item in nothing["genres"]} == {1.0}


@pytest.mark.parametrize(
    ("synopsis", "mode", "threshold", "complaint"),
    [
        ("", PER_GENRE, 0.5, "입력해 주세요"),
        ("   \n ", PER_GENRE, 0.5, "입력해 주세요"),
        (None, PER_GENRE, 0.5, "입력해 주세요"),
        (12345, PER_GENRE, 0.5, "입력해 주세요"),
        ("형사가 범인을 쫓는다.", PER_GENRE, 0.5, "너무 짧습니다"),
        ("가" * (MAX_CHARS + 1), PER_GENRE, 0.5, "너무 깁니다"),
        (
            "A retired detective returns to the harbour to save his nephew from a smuggling ring.",
            PER_GENRE,
            0.5,
            "한국어",
        ),
        (SYNOPSES[0], "아무 방식", 0.5, "임계값 방식은"),
        (SYNOPSES[0], None, 0.5, "임계값 방식은"),
        (SYNOPSES[0], ONE_THRESHOLD, "abc", "0과 1 사이의 숫자"),
        (SYNOPSES[0], ONE_THRESHOLD, None, "0과 1 사이의 숫자"),
        (SYNOPSES[0], ONE_THRESHOLD, True, "0과 1 사이의 숫자"),
        (SYNOPSES[0], ONE_THRESHOLD, 1.5, "0과 1 사이여야"),
        (SYNOPSES[0], ONE_THRESHOLD, -0.1, "0과 1 사이여야"),
    ],
)
def test_bad_requests_get_a_message_and_the_server_keeps_serving(client, synopsis, mode, threshold, complaint):
    answer = client.predict(synopsis, mode, threshold, api_name="/predict")
    assert complaint in answer["error"] and "genres" not in answer
    assert client.predict(SYNOPSES[2], PER_GENRE, 0.5, api_name="/predict")["genres"]


def raw_api_call(server: AppServer, endpoint: str, body: str) -> list:
    """An API call over plain HTTP, for values gradio_client will not send (it refuses NaN); returns its result."""
    request = urllib.request.Request(
        f"{server.url}gradio_api/call/{endpoint}",
        data=body.encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{server.url}gradio_api/call/{endpoint}/{event}", timeout=60) as response:
        stream = response.read().decode("utf-8")
    assert "event: complete" in stream, stream
    return json.loads(stream.split("data: ", 1)[1])


def test_a_threshold_that_is_nan_is_answered_in_words(server):
    body = '{"data": [' + json.dumps(SYNOPSES[0], ensure_ascii=False) + ', "' + ONE_THRESHOLD + '", NaN]}'
    [answer] = raw_api_call(server, "predict", body)
    assert "0과 1 사이의 숫자" in answer["error"]


def test_text_that_is_not_a_synopsis_gets_its_genres_and_a_caution(client):
    for text in ("가" * 1000, "좋아 " * 200):
        answer = client.predict(text, PER_GENRE, 0.5, api_name="/predict")
        assert answer["genres"] and "되풀이" in answer["notice"]
    assert client.predict(SYNOPSES[3], PER_GENRE, 0.5, api_name="/predict")["notice"] == ""


def test_long_synopsis_is_read_whole(client):
    long_text = " ".join(row["synopsis"] for row in read_corpus(limit=12))
    assert client.predict(long_text, PER_GENRE, 0.5, api_name="/predict")["windows"] > 1


def test_simultaneous_requests_each_get_their_own_answer(client, reference):
    settings = [(PER_GENRE, 0.5), (ONE_THRESHOLD, 0.0), (ONE_THRESHOLD, 1.0), (PER_GENRE, 0.5), (ONE_THRESHOLD, 0.3)]
    requests = [(SYNOPSES[index % len(SYNOPSES)], mode, threshold) for index, (mode, threshold) in enumerate(settings)]
    requests.append(("짧다", PER_GENRE, 0.5))
    with ThreadPoolExecutor(len(requests)) as pool:  # they arrive together, so the queue batches them
        answers = list(pool.map(lambda request: client.predict(*request, api_name="/predict"), requests))
    for (synopsis, mode, threshold), answer in zip(requests, answers):
        if check_synopsis(synopsis):
            assert answer["error"] == check_synopsis(synopsis)
            continue
        [expected] = reference.predict([synopsis], threshold=None if mode == PER_GENRE else threshold)
        assert answer["chosen"] == expected.chosen


def test_explain_gives_every_word_of_the_synopsis_its_push(client, reference):
    answer = client.predict(SYNOPSES[0], "", api_name="/explain")
    assert [item["word"] for item in answer["words"]] == SYNOPSES[0].split()
    assert answer["genre"] == reference.predict([SYNOPSES[0]])[0].ranked[0][0]  # no genre given: the top one
    assert all(isinstance(item["score"], float) for item in answer["words"])
    chosen = client.predict(SYNOPSES[0], "전쟁", api_name="/explain")
    assert chosen["genre"] == "전쟁" and chosen["probability"] == pytest.approx(
        reference.probabilities([SYNOPSES[0]])[0][GENRES.index("전쟁")], abs=1e-4
    )


@pytest.mark.parametrize(
    ("synopsis", "genre", "complaint"),
    [
        (SYNOPSES[0], "무협", "알 수 없는 장르"),
        ("짧다", "", "너무 짧습니다"),
        (None, "드라마", "입력해 주세요"),
        (SYNOPSES[0], 7, "알 수 없는 장르"),
    ],
)
def test_bad_explain_requests_get_a_message(client, synopsis, genre, complaint):
    assert complaint in client.predict(synopsis, genre, api_name="/explain")["error"]


def write_films_csv(path: Path, rows: list[dict], column: str = "synopsis") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["id", column])
        writer.writeheader()
        writer.writerows({"id": row["id"], column: row["synopsis"]} for row in rows)
    return path


def read_csv(path) -> list[dict]:
    return read_table(path).rows


def test_a_file_gets_the_batch_cli_s_output(client, reference, tmp_path):
    from genre_model.predict import predict_rows

    source = write_films_csv(tmp_path / "films.csv", read_corpus(limit=6) + [{"id": "short", "synopsis": "짧다"}])
    result, message = client.predict(handle_file(str(source)), "synopsis", api_name="/predict_file")
    written = read_csv(result)
    expected = predict_rows(reference, read_table(source), "synopsis")
    assert [row["id"] for row in written] == [row["id"] for row in expected]
    assert [row["predicted_genres"] for row in written] == [row["predicted_genres"] for row in expected]
    assert written[-1]["problem"] == check_synopsis("짧다") and "7행을 예측했습니다" in message


@pytest.mark.parametrize(
    ("case", "complaint"),
    [
        ("no file", "파일을 올려 주세요"),
        ("wrong kind", "unsupported file type"),
        ("missing column", "줄거리 열 'synopsis'이(가) 없습니다"),
        ("empty", "is empty"),
    ],
)
def test_a_bad_file_gets_a_message(client, case, complaint, tmp_path):
    if case == "no file":
        upload = None
    elif case == "wrong kind":
        (tmp_path / "poster.png").write_bytes(b"\x89PNG\r\n")
        upload = handle_file(str(tmp_path / "poster.png"))
    elif case == "missing column":
        upload = handle_file(str(write_films_csv(tmp_path / "films.csv", read_corpus(limit=2), column="plot")))
    else:
        (tmp_path / "films.csv").write_text("")
        upload = handle_file(str(tmp_path / "films.csv"))
    result, message = client.predict(upload, "synopsis", api_name="/predict_file")
    assert result is None and complaint in message


def test_model_info_names_the_model_device_and_test_scores(client, trained_model):
    panel = client.predict(api_name="/model_info")
    assert str(trained_model) in panel and "cpu" in panel and "int8" in panel
    assert "micro-F1" in panel and "macro-F1" in panel and "⚠️" not in panel and "데모 모델" not in panel


def test_the_api_offers_exactly_the_tested_endpoints(client):
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert endpoints == {"/predict", "/explain", "/predict_file", "/model_info"}


def test_help_explains_the_configuration(monkeypatch, capsys):
    import app

    monkeypatch.setattr(sys, "argv", ["app.py", "--help"])
    with pytest.raises(SystemExit) as exit_:
        app.parse_arguments()
    shown = capsys.readouterr().out
    assert exit_.value.code == 0
    for option in ("--model", "--device", "--port", "--host", "GENRE_MODEL", "GENRE_DEVICE", "demo_model"):
        assert option in shown


def test_an_unloadable_model_is_explained_and_the_demo_model_is_used(verdict_cache, monkeypatch):
    import app

    monkeypatch.setenv("GENRE_MODEL_CACHE", str(verdict_cache))
    predictor, problems = app.load_predictor("/no/such/model", "cpu")
    panel = app.model_panel(predictor, problems)  # what the page's model panel and /model_info show
    assert "/no/such/model" in panel and "no such folder" in panel and str(app.DEMO_MODEL) in panel
    assert "데모 모델입니다" in panel and "train.py" in panel
    assert predictor.name == str(app.DEMO_MODEL) and predictor.predict(SYNOPSES[0], threshold=0.0)[0].chosen


def test_the_page_predicts_re_decides_without_the_model_explains_and_predicts_a_file(server, reference, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    [expected] = reference.predict([SYNOPSES[0]])
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100}, locale="ko-KR")
            page.goto(server.url)
            expect(page.get_by_text("영화 줄거리 장르 분류")).to_be_visible(timeout=30_000)
            chosen, view = page.get_by_label("선택된 장르"), page.locator(".genre-view")

            page.get_by_label("줄거리").fill("짧다")
            page.get_by_role("button", name="장르 예측").click()
            expect(page.get_by_text(check_synopsis("짧다"))).to_be_visible(timeout=30_000)

            page.get_by_label("줄거리").fill(SYNOPSES[0])
            page.get_by_role("button", name="장르 예측").click()
            expect(view.locator(".genre-row.chosen")).to_have_count(len(expected.chosen), timeout=30_000)
            expect(view.locator(".genre-row")).to_have_count(len(GENRES))
            top_genre, top_probability = expected.ranked[0]
            expect(view.locator(f'.genre-row[data-genre="{top_genre}"]')).to_contain_text(
                f"{top_probability:.2f} / 임계값"
            )
            expect(page.get_by_text("micro-F1").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "app-predicted.png"), full_page=True)
            calls = server.model_calls()

            # the slider's left end: a threshold of 0 chooses every genre; its right end, none. No model call.
            track = page.get_by_test_id("range-input").bounding_box()
            page.mouse.click(track["x"] + 1, track["y"] + track["height"] / 2)
            expect(page.get_by_label(ONE_THRESHOLD, exact=True)).to_be_checked(timeout=30_000)
            expect(chosen).to_have_value(", ".join(genre for genre, _ in expected.ranked), timeout=30_000)
            page.mouse.click(track["x"] + track["width"] - 1, track["y"] + track["height"] / 2)
            expect(view).to_contain_text("임계값을 넘은 장르가 없습니다", timeout=30_000)
            expect(view).to_contain_text("가장 가까운 장르는")
            expect(view.locator(".genre-row.chosen")).to_have_count(0)
            assert server.model_calls() == calls, "moving the slider or switching the mode ran the model"
            page.screenshot(path=str(ARTIFACTS / "app-threshold.png"), full_page=True)

            # an explanation, on demand: the synopsis's words come back highlighted
            page.get_by_text("왜 이 장르인가요?").click()
            page.get_by_role("button", name="설명 보기").click()
            highlighted = page.get_by_test_id("highlighted-text")
            for word in SYNOPSES[0].split()[:3]:
                expect(highlighted).to_contain_text(word, timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "app-explained.png"), full_page=True)

            # the file tab: upload a CSV, download the result
            page.get_by_role("tab", name="파일로 여러 편").click()
            source = write_films_csv(tmp_path / "films.csv", read_corpus(limit=4))
            page.locator("input[type=file]").first.set_input_files(str(source))
            page.get_by_role("button", name="파일 예측").click()
            expect(page.get_by_text("4행을 예측했습니다")).to_be_visible(timeout=60_000)
            with page.expect_download() as download:
                page.locator("a[download]").last.click()  # the first is the uploaded file's own link
            download.value.save_as(tmp_path / "result.csv")  # Playwright keeps downloads under names without a suffix
            rows = read_csv(tmp_path / "result.csv")
            assert [row["id"] for row in rows] == [row["id"] for row in read_corpus(limit=4)]
            assert all(row["prob_드라마"] for row in rows)
            page.screenshot(path=str(ARTIFACTS / "app-file.png"), full_page=True)
        finally:
            browser.close()
