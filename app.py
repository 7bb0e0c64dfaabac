"""Web demo and API: paste a Korean movie synopsis, see every genre's probability next to its threshold, and why.

    python app.py                                        # the model in demo_model/ (or $GENRE_MODEL)
    python app.py --model out/genre-bert --port 7860     # a folder written by train.py, or a Hub id
    GENRE_MODEL=you/klue-bert-movie-genres GENRE_DEVICE=cuda python app.py
    python app.py --help

From Python (gradio_client), every endpoint answers with a JSON object, and a bad
request gets {"error": "..."} rather than an exception:
    client.predict("줄거리…", "모델의 장르별 임계값", 0.5, api_name="/predict")   # {"chosen", "genres", "notice", ...}
    client.predict("줄거리…", "스릴러", api_name="/explain")                      # {"genre", "words", ...}
    client.predict(handle_file("films.csv"), "synopsis", api_name="/predict_file") # (CSV file, message)
    client.predict(api_name="/model_info")                                        # the model panel, Markdown

Layout and wiring only: scoring, thresholds, input checks and explanations are
genre_model's (predict, inputs, explain), so the page, its API and the batch CLI agree.
The page keeps the last synopsis's probabilities (gr.State): moving the threshold
slider or switching the threshold mode re-decides them without running the model.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
from html import escape
from pathlib import Path

import gradio as gr

from genre_model.corpus import read_example_corpus
from genre_model.errors import DataError, ModelLoadError
from genre_model.explain import explain
from genre_model.genres import GENRES
from genre_model.inputs import caution, check_synopsis
from genre_model.predict import GenrePredictor, Prediction, predict_rows, write_rows
from genre_model.tables import FORMATS, read_table

DEMO_MODEL = Path(__file__).resolve().parent / "demo_model"
PER_GENRE, ONE_THRESHOLD = "모델의 장르별 임계값", "하나의 임계값"
# genre_model.scoring's COMBINATION_RULES, as the model panel names them (each ends in a consonant: 을 follows)
WINDOW_RULE_NAMES = {"max": "최댓값", "mean": "평균", "length_weighted_mean": "길이 가중 평균"}
MAX_BATCH_SIZE = 8  # API requests waiting together are scored in one forward pass
MAX_FILE_ROWS = 1000  # a file is a shared server's work for minutes on CPU beyond this
NO_MODEL = "모델이 없어 예측할 수 없습니다. 아래 모델 정보를 확인해 주세요."
DEMO_NOTICE = (
    "ℹ️ **데모 모델입니다.** 이 저장소의 예시 줄거리로 처음부터 학습한 작은 모델입니다. 실제 모델은 "
    "`accelerate launch train.py --dataset 내_데이터.parquet`로 `klue/bert-base`를 미세조정해 만들고, "
    "`GENRE_MODEL=모델_폴더_또는_Hub_id python app.py`로 지정하세요."
)
logger = logging.getLogger("genre_model.app")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="영화 줄거리 장르 분류 데모 (Gradio)")
    parser.add_argument(
        "--model",
        default=os.environ.get("GENRE_MODEL") or str(DEMO_MODEL),
        help="model folder or Hub id (default: $GENRE_MODEL, else demo_model/)",
    )
    parser.add_argument(
        "--device",
        default=os.environ.get("GENRE_DEVICE") or "auto",
        help="auto, cpu, cuda or mps (default: $GENRE_DEVICE, else auto)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
        help="default: $GRADIO_SERVER_PORT, else 7860",
    )
    parser.add_argument(
        "--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME, else 127.0.0.1)"
    )
    return parser.parse_args()


def load_predictor(model: str, device: str) -> tuple[GenrePredictor | None, list[str]]:
    """The configured model, else demo_model/, and why each model before it could not be loaded."""
    problems = []
    for candidate in dict.fromkeys([model, str(DEMO_MODEL)]):
        try:
            return GenrePredictor.load(candidate, device=device), problems
        except ModelLoadError as error:
            problems.append(f"모델 `{candidate}`을(를) 불러오지 못했습니다: {error}")
    return None, problems


def model_panel(predictor: GenrePredictor | None, problems: list[str]) -> str:
    lines = [f"⚠️ {problem}" for problem in problems]
    if predictor is None:
        return "\n\n".join(lines + ["사용할 수 있는 모델이 없습니다. `--model`로 모델 폴더나 Hub id를 지정해 주세요."])
    info = predictor.info()
    if Path(info["model"]).resolve() == DEMO_MODEL.resolve():
        lines.append(DEMO_NOTICE)
    lines.append(
        f"**모델** `{info['model']}` · **장치** {info['device']} · **정밀도** {info['precision']} "
        f"· **창** {info['window']} 토큰 (더 긴 줄거리는 겹치는 창으로 나눠 읽고 장르마다 창별 확률의 "
        f"{WINDOW_RULE_NAMES[info['window_rule']]}을 씁니다)"
    )
    for check in info["fast_cpu_checks"]:
        verdict = "사용합니다" if check["accepted"] else "fp32와 충분히 일치하지 않아 쓰지 않습니다"
        lines.append(
            f"CPU 가속 점검 ({check['path']}): 예시 줄거리 {check['synopses']}편 중 "
            f"{check['identical_decisions']:.1%}에서 fp32와 같은 장르, "
            f"점수 차이 최대 {check['max_score_difference']:.4f} → {verdict}"
        )
    if info["thresholds_relative_to_top"]:
        lines.append(
            "**장르별 임계값**은 그 줄거리에서 가장 높은 장르 확률에 대한 비율입니다: "
            "확률이 (임계값 × 최고 확률) 이상인 장르가 선택되고, 막대의 표시가 그 값입니다."
        )
    tuned = (info["test_scores"] or {}).get("tuned_thresholds")
    lines.append(
        f"**자체 테스트 점수** (학습 데이터에서 떼어 둔 테스트 분할, 장르별 임계값): micro-F1 {tuned['micro_f1']:.3f} "
        f"· macro-F1 {tuned['macro_f1']:.3f} · samples-F1 {tuned['samples_f1']:.3f}"
        if tuned
        else "테스트 점수 없음 (모델에 metrics.json이 없습니다)"
    )
    for evaluation in info["evaluations"]:
        lines.append(
            f"**다른 데이터에서 잰 점수** ({evaluation['description']}, {evaluation['rows']:,}편, "
            f"{len(evaluation['genres'])}개 장르, 모델의 임계값): micro-F1 {evaluation['micro_f1']:.3f} "
            f"· macro-F1 {evaluation['macro_f1']:.3f} · 장르 없음 {evaluation['no_genre_chosen']:.1%}. "
            "학습에 쓰지 않은 데이터라 자체 테스트 점수와 다를 수 있습니다."
        )
    return "\n\n".join(lines)


def short_examples(count: int = 5) -> tuple[list[list[str]], list[str]]:
    """The shortest synopses of the example corpus, and their titles as labels."""
    rows = sorted(read_example_corpus(), key=lambda row: len(row["synopsis"]))[:count]
    return [[row["synopsis"]] for row in rows], [row.get("title", row["synopsis"][:20]) for row in rows]


# ---- requests: every value checked, every problem answered in words ----------------------------------------


def threshold_setting(mode: object, threshold: object) -> tuple[float | None, str | None]:
    """(None for the model's per-genre thresholds, or one threshold for all; a Korean problem or None)."""
    if mode not in (PER_GENRE, ONE_THRESHOLD):
        return None, f"임계값 방식은 '{PER_GENRE}' 또는 '{ONE_THRESHOLD}'이어야 합니다 (받은 값: {mode!r})."
    if mode == PER_GENRE:
        return None, None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or math.isnan(threshold):
        return None, f"임계값은 0과 1 사이의 숫자여야 합니다 (받은 값: {threshold!r})."
    if not 0.0 <= threshold <= 1.0:
        return None, f"임계값은 0과 1 사이여야 합니다 (받은 값: {threshold})."
    return float(threshold), None


def prediction_json(prediction: Prediction, notice: str) -> dict:
    return {
        "chosen": prediction.chosen,
        "genres": [
            {
                "genre": genre,
                "probability": probability,
                "threshold": prediction.cutoffs[genre],
                "chosen": genre in prediction.chosen,
            }
            for genre, probability in prediction.ranked
        ],
        "windows": prediction.chunks,
        "notice": notice,
    }


# ---- what the page shows -------------------------------------------------------------------------------------


def nothing_chosen_text(prediction: Prediction) -> str:
    missed = prediction.nearest_miss
    text = "임계값을 넘은 장르가 없습니다."
    if missed:
        genre, probability, threshold = missed
        text += (
            f" 가장 가까운 장르는 {genre}(확률 {probability:.2f})로, "
            f"임계값 {threshold:.2f}보다 {threshold - probability:.2f} 낮습니다."
        )
    return text


def genre_view(prediction: Prediction) -> str:
    """Every genre's probability as a bar, its threshold as a mark on the bar, the chosen genres set apart."""
    rows = []
    for genre, probability in prediction.ranked:
        chosen = genre in prediction.chosen
        threshold = prediction.cutoffs[genre]
        rows.append(
            f'<div class="genre-row{" chosen" if chosen else ""}" data-genre="{escape(genre)}">'
            f'<span class="genre-name">{"✔ " if chosen else ""}{escape(genre)}</span>'
            f'<span class="genre-bar"><span class="genre-fill" style="width:{probability:.1%}"></span>'
            f'<span class="genre-threshold" style="left:{threshold:.1%}" title="임계값 {threshold:.2f}"></span></span>'
            f'<span class="genre-numbers">{probability:.2f} / 임계값 {threshold:.2f}</span></div>'
        )
    summary = (
        f"선택된 장르: <b>{escape(', '.join(prediction.chosen))}</b>"
        if prediction.chosen
        else escape(nothing_chosen_text(prediction))
    )
    return f'<div class="genre-view"><p class="genre-summary">{summary}</p>{"".join(rows)}</div>'


VIEW_CSS = """
.genre-row { display: grid; grid-template-columns: 9em 1fr 10em; gap: .6em; align-items: center; margin: 2px 0; }
.genre-row.chosen .genre-name { font-weight: 700; color: #1d4ed8; }
.genre-bar { position: relative; height: 14px; background: #e5e7eb; border-radius: 3px; }
.genre-fill { position: absolute; left: 0; top: 0; bottom: 0; background: #9ca3af; border-radius: 3px; }
.genre-row.chosen .genre-fill { background: #2563eb; }
.genre-threshold { position: absolute; top: -3px; bottom: -3px; width: 2px; background: #dc2626; }
.genre-numbers { font-variant-numeric: tabular-nums; font-size: .9em; }
.genre-summary { font-size: 1.05em; margin-bottom: .5em; }
"""


def on_lent_gpu(function):
    """`function`, holding a GPU lent for each call on a ZeroGPU Space; as it is elsewhere (no `spaces` package)."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(function)


def build_demo(predictor: GenrePredictor | None, problems: list[str]) -> gr.Blocks:
    @on_lent_gpu
    def score(texts: list[str]):
        """The one place the page and the API score synopses; logged so that anyone can see when the model runs."""
        logger.info("model scored %d synopsis(es)", len(texts))
        return predictor.score(texts)

    @on_lent_gpu
    def explain_genre(text: str, genre: str):
        logger.info("model explained 1 synopsis")
        return explain(predictor, text, genre)

    @on_lent_gpu
    def predict_table(table, column: str) -> list[dict]:
        logger.info("model scored %d synopsis(es) of a file", len(table))
        return predict_rows(predictor, table, column, progress=True)

    # ---- the page --------------------------------------------------------------------------------------------

    def decide(last: dict | None, mode: str, threshold: float):
        """Chosen genres and the view for the stored probabilities: no model call."""
        if not last:
            return gr.update(), gr.update()
        setting, problem = threshold_setting(mode, threshold)
        if problem:
            return "", f"⚠️ {problem}"
        prediction = predictor.decide(last["probabilities"], predictor.thresholds_for(setting), last["windows"])
        chosen = ", ".join(prediction.chosen) or nothing_chosen_text(prediction)
        return chosen, genre_view(prediction)

    def predict_page(text: str, mode: str, threshold: float, last: dict | None):
        problem = NO_MODEL if predictor is None else check_synopsis(text)
        if problem:
            return None, "", f"⚠️ {problem}", "", gr.update(), None
        if not last or last["text"] != text:  # the model runs only for a synopsis it has not scored yet
            scores = score([text])
            last = {"text": text, "probabilities": scores.probabilities[0].tolist(), "windows": int(scores.windows[0])}
        notices = [caution(text, predictor.tokenizer) or ""]
        if last["windows"] > 1:
            notices.append(f"긴 줄거리라 {last['windows']}개 구간으로 나눠 모두 읽었습니다.")
        chosen, view = decide(last, mode, threshold)
        top = max(zip(GENRES, last["probabilities"]), key=lambda pair: pair[1])[0]
        return last, chosen, " ".join(n for n in notices if n), view, gr.update(value=top), None

    def explain_page(last: dict | None, genre: str):
        if not last:
            return None, "먼저 줄거리를 넣고 '장르 예측'을 눌러 주세요."
        result = explain_request(last["text"], genre)
        if "error" in result:
            return None, f"⚠️ {result['error']}"
        return highlighted(result), (
            f"**{result['genre']}** 확률 {result['probability']:.2f}. 보라색 단어는 이 장르 쪽으로, "
            "빨간 단어는 반대쪽으로 밀었습니다 (색이 진할수록 강하게)."
        )

    def predict_file(file: object, text_column: object, progress=gr.Progress(track_tqdm=True)):
        """The batch CLI's output for an uploaded file, capped at MAX_FILE_ROWS rows."""
        if predictor is None:
            return None, f"⚠️ {NO_MODEL}"
        path = getattr(file, "name", file)
        if not isinstance(path, str) or not path:
            return None, "⚠️ 파일을 올려 주세요 (CSV, TSV, JSON Lines, Parquet, TXT)."
        column = text_column.strip() if isinstance(text_column, str) and text_column.strip() else "synopsis"
        try:
            table = read_table(path, text_column=column)
        except DataError as error:  # the message names the uploaded copy's path: show the file's own name instead
            return None, f"⚠️ 파일을 읽을 수 없습니다: {str(error).replace(path, Path(path).name)}"
        if column not in table.columns:
            return None, (
                f"⚠️ 줄거리 열 '{column}'이(가) 없습니다. 이 파일의 열: {', '.join(table.columns)}. "
                "줄거리가 든 열 이름을 입력해 주세요."
            )
        capped = type(table)(table.source, table.rows[:MAX_FILE_ROWS], table.columns)
        rows = predict_table(capped, column)
        output = Path(tempfile.mkdtemp(prefix="genres-")) / f"{Path(path).stem}_genres.csv"
        write_rows(output, rows, table.columns)
        skipped = sum(bool(row["problem"]) for row in rows)
        message = (
            f"{len(rows):,}행을 예측했습니다"
            + (f" ({skipped:,}행은 예측하지 못함: problem 열 참고)" if skipped else "")
            + "."
        )
        if len(table) > MAX_FILE_ROWS:
            message += (
                f" 파일이 {len(table):,}행이라 처음 {MAX_FILE_ROWS:,}행만 처리했습니다 "
                f"(한 번에 최대 {MAX_FILE_ROWS:,}행). "
                "더 큰 파일은 `python -m genre_model.predict`로 예측하세요."
            )
        return str(output), message

    # ---- the API: typed endpoints that check every value themselves ------------------------------------------

    def predict_requests(synopses: list[str], modes: list[str], thresholds: list[float]) -> tuple[list[dict]]:
        """Every genre's probability and threshold, ranked, and the chosen genres; {"error": ...} for a bad request.
        Batched by Gradio: requests waiting together are scored in one call of the model."""
        answers: list[dict | None] = []
        settings = [threshold_setting(mode, threshold) for mode, threshold in zip(modes, thresholds)]
        for text, (_, problem) in zip(synopses, settings):
            problem = NO_MODEL if predictor is None else check_synopsis(text) or problem
            answers.append({"error": problem} if problem else None)
        valid = [index for index, answer in enumerate(answers) if answer is None]
        if valid:
            scores = score([synopses[index] for index in valid])
            for index, probabilities, windows in zip(valid, scores.probabilities, scores.windows):
                setting = settings[index][0]
                prediction = predictor.decide(probabilities, predictor.thresholds_for(setting), int(windows))
                answers[index] = prediction_json(prediction, caution(synopses[index], predictor.tokenizer) or "")
        return (answers,)

    def explain_request(synopsis: str, genre: str = "") -> dict:
        """Each word of the synopsis with how much it pushed `genre` (default: the top genre) up or down."""
        problem = NO_MODEL if predictor is None else check_synopsis(synopsis)
        if problem:
            return {"error": problem}
        if genre in (None, ""):
            genre = GENRES[int(score([synopsis]).probabilities[0].argmax())]
        if genre not in GENRES:
            return {"error": f"알 수 없는 장르입니다: {genre!r}. 가능한 장르: {', '.join(GENRES)}"}
        explanation = explain_genre(synopsis, genre)
        return {
            "genre": genre,
            "probability": explanation.probability,
            "windows": explanation.windows,
            "words": [{"word": word, "score": score} for word, score in explanation.words],
            "convergence_delta": explanation.convergence_delta,
            "integration_steps": explanation.steps,
        }

    def model_info() -> str:
        """The model panel: which model, where it runs, how it scored."""
        return model_panel(predictor, problems)

    examples, example_titles = short_examples()
    with gr.Blocks(title="영화 장르 분류") as demo:
        gr.Markdown(
            "# 영화 줄거리 장르 분류\n"
            "한국어 영화 줄거리를 넣으면 20개 장르의 확률을 각 장르의 임계값과 함께 보여 줍니다."
        )
        last = gr.State(None)
        with gr.Tab("줄거리 하나"):
            with gr.Row():
                with gr.Column():
                    synopsis = gr.Textbox(
                        label="줄거리", lines=8, placeholder="영화 줄거리를 붙여 넣으세요 (20자 이상, 한국어)"
                    )
                    mode = gr.Radio([PER_GENRE, ONE_THRESHOLD], value=PER_GENRE, label="임계값 방식")
                    threshold = gr.Slider(
                        0, 1, value=0.5, step=0.01, label="하나의 임계값 (움직이면 '하나의 임계값'으로 바뀝니다)"
                    )
                    button = gr.Button("장르 예측", variant="primary")
                    if examples:
                        gr.Examples(
                            examples,
                            inputs=synopsis,
                            example_labels=example_titles,
                            cache_examples=False,
                            label="예시 줄거리",
                        )
                with gr.Column():
                    notice = gr.Markdown()
                    chosen = gr.Textbox(label="선택된 장르", interactive=False)
                    view = gr.HTML(label="장르별 확률과 임계값")
            with gr.Accordion("왜 이 장르인가요? 단어별 설명", open=False):
                with gr.Row():
                    genre = gr.Dropdown(list(GENRES), label="설명할 장르", value=None)
                    explain_button = gr.Button("설명 보기")
                explanation_notice = gr.Markdown()
                words = gr.HighlightedText(
                    label="장르 쪽으로 민 단어(보라)와 반대로 민 단어(빨강)",
                    show_legend=False,
                    color_map=None,
                    combine_adjacent=False,
                )
        with gr.Tab("파일로 여러 편"):
            gr.Markdown(
                "CSV, TSV, JSON Lines, Parquet 또는 한 줄에 줄거리 하나인 TXT 파일을 올리면, "
                "각 행에 예측 장르와 장르별 확률을 붙인 CSV를 돌려 드립니다 "
                f"(`python -m genre_model.predict`와 같은 결과). 한 번에 최대 {MAX_FILE_ROWS:,}행."
            )
            with gr.Row():
                # no file_types: Gradio would refuse other files with an exception; predict_file answers them in words
                upload = gr.File(label=f"파일 ({', '.join(FORMATS)})")
                text_column = gr.Textbox(value="synopsis", label="줄거리 열 이름")
            file_button = gr.Button("파일 예측", variant="primary")
            file_notice = gr.Markdown()
            result_file = gr.File(label="결과 CSV")
        with gr.Accordion("모델 정보", open=True):
            panel = gr.Markdown(model_panel(predictor, problems))

        page_outputs = [last, chosen, notice, view, genre, words]
        # The model's concurrency group: page and API requests queue for it together.
        model_group = dict(concurrency_limit=1, concurrency_id="model")
        gr.on(
            [button.click, synopsis.submit],
            predict_page,
            [synopsis, mode, threshold, last],
            page_outputs,
            api_visibility="private",
            **model_group,
        )
        threshold.input(lambda: ONE_THRESHOLD, None, mode, queue=False, api_visibility="private")
        gr.on(
            [mode.change, threshold.change],
            decide,
            [last, mode, threshold],
            [chosen, view],
            queue=False,
            api_visibility="private",
        )
        explain_button.click(
            explain_page, [last, genre], [words, explanation_notice], api_visibility="private", **model_group
        )
        file_button.click(
            predict_file, [upload, text_column], [result_file, file_notice], api_name="predict_file", **model_group
        )
        gr.api(predict_requests, api_name="predict", batch=True, max_batch_size=MAX_BATCH_SIZE, **model_group)
        gr.api(explain_request, api_name="explain", **model_group)
        gr.api(model_info, api_name="model_info")
        demo.load(model_info, None, panel, api_visibility="private")
    return demo.queue(max_size=64)


def highlighted(result: dict) -> list[tuple[str, float]]:
    """Words with their push scaled to [-1, 1] (the largest push is 1), as gr.HighlightedText colours them."""
    largest = max((abs(item["score"]) for item in result["words"]), default=0.0) or 1.0
    return [(item["word"] + " ", round(item["score"] / largest, 3)) for item in result["words"]]


if __name__ == "__main__":
    args = parse_arguments()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    build_demo(*load_predictor(args.model, args.device)).launch(
        server_name=args.host, server_port=args.port, theme=gr.themes.Soft(), css=VIEW_CSS, footer_links=["api"]
    )
