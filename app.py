"""Web demo and API: paste a Korean movie synopsis, see all 20 genres ranked and the genres chosen.

    python app.py                                        # the model in demo_model/ (or $GENRE_MODEL)
    python app.py --model out/genre-bert --port 7860     # a folder written by train.py, or a Hub id
    GENRE_MODEL=you/klue-bert-movie-genres GENRE_DEVICE=cuda python app.py
    python app.py --help

From Python (gradio_client):
    Client("http://127.0.0.1:7860").predict("줄거리…", "모델의 장르별 임계값", 0.5, api_name="/predict")
    -> (genre probabilities, chosen genres, notice)

Layout and wiring only: scoring, thresholds and input checks are genre_model.predict's
and genre_model.inputs', so the page, its API and the batch CLI always agree.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import gradio as gr

from genre_model.corpus import read_example_corpus
from genre_model.errors import ModelLoadError
from genre_model.inputs import check_synopsis
from genre_model.predict import GenrePredictor, Prediction

DEMO_MODEL = Path(__file__).resolve().parent / "demo_model"
PER_GENRE, ONE_THRESHOLD = "모델의 장르별 임계값", "하나의 임계값"
MAX_BATCH_SIZE = 8  # requests waiting together are scored in one forward pass
NOTHING_CHOSEN = "임계값을 넘은 장르가 없습니다"
NO_MODEL = "모델이 없어 예측할 수 없습니다. 아래 모델 정보를 확인해 주세요."
DEMO_NOTICE = (
    "ℹ️ **데모 모델입니다.** 이 저장소의 예시 줄거리(`examples/`)로 처음부터 학습한 작은 모델이라, "
    "실제 영화 줄거리에서는 정확도가 크게 떨어집니다. 실제 모델은 "
    "`accelerate launch train.py --dataset 내_데이터.parquet`로 `klue/bert-base`를 미세조정해 만들고, "
    "`GENRE_MODEL=모델_폴더_또는_Hub_id python app.py`로 지정하세요."
)


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
    lines += [
        f"**모델** `{info['model']}` · **장치** {info['device']} · **정밀도** {info['precision']} "
        f"· **창** {info['window']} 토큰"
    ]
    for check in info["fast_cpu_checks"]:
        verdict = "사용합니다" if check["accepted"] else "fp32와 충분히 일치하지 않아 쓰지 않습니다"
        lines.append(
            f"CPU 가속 점검 ({check['path']}): 예시 줄거리 {check['synopses']}편 중 "
            f"{check['identical_decisions']:.1%}에서 fp32와 같은 장르, "
            f"점수 차이 최대 {check['max_score_difference']:.4f} → {verdict}"
        )
    tuned = (info["test_scores"] or {}).get("tuned_thresholds")
    lines.append(
        f"**테스트 점수** (장르별 임계값): micro-F1 {tuned['micro_f1']:.3f} · macro-F1 {tuned['macro_f1']:.3f} "
        f"· samples-F1 {tuned['samples_f1']:.3f}"
        if tuned
        else "테스트 점수 없음 (모델에 metrics.json이 없습니다)"
    )
    return "\n\n".join(lines)


def short_examples(count: int = 5) -> tuple[list[list[str]], list[str]]:
    """The shortest synopses of the example corpus, and their titles as labels."""
    rows = sorted(read_example_corpus(), key=lambda row: len(row["synopsis"]))[:count]
    return [[row["synopsis"]] for row in rows], [row.get("title", row["synopsis"][:20]) for row in rows]


def answer(prediction: Prediction | None, problem: str | None) -> tuple[dict | None, str, str]:
    """What the page shows for one request: genre probabilities, chosen genres, notice."""
    if problem:
        return None, "", f"⚠️ {problem}"
    notice = f"긴 줄거리라 {prediction.chunks}개 구간으로 나눠 모두 읽었습니다." if prediction.chunks > 1 else ""
    return dict(prediction.ranked), ", ".join(prediction.chosen) or NOTHING_CHOSEN, notice


def build_demo(predictor: GenrePredictor | None, problems: list[str]) -> gr.Blocks:
    def predict(synopsis: list[str], mode: list[str], threshold: list[float]):
        """Batched by Gradio: each argument lists the waiting requests' values; returns one list per output."""
        problems = [check_synopsis(text) if predictor else NO_MODEL for text in synopsis]
        valid = [index for index, problem in enumerate(problems) if problem is None]
        thresholds = [
            None if mode[index] == PER_GENRE else threshold[index] for index in valid
        ]  # None: the model's per-genre ones
        predictions = dict(
            zip(valid, predictor.predict([synopsis[index] for index in valid], thresholds) if valid else [])
        )
        answers = [answer(predictions.get(index), problem) for index, problem in enumerate(problems)]
        return [list(column) for column in zip(*answers)]

    try:  # on a ZeroGPU Space a GPU is lent for each call; elsewhere the package is absent
        import spaces

        predict = spaces.GPU(predict)
    except ImportError:
        pass

    examples, example_titles = short_examples()
    with gr.Blocks(title="영화 장르 분류") as demo:
        gr.Markdown(
            "# 영화 줄거리 장르 분류\n한국어 영화 줄거리를 넣으면 20개 장르의 확률과, 임계값을 넘은 장르를 보여 줍니다."
        )
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
                notice = gr.Markdown(label="안내")
                chosen = gr.Textbox(label="선택된 장르", interactive=False)
                ranked = gr.Label(num_top_classes=20, label="장르별 확률")
        with gr.Accordion("모델 정보", open=True):
            panel = gr.Markdown(model_panel(predictor, problems), label="모델 정보")

        inputs, outputs = [synopsis, mode, threshold], [ranked, chosen, notice]
        # One concurrency group for every call of the model: requests queue, and those waiting are batched together.
        scoring = dict(batch=True, max_batch_size=MAX_BATCH_SIZE, concurrency_limit=1, concurrency_id="model")
        gr.on([button.click, synopsis.submit, mode.input], predict, inputs, outputs, api_name="predict", **scoring)
        threshold.release(lambda: ONE_THRESHOLD, None, mode, queue=False, api_visibility="private").then(
            predict, inputs, outputs, api_visibility="private", **scoring
        )
        demo.load(lambda: model_panel(predictor, problems), None, panel, api_name="model_info")
    return demo.queue(max_size=64)


if __name__ == "__main__":
    args = parse_arguments()
    build_demo(*load_predictor(args.model, args.device)).launch(
        server_name=args.host, server_port=args.port, theme=gr.themes.Soft(), footer_links=["api"]
    )
