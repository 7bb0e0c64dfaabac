"""genre_model.predict, .inputs and .fast_cpu: scores, thresholds, long synopses, int8 and ONNX Runtime, the batch CLI.

    .venv/bin/python -m pytest tests/test_predict.py -q

Offline; the models are conftest's `trained_model` (a real train.py folder) and
the small purpose-built ones of tests/predict_models.py.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from genre_model import fast_cpu
from genre_model.corpus import EXAMPLE_CORPUS
from genre_model.errors import ModelLoadError
from genre_model.genres import GENRES
from genre_model.inputs import MAX_CHARS, check_synopsis
from genre_model.model_folder import Thresholds, write_thresholds
from genre_model.predict import AGREEMENT_SYNOPSES, GenrePredictor, agreement_sample, inference_dtype, resolve_device
from genre_model.tables import read_table, write_jsonl

from helpers import TWO_PROCESSES, launch, read_corpus
from predict_models import LIVELY_THRESHOLDS, LIVELY_WINDOW, KeywordModel, save_lively_model

SYNOPSES = [row["synopsis"] for row in read_corpus()]


@pytest.fixture(scope="session")
def agreement_corpus(tmp_path_factory) -> Path:
    """A small corpus for the fast CPU checks of the tests that load models anew."""
    return write_jsonl(tmp_path_factory.mktemp("agreement") / "synopses.jsonl", read_corpus(limit=60))


@pytest.fixture(scope="session")
def lively_model(tiny_encoder, tmp_path_factory) -> Path:
    return save_lively_model(tmp_path_factory.mktemp("lively") / "model", tiny_encoder)


@pytest.fixture(scope="session")
def lively(lively_model) -> GenrePredictor:
    return GenrePredictor.load(lively_model, device="cpu", fast_cpu=False, batch_size=8)


@pytest.fixture(scope="session")
def trained(trained_model, verdict_cache) -> GenrePredictor:
    return GenrePredictor.load(trained_model, device="cpu", cache_dir=verdict_cache)


def long_synopsis(minimum_windows: int, tokenizer, window: int) -> str:
    """Corpus synopses joined until the text needs at least `minimum_windows` windows."""
    text = ""
    for synopsis in SYNOPSES:
        text = f"{text} {synopsis}".strip()
        if len(tokenizer(text, add_special_tokens=False)["input_ids"]) > minimum_windows * window:
            return text
    raise AssertionError("the corpus is too short to build a long synopsis")


# ---- input checks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "입력해 주세요"),
        ("   \n\t", "입력해 주세요"),
        (None, "입력해 주세요"),
        ("형사가 범인을 쫓는다.", "너무 짧습니다"),
        ("가" * (MAX_CHARS + 1), "너무 깁니다"),
        ("A retired detective returns to the harbour to save his nephew from a gang.", "한국어"),
        ("1234567890 1234567890 1234567890", "한국어"),
    ],
)
def test_unusable_synopses_get_a_korean_reason(text, complaint):
    assert complaint in check_synopsis(text)


def test_korean_synopses_quoting_foreign_names_are_accepted():
    assert check_synopsis(SYNOPSES[0]) is None
    assert check_synopsis("마블의 Avengers 이후 홀로 남은 Tony는 뉴욕의 작은 공방에서 새로운 슈트를 만든다.") is None


# ---- ranking and thresholds ------------------------------------------------------------------------------------


def test_every_genre_is_ranked_by_probability(lively):
    predictions = lively.predict(SYNOPSES[:6])
    probabilities = lively.probabilities(SYNOPSES[:6])
    for prediction, expected in zip(predictions, probabilities):
        genres, scores = zip(*prediction.ranked)
        assert sorted(genres) == sorted(GENRES)
        assert list(scores) == sorted(scores, reverse=True)
        assert all(0.0 <= score <= 1.0 for score in scores)
        np.testing.assert_allclose([prediction.probabilities[genre] for genre in GENRES], expected, atol=1e-6)


def test_model_thresholds_choose_per_genre(lively):
    predictions = lively.predict(SYNOPSES[:20])
    per_genre = LIVELY_THRESHOLDS.per_genre
    for prediction in predictions:
        assert prediction.chosen == [genre for genre, score in prediction.ranked if score >= per_genre[genre]]
    # the per-genre thresholds really differ from one global threshold on these synopses
    global_choices = [prediction.chosen for prediction in lively.predict(SYNOPSES[:20], threshold=0.5)]
    assert global_choices != [prediction.chosen for prediction in predictions]


def test_thresholds_relative_to_the_top_genre_cut_at_a_share_of_each_synopsis_top_probability(lively, monkeypatch):
    monkeypatch.setattr(lively, "thresholds", dataclasses.replace(LIVELY_THRESHOLDS, relative_to_top=True))
    for prediction in lively.predict(SYNOPSES[:20]):
        top = prediction.ranked[0][1]
        assert prediction.cutoffs == pytest.approx({g: t * top for g, t in LIVELY_THRESHOLDS.per_genre.items()})
        assert prediction.chosen[0] == prediction.ranked[0][0]  # the top genre is always in
        assert prediction.chosen == [genre for genre, score in prediction.ranked if score >= prediction.cutoffs[genre]]
        if prediction.nearest_miss:
            genre, probability, cutoff = prediction.nearest_miss
            assert probability < cutoff == prediction.cutoffs[genre]


def test_one_threshold_applies_to_every_genre(lively):
    for prediction in lively.predict(SYNOPSES[:10], threshold=0.5):
        assert prediction.chosen == [genre for genre, score in prediction.ranked if score >= 0.5]
    assert all(len(prediction.chosen) == len(GENRES) for prediction in lively.predict(SYNOPSES[:3], threshold=0.0))
    assert all(prediction.chosen == [] for prediction in lively.predict(SYNOPSES[:3], threshold=1.0))


def test_each_synopsis_can_have_its_own_threshold(lively):
    together = lively.predict(SYNOPSES[:3], threshold=[None, 0.0, 0.5])
    alone = [
        lively.predict(SYNOPSES[0])[0],
        lively.predict(SYNOPSES[1], threshold=0.0)[0],
        lively.predict(SYNOPSES[2], threshold=0.5)[0],
    ]
    assert [prediction.chosen for prediction in together] == [prediction.chosen for prediction in alone]


@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_thresholds_outside_zero_to_one_are_refused(lively, threshold):
    with pytest.raises(ValueError, match="between 0 and 1"):
        lively.predict(SYNOPSES[:1], threshold=threshold)


def test_trained_model_decides_with_its_saved_thresholds(trained, trained_model):
    saved = Thresholds.from_dict(json.loads((trained_model / "thresholds.json").read_text(encoding="utf-8")))
    probabilities = trained.probabilities(SYNOPSES[:8])
    expected = [[genre for genre, decided in zip(GENRES, row) if decided] for row in saved.decide(probabilities)]
    assert [sorted(prediction.chosen) for prediction in trained.predict(SYNOPSES[:8])] == [
        sorted(genres) for genres in expected
    ]


# ---- batching and long synopses --------------------------------------------------------------------------------


def test_batch_equals_one_by_one(lively):
    texts = SYNOPSES[:24]  # a mix of lengths: 1 to 4 windows of 64 tokens each
    batched = lively.predict(texts)
    for text, together in zip(texts, batched):
        [alone] = lively.predict([text])
        np.testing.assert_allclose([s for _, s in together.ranked], [s for _, s in alone.ranked], atol=1e-5)
        assert together.chosen == alone.chosen and together.chunks == alone.chunks
    assert len({prediction.chunks for prediction in batched}) > 1


def test_long_synopsis_scores_the_same_alone_and_batched(lively):
    long_text = long_synopsis(3, lively.tokenizer, LIVELY_WINDOW)
    [alone] = lively.predict([long_text])
    batched = lively.predict([SYNOPSES[5], long_text, SYNOPSES[6]])[1]
    assert alone.chunks >= 4
    np.testing.assert_allclose(list(alone.probabilities.values()), list(batched.probabilities.values()), atol=1e-5)
    assert alone.chosen == batched.chosen


def war_at_the_end(tokenizer) -> tuple[int, str, str]:
    """The token id of 전쟁 (war), a long text of corpus synopses without it, and that text with a war at its end."""
    keyword = tokenizer("전쟁", add_special_tokens=False)["input_ids"][0]
    filler = " ".join(
        text for text in SYNOPSES[:40] if keyword not in tokenizer(text, add_special_tokens=False)["input_ids"]
    )
    return keyword, filler, f"{filler} 그리고 마침내 전쟁이 시작된다."


def test_genre_evident_only_at_the_end_of_a_long_synopsis_counts(tiny_encoder):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    keyword, filler, ending = war_at_the_end(tokenizer)
    predictor = GenrePredictor(KeywordModel(keyword), tokenizer, Thresholds.uniform(0.5), name="keyword", window=64)
    [at_the_end] = predictor.predict([ending])
    [without] = predictor.predict([filler])
    assert at_the_end.chunks > 10
    assert at_the_end.chosen == ["전쟁"] and without.chosen == []
    # what a predictor that cut the synopsis at its window would have seen: no war
    first_window = tokenizer.decode(tokenizer(ending, add_special_tokens=False)["input_ids"][:60])
    assert predictor.predict([first_window])[0].chosen == []


def test_a_long_synopsis_is_combined_by_the_window_rule_its_thresholds_were_tuned_for(tiny_encoder):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    keyword, _, ending = war_at_the_end(tokenizer)
    by_rule = {
        rule: GenrePredictor(
            KeywordModel(keyword),
            tokenizer,
            dataclasses.replace(Thresholds.uniform(0.5), window_rule=rule),
            name="keyword",
            window=64,
        ).predict([ending])[0]
        for rule in ("max", "mean")
    }
    assert by_rule["max"].chosen == ["전쟁"] and by_rule["max"].probabilities["전쟁"] > 0.99
    # the mean over windows: one or two windows of many hold the keyword
    assert 0.5 / by_rule["mean"].chunks < by_rule["mean"].probabilities["전쟁"] < 2.5 / by_rule["mean"].chunks
    assert by_rule["mean"].chosen == []


def test_thresholds_tuned_for_an_unknown_window_rule_are_refused(trained_model, tmp_path):
    shutil.copytree(trained_model, tmp_path / "model", ignore=shutil.ignore_patterns("checkpoints"))
    write_thresholds(tmp_path / "model", dataclasses.replace(Thresholds.uniform(0.5), window_rule="median"))
    with pytest.raises(ModelLoadError, match="window rule 'median'"):
        GenrePredictor.load(tmp_path / "model", fast_cpu=False)


# ---- the fast CPU path -----------------------------------------------------------------------------------------


def test_int8_agrees_with_full_precision_on_the_corpus(trained, trained_model, verdict_cache):
    assert trained.precision == "int8", trained.fast_cpu_note
    full = GenrePredictor.load(trained_model, device="cpu", fast_cpu=False)
    assert full.precision == "fp32"
    sample = agreement_sample(EXAMPLE_CORPUS)
    assert len(sample) == AGREEMENT_SYNOPSES
    fast_scores, full_scores = trained.probabilities(sample), full.probabilities(sample)
    same = np.all(trained.thresholds.decide(fast_scores) == full.thresholds.decide(full_scores), axis=1)
    assert same.mean() >= 0.99
    assert np.abs(fast_scores - full_scores).max() <= 0.02
    assert "int8 agrees with fp32" in trained.info()["fast_cpu"]


def test_where_int8_disagrees_onnx_runtime_runs_the_same_fp32_scores(lively_model, lively, verdict_cache):
    # the lively model's scores swing with every token, so int8's small errors flip its decisions
    predictor = GenrePredictor.load(lively_model, device="cpu", cache_dir=verdict_cache)
    assert predictor.precision == "fp32 (ONNX Runtime)", predictor.fast_cpu_note
    assert (
        predictor.fast_cpu_note.startswith("int8 rejected")
        and "onnxruntime agrees with fp32" in predictor.fast_cpu_note
    )
    assert [check["path"] for check in predictor.info()["fast_cpu_checks"]] == ["int8", "onnxruntime"]
    # every window length and batch size the corpus gives (the lively window is 64 tokens: most synopses take several)
    np.testing.assert_allclose(predictor.probabilities(SYNOPSES[:60]), lively.probabilities(SYNOPSES[:60]), atol=1e-5)
    np.testing.assert_allclose(predictor.probabilities(SYNOPSES[:1]), lively.probabilities(SYNOPSES[:1]), atol=1e-5)


def test_when_no_fast_path_agrees_the_predictor_stays_in_fp32_and_says_so(lively_model, verdict_cache):
    predictor = GenrePredictor.load(lively_model, device="cpu", fast_cpu=["int8"], cache_dir=verdict_cache)
    assert predictor.precision == "fp32"
    assert predictor.fast_cpu_note.startswith("int8 rejected") and predictor.fast_cpu_note.endswith("using fp32")


def test_a_model_the_exporter_cannot_handle_is_reported_not_raised(tiny_encoder, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    keyword_model = KeywordModel(
        tokenizer.convert_tokens_to_ids("전쟁")
    )  # returns a SimpleNamespace, which torch.export cannot trace
    with pytest.raises(fast_cpu.FastPathError):
        fast_cpu.build("onnxruntime", keyword_model, tokenizer, 64, tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())  # no half-written graph left behind


def test_verdicts_and_graph_are_made_once_then_cached(lively_model, agreement_corpus, tmp_path, monkeypatch):
    first = GenrePredictor.load(lively_model, device="cpu", cache_dir=tmp_path, agreement_corpus=agreement_corpus)
    verdicts, [graph] = (
        sorted(path.name for path in (tmp_path / "fast_cpu").glob("*.json")),
        list((tmp_path / "fast_cpu").glob("*.onnx")),
    )
    assert [name.rsplit("-", 1)[1] for name in verdicts] == ["int8.json", "onnxruntime.json"]
    written = graph.stat().st_mtime_ns
    monkeypatch.setattr(fast_cpu, "compare", lambda *args: pytest.fail("a cached verdict was not used"))
    second = GenrePredictor.load(lively_model, device="cpu", cache_dir=tmp_path, agreement_corpus=agreement_corpus)
    assert (second.precision, second.fast_cpu_note) == (first.precision, first.fast_cpu_note)
    assert graph.stat().st_mtime_ns == written  # loaded, not exported again
    graph.unlink()  # a cleaned cache keeps its verdicts but loses the graph: it is exported again, not re-checked
    third = GenrePredictor.load(lively_model, device="cpu", cache_dir=tmp_path, agreement_corpus=agreement_corpus)
    assert third.precision == "fp32 (ONNX Runtime)" and graph.is_file()


def test_int8_quantizes_the_encoder_and_leaves_the_classification_head_in_fp32(lively):
    quantized = fast_cpu.quantize(lively.model)
    kinds = {name: type(module) for name, module in quantized.named_modules()}
    assert kinds["classifier"] is torch.nn.Linear and kinds["bert.pooler.dense"] is torch.nn.Linear
    assert kinds["bert.encoder.layer.0.intermediate.dense"] is torch.ao.nn.quantized.dynamic.Linear
    assert (
        type(lively.model.bert.encoder.layer[0].intermediate.dense) is torch.nn.Linear
    )  # a copy: the fp32 model is untouched


def test_agreement_needs_99_percent_identical_decisions_and_close_scores():
    thresholds = Thresholds.uniform(0.5)
    full = np.full((100, len(GENRES)), 0.2)
    full[:2, 0] = 0.495  # two synopses sit just under the threshold of one genre
    one_flip, two_flips, drifted = full.copy(), full.copy(), full.copy()
    one_flip[0, 0] = 0.505
    two_flips[:2, 0] = 0.505
    drifted[50:, 5] += 0.03  # no decision changes, but scores drift by more than 0.02
    assert fast_cpu.compare("int8", full, one_flip, thresholds).accepted  # 99 % identical
    assert not fast_cpu.compare("int8", full, two_flips, thresholds).accepted  # 98 %
    assert not fast_cpu.compare("int8", full, drifted, thresholds).accepted


# ---- loading and device ----------------------------------------------------------------------------------------


def test_info_reports_model_device_precision_and_test_scores(trained, trained_model):
    info = trained.info()
    metrics = json.loads((trained_model / "metrics.json").read_text(encoding="utf-8"))
    assert info["model"] == str(trained_model) and info["device"] == "cpu" and info["window"] == 128
    assert info["test_scores"]["tuned_thresholds"]["micro_f1"] == metrics["test"]["tuned_thresholds"]["micro_f1"]
    assert info["test_scores"]["threshold_0.5"]["macro_f1"] == metrics["test"]["threshold_0.5"]["macro_f1"]


def test_auto_device_prefers_cuda_then_mps_then_cpu_and_halves_precision_only_off_cpu():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert inference_dtype(torch.device("cpu")) == torch.float32
    assert inference_dtype(torch.device("mps")) == torch.float16


@pytest.mark.parametrize(
    ("model", "device", "reason"),
    [
        ("/no/such/model", "auto", "no such folder"),
        ("nobody/no-such-genre-model", "auto", "cannot load the model"),
        (None, "cuda:7", "not available"),
    ],
)
def test_unloadable_models_raise_a_clear_error(trained_model, model, device, reason):
    with pytest.raises(ModelLoadError, match=reason):
        GenrePredictor.load(model or trained_model, device=device)


def test_a_model_without_the_20_genres_is_refused(tiny_encoder):
    with pytest.raises(ModelLoadError, match="not a genre model"):
        GenrePredictor.load(tiny_encoder, fast_cpu=False)


# ---- the batch CLI ---------------------------------------------------------------------------------------------


def run_cli(*arguments: str, processes: int = 1, cache: Path | None = None) -> subprocess.CompletedProcess:
    launcher = [] if processes == 1 else TWO_PROCESSES
    return launch(
        launcher,
        ["-m", "genre_model.predict"],
        *arguments,
        timeout=180,
        **({"GENRE_MODEL_CACHE": str(cache)} if cache else {}),
    )


def read_output(path: Path) -> list[dict]:
    return read_table(path).rows


@pytest.fixture(scope="module")
def cli_input(tmp_path_factory) -> tuple[Path, list[dict]]:
    rows = read_corpus(limit=15)
    rows.insert(4, {"id": "too-short", "synopsis": "짧은 줄거리"})
    rows.insert(9, {"id": "english", "synopsis": "A detective chases a smuggling ring across the harbour at night."})
    return write_jsonl(tmp_path_factory.mktemp("cli") / "films.jsonl", rows), rows


@pytest.fixture(scope="module")
def single_process_output(cli_input, lively_model, verdict_cache, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("cli-out") / "one.csv"
    result = run_cli("--model", str(lively_model), str(cli_input[0]), "-o", str(output), cache=verdict_cache)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 17 rows" in result.stdout and "2 not scored" in result.stdout
    assert "scoring: 100%" in result.stderr  # the progress bar
    return output


def test_cli_writes_every_input_row_in_order_with_genres_and_probabilities(single_process_output, cli_input, lively):
    written, rows = read_output(single_process_output), cli_input[1]
    assert [row["id"] for row in written] == [row["id"] for row in rows]
    assert [row["genres"] for row in written[:3]] == [json.dumps(row["genres"], ensure_ascii=False) for row in rows[:3]]
    assert list(written[0])[-len(GENRES) :] == [f"prob_{genre}" for genre in GENRES]
    scored = [(out, row) for out, row in zip(written, rows) if not out["problem"]]
    expected = lively.predict([row["synopsis"] for _, row in scored])
    for (out, _), prediction in zip(scored, expected):
        np.testing.assert_allclose(
            [float(out[f"prob_{genre}"]) for genre in GENRES], list(prediction.probabilities.values()), atol=1e-5
        )
        assert out["predicted_genres"] == ",".join(prediction.chosen)
    problems = {row["id"]: row["problem"] for row in written if row["problem"]}
    assert problems == {"too-short": check_synopsis("짧은 줄거리"), "english": check_synopsis(rows[9]["synopsis"])}
    assert all(written_row["prob_드라마"] == "" for written_row in written if written_row["problem"])


def test_cli_under_two_processes_writes_the_single_process_output(
    single_process_output, cli_input, lively_model, verdict_cache, tmp_path
):
    output = tmp_path / "two.csv"
    result = run_cli(
        "--model", str(lively_model), str(cli_input[0]), "-o", str(output), processes=2, cache=verdict_cache
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stdout
    one, two = read_output(single_process_output), read_output(output)
    assert [row["id"] for row in two] == [row["id"] for row in one]
    assert [row["predicted_genres"] for row in two] == [row["predicted_genres"] for row in one]
    for first, second in zip(one, two):
        assert first["problem"] == second["problem"]
        if not first["problem"]:
            np.testing.assert_allclose(
                [float(first[f"prob_{g}"]) for g in GENRES], [float(second[f"prob_{g}"]) for g in GENRES], atol=1e-5
            )


def test_cli_reads_csv_with_a_chosen_text_column_and_plain_text(trained_model, verdict_cache, tmp_path, monkeypatch):
    from genre_model.predict import main

    monkeypatch.setenv("GENRE_MODEL_CACHE", str(verdict_cache))
    table = tmp_path / "films.csv"
    with open(table, "w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["title", "plot"])
        writer.writeheader()
        writer.writerows({"title": row["title"], "plot": row["synopsis"]} for row in read_corpus(limit=3))
    lines = tmp_path / "films.txt"
    lines.write_text("\n".join(SYNOPSES[:2]) + "\n\n", encoding="utf-8")
    model = ["--model", str(trained_model)]
    assert main([*model, str(table), "-o", str(tmp_path / "a.csv"), "--text_column", "plot", "--threshold", "0"]) == 0
    written = read_output(tmp_path / "a.csv")
    assert [row["title"] for row in written] == [row["title"] for row in read_corpus(limit=3)]
    assert all(len(row["predicted_genres"].split(",")) == len(GENRES) for row in written)  # 0 chooses every genre
    assert main([*model, str(lines), "-o", str(tmp_path / "b.csv")]) == 0
    assert [row["synopsis"] for row in read_output(tmp_path / "b.csv")] == SYNOPSES[:2]


def test_cli_explains_each_chosen_genre_with_the_words_that_pushed_it_up(lively_model, verdict_cache, tmp_path):
    from genre_model.predict import main

    rows = read_corpus(limit=2) + [{"id": "too-short", "synopsis": "짧은 줄거리"}]
    source, output = write_jsonl(tmp_path / "films.jsonl", rows), tmp_path / "explained.csv"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENRE_MODEL_CACHE", str(verdict_cache))
        assert main(["--model", str(lively_model), str(source), "-o", str(output), "--explain", "2"]) == 0
    written = read_output(output)
    assert written[2]["explanation"] == "" and written[2]["problem"]
    for row, original in zip(written[:2], rows):
        explanation = json.loads(row["explanation"])
        chosen = row["predicted_genres"].split(",") if row["predicted_genres"] else []
        top = max(GENRES, key=lambda genre: float(row[f"prob_{genre}"]))
        assert list(explanation) == (chosen or [top])
        for words in explanation.values():
            assert len(words) == 2 and all(word in original["synopsis"].split() for word, _ in words)
            assert words[0][1] >= words[1][1]


def write_bad_input(case: str, folder: Path) -> Path:
    source = folder / "films.csv"
    if case == "missing column":
        source.write_text("title,plot\n검은 항로,부산 감천항의 밤\n", encoding="utf-8")
    elif case == "empty file":
        source.write_text("", encoding="utf-8")
    elif case == "unsupported type":
        source = folder / "films.xlsx"
        source.write_bytes(b"PK")
    return source


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing file", "no such file"),
        ("missing column", "column 'synopsis' not found in"),
        ("empty file", "holds no rows"),
        ("unsupported type", "unsupported file type .xlsx"),
        ("missing model", "no such folder"),
        ("negative --explain", "--explain takes a number of words"),
    ],
)
def test_cli_bad_input_is_refused_with_a_message_and_exit_code_2(case, message, trained_model, tmp_path, capsys):
    from genre_model.predict import main

    source, model = write_bad_input(case, tmp_path), str(trained_model)
    if case == "missing model":
        source, model = write_jsonl(tmp_path / "films.jsonl", read_corpus(limit=1)), str(tmp_path / "no-model")
    extra = ["--explain", "-1"] if case == "negative --explain" else []
    assert main(["--model", model, str(source), "-o", str(tmp_path / "out.csv"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_cli_command_fails_without_a_traceback(trained_model, tmp_path):
    result = run_cli(
        "--model", str(trained_model), str(write_bad_input("missing column", tmp_path)), "-o", str(tmp_path / "out.csv")
    )
    assert result.returncode == 2
    assert "Pass --text_column plot" in result.stderr and "Traceback" not in result.stderr


def test_serving_imports_nothing_from_the_training_side(trained_model, verdict_cache):
    script = (
        "import sys\n"
        "from genre_model.predict import GenrePredictor\n"
        f"GenrePredictor.load({str(trained_model)!r}, device='cpu', cache_dir={str(verdict_cache)!r})\n"
        "print([name for name in ('datasets', 'iterstrat', 'sklearn', 'genre_model.data', 'genre_model.scratch', "
        "'genre_model.metrics', 'genre_model.batching') if name in sys.modules])\n"
    )
    result = launch([], ["-c", script])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
