"""app.py as users meet it: a real server process, its API through gradio_client, and the page in headless Chromium.

    .venv/bin/python -m pytest tests/test_app.py -q

The server runs `python app.py --model <trained_model> --port <free port>` on
127.0.0.1 only. The browser test needs Debian's `chromium` and `fonts-noto-cjk`
(Korean renders as boxes without them) and the `playwright` package, which
drives /usr/bin/chromium and never downloads a browser of its own. It leaves
a screenshot in test-artifacts/app.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client

from genre_model.genres import GENRES
from genre_model.inputs import MAX_CHARS, check_synopsis
from genre_model.predict import GenrePredictor

from helpers import OFFLINE_ENVIRONMENT, PROJECT_ROOT, read_corpus

PER_GENRE, ONE_THRESHOLD = "모델의 장르별 임계값", "하나의 임계값"
NOTHING_CHOSEN = "임계값을 넘은 장르가 없습니다"
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
SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "app.png"


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


def confidences(label: dict) -> dict[str, float]:
    return {entry["label"]: entry["confidence"] for entry in label["confidences"]}


def test_predict_ranks_all_genres_and_chooses_with_the_model_thresholds(client, reference):
    label, chosen, notice = client.predict(SYNOPSES[0], PER_GENRE, 0.5, api_name="/predict")
    [expected] = reference.predict([SYNOPSES[0]])
    assert list(confidences(label)) == [genre for genre, _ in expected.ranked] and len(confidences(label)) == len(
        GENRES
    )
    assert confidences(label) == pytest.approx(dict(expected.ranked), abs=1e-5)
    assert chosen == (", ".join(expected.chosen) or NOTHING_CHOSEN)
    assert "⚠️" not in notice


def test_one_threshold_applies_to_every_genre(client):
    _, everything, _ = client.predict(SYNOPSES[1], ONE_THRESHOLD, 0.0, api_name="/predict")
    _, nothing, _ = client.predict(SYNOPSES[1], ONE_THRESHOLD, 1.0, api_name="/predict")
    assert sorted(everything.split(", ")) == sorted(GENRES)
    assert nothing == NOTHING_CHOSEN


@pytest.mark.parametrize(
    "synopsis",
    [
        "",
        "   \n ",
        "형사가 범인을 쫓는다.",
        "가" * (MAX_CHARS + 1),
        "A retired detective returns to the harbour to save his nephew from a smuggling ring.",
    ],
)
def test_bad_input_gets_a_korean_message_and_the_server_keeps_serving(client, synopsis):
    label, chosen, notice = client.predict(synopsis, PER_GENRE, 0.5, api_name="/predict")
    assert notice == f"⚠️ {check_synopsis(synopsis)}"
    assert chosen == "" and not label.get("confidences")
    _, chosen_after, notice_after = client.predict(SYNOPSES[2], PER_GENRE, 0.5, api_name="/predict")
    assert chosen_after and "⚠️" not in notice_after


def test_long_synopsis_is_read_whole_and_the_page_says_so(client):
    long_text = " ".join(row["synopsis"] for row in read_corpus(limit=12))
    _, chosen, notice = client.predict(long_text, PER_GENRE, 0.5, api_name="/predict")
    assert chosen and "구간으로 나눠 모두 읽었습니다" in notice


def test_simultaneous_requests_each_get_their_own_answer(client, reference):
    requests = [
        (SYNOPSES[index % len(SYNOPSES)], mode, threshold)
        for index, (mode, threshold) in enumerate(
            [
                (PER_GENRE, 0.5),
                (ONE_THRESHOLD, 0.0),
                (ONE_THRESHOLD, 1.0),
                (PER_GENRE, 0.5),
                (ONE_THRESHOLD, 0.0),
                (PER_GENRE, 0.5),
            ]
        )
    ]
    requests.append(("짧다", PER_GENRE, 0.5))
    with ThreadPoolExecutor(len(requests)) as pool:  # they arrive together, so the queue batches them
        answers = list(pool.map(lambda request: client.predict(*request, api_name="/predict"), requests))
    for (synopsis, mode, threshold), (_, chosen, notice) in zip(requests, answers):
        if check_synopsis(synopsis):
            assert notice == f"⚠️ {check_synopsis(synopsis)}"
            continue
        [expected] = reference.predict([synopsis], threshold=None if mode == PER_GENRE else threshold)
        assert chosen == (", ".join(expected.chosen) or NOTHING_CHOSEN)


def test_model_info_names_the_model_device_and_test_scores(client, trained_model):
    panel = client.predict(api_name="/model_info")
    assert str(trained_model) in panel and "cpu" in panel and "int8" in panel
    assert "micro-F1" in panel and "macro-F1" in panel and "⚠️" not in panel and "데모 모델" not in panel


def test_the_api_offers_exactly_the_tested_endpoints(client):
    assert set(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == {
        "/predict",
        "/model_info",
    }


def test_help_explains_the_configuration():
    result = subprocess.run(
        [sys.executable, "app.py", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        env=os.environ | OFFLINE_ENVIRONMENT,
    )
    assert result.returncode == 0, result.stderr
    for option in ("--model", "--device", "--port", "--host", "GENRE_MODEL", "GENRE_DEVICE", "demo_model"):
        assert option in result.stdout


def test_unloadable_model_is_explained_on_the_page_and_demo_model_is_used(trained_model, verdict_cache, tmp_path):
    # app.py in a folder of its own whose demo_model/ is the trained model, configured through the environment
    shutil.copy(PROJECT_ROOT / "app.py", tmp_path / "app.py")
    (tmp_path / "demo_model").symlink_to(trained_model, target_is_directory=True)
    app = AppServer(
        tmp_path / "app.py",
        [],
        tmp_path / "app.log",
        {"GENRE_MODEL": "/no/such/model", "GENRE_MODEL_CACHE": str(verdict_cache), "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        client = Client(app.url, verbose=False)
        panel = client.predict(api_name="/model_info")
        assert "/no/such/model" in panel and "no such folder" in panel and str(tmp_path / "demo_model") in panel
        assert "데모 모델입니다" in panel and "train.py" in panel
        _, chosen, notice = client.predict(SYNOPSES[0], ONE_THRESHOLD, 0.0, api_name="/predict")
        assert sorted(chosen.split(", ")) == sorted(GENRES) and "⚠️" not in notice
    finally:
        app.stop()


def test_page_predicts_and_follows_the_slider_in_a_real_browser(server, reference):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    [expected] = reference.predict([SYNOPSES[0]])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="ko-KR")
            page.goto(server.url)
            expect(page.get_by_text("영화 줄거리 장르 분류")).to_be_visible(timeout=30_000)
            chosen = page.get_by_label("선택된 장르")

            page.get_by_label("줄거리").fill("짧다")
            page.get_by_role("button", name="장르 예측").click()
            expect(page.get_by_text(check_synopsis("짧다"))).to_be_visible(timeout=30_000)

            page.get_by_label("줄거리").fill(SYNOPSES[0])
            page.get_by_role("button", name="장르 예측").click()
            expect(chosen).to_have_value(", ".join(expected.chosen) or NOTHING_CHOSEN, timeout=30_000)
            top_genre = expected.ranked[0][0]
            expect(page.get_by_test_id("label-output-value").get_by_text(top_genre).first).to_be_visible()
            expect(page.get_by_text("micro-F1")).to_be_visible()
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # drag the slider to its left end: one threshold of 0 chooses every genre
            track = page.get_by_test_id("range-input").bounding_box()
            page.mouse.click(track["x"] + 1, track["y"] + track["height"] / 2)
            expect(page.get_by_label(ONE_THRESHOLD, exact=True)).to_be_checked(timeout=30_000)
            expect(chosen).to_have_value(", ".join(genre for genre, _ in expected.ranked), timeout=30_000)
            page.mouse.click(track["x"] + track["width"] - 1, track["y"] + track["height"] / 2)
            expect(chosen).to_have_value(NOTHING_CHOSEN, timeout=30_000)
        finally:
            browser.close()
