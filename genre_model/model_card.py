"""The model card (README.md of a model folder), written from what training measured.

    write_model_card("out/genre-bert", record)        # train.py calls this after save_model_folder
    python -m genre_model.model_card out/genre-bert   # re-render the card of an existing folder

Every number in the card comes from the folder's TrainingRecord (metrics,
thresholds, splits, drop report, run arguments); nothing is typed by hand.
The YAML header is Hub metadata, including a model-index with the test results,
so the Hub shows them on the model page.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from huggingface_hub import EvalResult, ModelCardData

from genre_model.charts import bar_chart
from genre_model.genres import GENRES
from genre_model.model_folder import (
    CARD_FILE,
    CHART_FILE,
    Thresholds,
    TrainingRecord,
    read_evaluations,
    read_training_record,
)

HEADLINE_METRICS = ("micro_f1", "macro_f1", "samples_f1", "weighted_f1", "subset_accuracy", "hamming_loss")
# Hub metric ids for the model-index (https://hf.co/metrics); the name field says which variant.
_HUB_METRIC_TYPES = {"f1": "f1", "accuracy": "accuracy", "loss": "hamming_loss"}


def card_metadata(metrics: dict, run: dict) -> ModelCardData:
    """Hub metadata: language, task, base model, and the test scores at the tuned thresholds as a model-index."""
    test = metrics["test"]["tuned_thresholds"]
    dataset = run["dataset"]
    eval_results = [
        EvalResult(
            task_type="text-classification",
            task_name="Multi-label genre classification",
            dataset_type=dataset,
            dataset_name=f"{dataset} (held-out test split)",
            dataset_split="test",
            metric_type=_HUB_METRIC_TYPES.get(name.split("_", 1)[-1], name),
            metric_name=name.replace("_", " "),
            metric_value=round(test[name], 4),
        )
        for name in HEADLINE_METRICS
    ]
    return ModelCardData(
        language="ko",
        license=run.get("license"),
        library_name="transformers",
        pipeline_tag="text-classification",
        base_model=None if run["base_model_is_local"] else run["model_name_or_path"],
        tags=["multi-label-classification", "movie-genre", "korean"],
        metrics=["f1", "precision", "recall"],
        model_name=_model_name(run),
        eval_results=eval_results,
    )


def _score_table(metrics: dict) -> str:
    test, validation = metrics["test"], metrics["validation"]
    columns = {
        "test @ 0.5": test["threshold_0.5"],
        "test @ tuned": test["tuned_thresholds"],
        "validation @ tuned": validation["tuned_thresholds"],
        "test, most-frequent-genres baseline": test["most_frequent_genres_baseline"],
    }
    if "tfidf_baseline" in test:  # folders written before the TF-IDF baseline existed lack it
        columns["test, TF-IDF baseline"] = test["tfidf_baseline"]
    rows = ["| metric | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name in HEADLINE_METRICS:
        rows.append(f"| {name} | " + " | ".join(f"{scores[name]:.3f}" for scores in columns.values()) + " |")
    return "\n".join(rows)


def _baselines_text(metrics: dict) -> str:
    frequent = ", ".join(metrics["test"]["most_frequent_genres_baseline"]["genres"])
    text = (
        f"The most-frequent-genres baseline always answers the training split's most frequent genres ({frequent}),\n"
        "whatever the synopsis: what a model that learnt nothing from the text would score."
    )
    if "tfidf_baseline" in metrics["test"]:
        text += (
            " The TF-IDF baseline is a bag of\ncharacter 2-4-grams with one logistic regression per genre, trained on "
            "the same training split\n(thresholds tuned on validation): what surface strings alone give, "
            "without reading the story."
        )
    return text


def _per_genre_table(metrics: dict, thresholds: Thresholds, split_summary: dict) -> str:
    per_genre = metrics["test"]["tuned_thresholds"]["per_genre"]
    train_counts = split_summary["train"]["genre_counts"]
    rows = [
        "| genre | threshold | precision | recall | F1 | test support | train rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for genre in GENRES:
        scores = per_genre[genre]
        tuned = "" if genre in thresholds.tuned_genres else " (global)"
        rows.append(
            f"| {genre} | {thresholds.per_genre[genre]:.2f}{tuned} | {scores['precision']:.3f} "
            f"| {scores['recall']:.3f} | {scores['f1']:.3f} | {scores['support']} | {train_counts[genre]} |"
        )
    return "\n".join(rows)


def _drop_table(drop_report: dict) -> str:
    rows = ["| split | rows in | dropped (rule: rows) | kept |", "|---|---|---|---|"]
    for split, rows_in in drop_report["rows_in"].items():
        dropped = (
            ", ".join(f"{rule}: {count}" for rule, count in drop_report["dropped"].get(split, {}).items()) or "none"
        )
        rows.append(f"| {split} | {rows_in} | {dropped} | {drop_report['rows_kept'][split]} |")
    return "\n".join(rows)


def _weak_genres(metrics: dict) -> str:
    per_genre = metrics["test"]["tuned_thresholds"]["per_genre"]
    weak = [g for g in GENRES if per_genre[g]["support"] < 10 or per_genre[g]["f1"] < 0.3]
    if not weak:
        return ""
    return f"- Scores for {', '.join(weak)} rest on few test examples or are low; treat those predictions with care.\n"


def render_model_card(
    metrics: dict,
    thresholds: Thresholds,
    split_summary: dict,
    drop_report: dict,
    run: dict,
    evaluations: list[dict] = (),
) -> str:
    """The whole README.md: Hub metadata header, scores, per-genre table, usage, data and limitations.
    `run` is training_args.json: train.py's arguments plus total_batch_size, base_model_is_local and presplit."""
    model_id = _model_name(run)
    header = card_metadata(metrics, run).to_yaml()
    rows = {split: summary["rows"] for split, summary in split_summary.items()}
    best_epoch = metrics.get("best_epoch")
    base = run["model_name_or_path"]
    base_text = (
        f"`{base}` (a local encoder)" if run["base_model_is_local"] else f"[`{base}`](https://huggingface.co/{base})"
    )
    return (
        f"""---
{header}
---

# {model_id}

A multi-label classifier of Korean movie synopses into {len(GENRES)} genres
({", ".join(GENRES)}), fine-tuned from {base_text}
with BCE-with-logits by the genre_model project's `train.py`.
A film can be in several genres at once: every genre gets its own sigmoid probability.
{chr(10) + run["model_description"] + chr(10) if run.get("model_description") else ""}
## Test scores

Held-out test split of `{run["dataset"]}` ({rows["test"]} synopses), never seen in training,
threshold tuning or model selection (best epoch: {best_epoch}, chosen on validation micro-F1 at its best
single threshold).

{_score_table(metrics)}

"tuned" uses the per-genre thresholds below, chosen on the validation split;
"0.5" uses one cut-off for every genre. {_baselines_text(metrics)}

{_evaluations_section(evaluations)}## Per genre (test, tuned thresholds)

![per-genre F1]({CHART_FILE})

{_per_genre_table(metrics, thresholds, split_summary)}

## How the thresholds are used

`thresholds.json` holds one {_threshold_kind(thresholds)} per genre: the one that maximised
that genre's F1 on the validation split. Genres with fewer than {run["threshold_min_support"]}
positive validation examples get the global cut-off ({thresholds.global_threshold:.2f}),
the one that maximised validation micro-F1, marked "(global)" above. {_threshold_rule(thresholds)}

## Usage

```python
from transformers import pipeline

classifier = pipeline("text-classification", model="{model_id}", top_k=None)
scores = classifier(["평범한 회사원이 우연히 거대한 범죄 조직의 비밀 장부를 손에 넣으면서 쫓기기 시작한다."])[0]
# [{{'label': '범죄', 'score': 0.91}}, {{'label': '액션', 'score': 0.74}}, ...] all {len(GENRES)} genres, sigmoid scores

import json
{_thresholds_snippet(run)}
{_decision_snippet(thresholds)}
```

## Data

Dataset: `{run["dataset"]}`. Rows were cleaned, then de-duplicated (exact and
whitespace/punctuation-insensitive), and only then split{_how_split(run)}
(seed {run["seed"]}), so no synopsis appears in two splits. `splits.json` lists
which rows went where; `test_predictions.jsonl` holds every test prediction, so
the scores above can be recomputed.

| split | rows |
|---|---|
"""
        + "\n".join(f"| {split} | {count} |" for split, count in rows.items())
        + f"""

Rows dropped while cleaning:

{_drop_table(drop_report)}

## Training

`accelerate launch train.py` from genre_model: max {run["max_length"]} tokens, {run["num_train_epochs"]} epochs
at most (early stopping on validation micro-F1, patience {run["early_stopping_patience"]} epochs),
learning rate {run["learning_rate"]}, batch size {run["total_batch_size"]}, seed {run["seed"]}.{_recipe(run)}
All arguments are in `training_args.json`.

## Limitations

- Genre labels come from the data source's catalogue and are noisy: many films carry
  genres their synopsis barely hints at, so part of the error is label noise.
- Training reads {_training_window(run)} of a synopsis; validation, test and the
  genre_model predictor read longer synopses whole, in overlapping windows,
  {_window_rule_text(thresholds, metrics)}.
- Rare genres have few examples; their scores vary more from split to split.
{_weak_genres(metrics)}- A predecessor reported micro-F1 0.92 on a test split that overlapped its training
  data; the scores here come from a split with no overlap and are not comparable to it.
"""
    )


def _training_window(run: dict) -> str:
    where = "a random window" if run.get("random_crop") else "the first window"
    return f"{where} of {run['max_length']} tokens"


def _recipe(run: dict) -> str:
    """The training choices beyond the usual ones, as a sentence (empty when none was made)."""
    choices = []
    if run.get("token_dropout"):
        choices.append(f"{run['token_dropout']:.0%} of a synopsis's tokens hidden behind [MASK] each epoch")
    if run.get("baseline_distillation"):
        weight = run["baseline_distillation"]
        choices.append(
            f"targets blended from the labels ({1 - weight:.0%}) and the TF-IDF baseline's out-of-fold "
            f"probabilities ({weight:.0%})"
        )
    if run.get("distillation_fragments"):
        choices.append(
            f"up to {run['distillation_fragments']} runs of each synopsis's sentences learnt as synopses of their own, "
            "with targets blended alike from the synopsis's labels and the baseline's reading of the fragment"
        )
    return f"\nAlso: {'; '.join(choices)}." if choices else ""


def _evaluations_section(evaluations: list[dict]) -> str:
    """Scores on data other than the model's own test split (recorded by `python -m genre_model.evaluate --record`)."""
    if not evaluations:
        return ""
    lines = [
        "## Scores on other data",
        "",
        "Measured with `python -m genre_model.evaluate` at the model's own thresholds (what the app shows), on",
        "data the model never saw in any form; only these aggregates are kept. They say more about real use than",
        "the test split above when the training data differs from what the model will read.",
        "",
        "| data | synopses | genres scored | micro-F1 | macro-F1 | samples-F1 | no genre chosen "
        "| TF-IDF baseline micro-F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for item in evaluations:
        tfidf = item.get("baselines", {}).get("tfidf", {}).get("micro_f1")
        lines.append(
            f"| {item['description']} | {item['rows']} | {len(item['genres'])} | {item['micro_f1']:.3f} "
            f"| {item['macro_f1']:.3f} | {item['samples_f1']:.3f} | {item['no_genre_chosen']:.1%} "
            f"| {'' if tfidf is None else f'{tfidf:.3f}'} |"
        )
    trained_on = {item.get("baselines_trained_on") for item in evaluations} - {None}
    if trained_on:
        lines += [
            "",
            f"The TF-IDF baseline there was trained on {', '.join(f'`{name}`' for name in sorted(trained_on))}.",
        ]
    return "\n".join(lines) + "\n\n"


def _how_split(run: dict) -> str:
    if run.get("presplit"):
        return " (the source's own splits were kept; synopses also in an earlier split were removed from the later one)"
    return " by iterative multi-label stratification"


def _model_name(run: dict) -> str:
    return run.get("hub_model_id") or Path(run["output_dir"]).name


WINDOW_RULE_WORDS = {  # genre_model.scoring's COMBINATION_RULES, in words
    "max": "taking each genre's highest probability over the windows",
    "mean": "taking each genre's mean probability over the windows",
    "length_weighted_mean": "taking each genre's mean probability over the windows, weighted by their length",
}


def _window_rule_text(thresholds: Thresholds, metrics: dict) -> str:
    text = WINDOW_RULE_WORDS[thresholds.window_rule]
    tried = metrics["validation"].get("micro_f1_by_window_rule", {})
    if len(tried) < 2:
        return text
    scores = ", ".join(f"{rule} {score:.3f}" for rule, score in tried.items())
    return f"{text} (`window_rule` in `thresholds.json`, the best validation micro-F1 of {scores})"


def _thresholds_snippet(run: dict) -> str:
    if run.get("hub_model_id"):
        return (
            "from huggingface_hub import hf_hub_download\n"
            f'thresholds = json.load(open(hf_hub_download("{run["hub_model_id"]}", "thresholds.json")))["per_genre"]'
        )
    return f'thresholds = json.load(open("{_model_name(run)}/thresholds.json"))["per_genre"]'


def _threshold_kind(thresholds: Thresholds) -> str:
    return "share of the top genre's probability" if thresholds.relative_to_top else "probability cut-off"


def _threshold_rule(thresholds: Thresholds) -> str:
    if thresholds.relative_to_top:
        return (
            "A genre is predicted when its probability reaches its threshold times the\n"
            "synopsis's highest probability (`relative_to_top` in `thresholds.json`), so the top\n"
            "genre always is: decisions that hold when the model is less sure of every genre at\n"
            "once, as a model is on text unlike its training data."
        )
    return "A genre is predicted when its probability reaches its threshold."


def _decision_snippet(thresholds: Thresholds) -> str:
    if thresholds.relative_to_top:
        return (
            'top = max(s["score"] for s in scores)\n'
            'genres = [s["label"] for s in scores if s["score"] >= thresholds[s["label"]] * top]'
        )
    return 'genres = [s["label"] for s in scores if s["score"] >= thresholds[s["label"]]]'


def write_model_card(folder: str | Path, record: TrainingRecord | None = None) -> Path:
    """Render README.md and the per-genre F1 chart of a model folder from its training record."""
    folder = Path(folder)
    record = record or read_training_record(folder)
    per_genre_f1 = {
        genre: scores["f1"] for genre, scores in record.metrics["test"]["tuned_thresholds"]["per_genre"].items()
    }
    bar_chart(
        per_genre_f1, folder / CHART_FILE, title="Test F1 per genre (tuned thresholds)", xlabel="F1", xlim=(0, 1.1)
    )
    card = render_model_card(
        record.metrics,
        record.thresholds,
        record.split_summary,
        record.drop_report,
        record.run | {"presplit": record.presplit},
        read_evaluations(folder),
    )
    path = folder / CARD_FILE
    path.write_text(card, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Re-render the model card (README.md) and chart of a model folder written by train.py."
    )
    parser.add_argument("folder")
    print(f"wrote {write_model_card(parser.parse_args().folder)}")


if __name__ == "__main__":
    main()
