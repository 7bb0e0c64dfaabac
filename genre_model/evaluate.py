"""Score a genre model on any labelled file, through the scorer the app uses, with baselines and calibration.

    python -m genre_model.evaluate --model out/genre-bert --data my_labelled_films.csv
    python -m genre_model.evaluate --model demo_model --data real.jsonl --genres 드라마,코미디,액션 \\
        --baseline_train genre_model/corpus/synopses.jsonl --output_dir out/eval-demo

The data is in train.py's format (a synopsis column and a genres column; CSV,
TSV, JSON Lines, Parquet, or a Hub dataset id with --split). Rows without a
usable synopsis or a known genre are dropped and counted, as train.py does.

Reported, at the model's own thresholds (what the app shows) and at 0.5:
micro, macro, samples and weighted P/R/F1, per-genre scores, subset
accuracy, and the share of synopses for which no genre was chosen; the
calibration of the probabilities (expected calibration error over 10 bins, and
a reliability diagram); the ranking, whatever the thresholds (macro average
precision); and the best single threshold, which is tuned on the evaluated data
itself and therefore an optimistic figure, labelled as such.
`--genres` limits every score to the genres the data can judge (a source
without 사극 can neither confirm nor refute a 사극 prediction).
`--baseline_train FILE` also fits the most-frequent-genres baseline and the
TF-IDF + logistic-regression baseline on FILE (thresholds tuned on a 10 %
validation part of FILE, never on the evaluated data) and scores them alike;
for a model whose thresholds are shares of the top probability, the TF-IDF
baseline is scored with thresholds of that kind as well.
`--compare_window_rules` scores, on the synopses longer than the model's
window, every rule of combining windows (genre_model.scoring), each with the
model's thresholds (tuned for the model's own rule).

Output in --output_dir: evaluation.json, evaluation.md, per_genre_f1.png,
reliability.png, and predictions.jsonl (each row's id, true genres and
probabilities, so that every score can be recomputed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genre_model.data import DataSpec, DropReport, clean_split, stratified_split
from genre_model.errors import ArgumentError, DataError, run_command
from genre_model.genres import GENRES, parse_genres
from genre_model.metrics import (
    best_global_threshold,
    macro_average_precision,
    most_frequent_genres_baseline,
    multi_label_scores,
)
from genre_model.model_folder import EVALUATIONS_FILE, Thresholds, record_evaluation
from genre_model.predict import GenrePredictor
from genre_model.scoring import COMBINATION_RULES, combine_windows
from genre_model.tables import Table, read_dataset, read_table, write_jsonl

HEADLINE = ("micro_f1", "macro_f1", "samples_f1", "weighted_f1", "micro_precision", "micro_recall", "subset_accuracy")
CALIBRATION_BINS = 10
BASELINE_VALIDATION_FRACTION = 0.1


# ---- measuring -----------------------------------------------------------------------------------------------


def scored_genres(names: str | None) -> tuple[str, ...]:
    """The genres named in a comma-separated list (all of GENRES for None), in GENRES order."""
    if not names:
        return GENRES
    parsed = parse_genres(names)
    if parsed.unknown:
        raise ArgumentError(f"--genres: unknown genre names {', '.join(parsed.unknown)}; known: {', '.join(GENRES)}")
    if not parsed.genres:
        raise ArgumentError("--genres names no genre")
    return parsed.genres


def decisions_report(labels: np.ndarray, decided: np.ndarray, genres: tuple[str, ...]) -> dict:
    """Scores of 0/1 decisions (columns: `genres`), plus how often nothing was chosen."""
    return multi_label_scores(labels, decided, genres) | {"no_genre_chosen": float(np.mean(decided.sum(axis=1) == 0))}


def calibration(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Expected calibration error over every (synopsis, genre) probability, and the bins it is made of.

    ECE = sum over equal-width bins of (share of probabilities in the bin) x
    |mean probability in the bin - share of those that are the genre|.
    """
    flat_labels, flat_probabilities = labels.ravel().astype(float), probabilities.ravel().astype(float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(flat_probabilities, edges[1:-1]), 0, bins - 1)
    table, error = [], 0.0
    for index in range(bins):
        inside = which == index
        count = int(inside.sum())
        mean_probability = float(flat_probabilities[inside].mean()) if count else 0.0
        positive_rate = float(flat_labels[inside].mean()) if count else 0.0
        error += count / len(flat_probabilities) * abs(mean_probability - positive_rate)
        table.append(
            {
                "lower": float(edges[index]),
                "upper": float(edges[index + 1]),
                "count": count,
                "mean_probability": mean_probability,
                "positive_rate": positive_rate,
            }
        )
    return {"expected_calibration_error": float(error), "bins": table}


@dataclass(frozen=True)
class Evaluation:
    report: dict  # everything evaluation.json holds
    predictions: list[dict]  # per scored row: id, true genres, probabilities of every genre


def labelled_rows(table: Table, spec: DataSpec):
    """The usable rows (columns text, genres, labels, row_id) and the drop report."""
    report = DropReport()
    cleaned = clean_split(table, "evaluated", spec, report)
    if len(cleaned) == 0:
        raise DataError(
            f"no row of {table.source} has a usable synopsis and a known genre; drop report: {report.to_dict()}"
        )
    return cleaned, report.to_dict()


def baseline_scores(
    train_file: str,
    spec: DataSpec,
    texts: list[str],
    labels: np.ndarray,
    columns: list[int],
    relative_to_top: bool = False,
) -> dict:
    """Both baselines, fitted on `train_file` (thresholds on its validation part), scored on the evaluated rows.
    With `relative_to_top` (the model's thresholds are shares of the top probability) the TF-IDF baseline is
    scored with thresholds of that kind as well, so that the model meets it under its own rule too."""
    from genre_model.baselines import LabelledTexts, TfidfBaseline

    report = DropReport()
    cleaned = clean_split(read_table(train_file, text_column=spec.text_column), "baseline_train", spec, report)
    if len(cleaned) < 20:
        raise DataError(f"--baseline_train {train_file}: {len(cleaned)} usable rows, too few to fit a baseline")
    parts = stratified_split(cleaned, {"validation": BASELINE_VALIDATION_FRACTION}, seed=42)
    train, validation = (
        LabelledTexts(list(parts[name]["text"]), np.asarray(parts[name]["labels"], dtype=int))
        for name in ("train", "validation")
    )
    evaluated = LabelledTexts(texts, labels)
    tfidf = TfidfBaseline.fit(train.texts, train.labels)
    scores = {
        "trained_on": train_file,
        "most_frequent_genres": most_frequent_genres_baseline(train.labels, labels, columns),
        "tfidf": tfidf.scores(validation, evaluated, columns),
    }
    if relative_to_top:
        scores["tfidf_relative_to_top"] = tfidf.scores(validation, evaluated, columns, relative_to_top=True)
    return scores


def window_rule_comparison(
    scores, labels: np.ndarray, thresholds: Thresholds, columns: list[int], genres: tuple[str, ...]
) -> dict:
    """Every window-combination rule on the synopses read in more than one window."""
    long = scores.windows > 1
    comparison = {"synopses": int(long.sum())}
    if not long.any():
        return comparison
    truth = labels[long][:, columns]
    for rule in COMBINATION_RULES:
        combined = combine_windows(scores.window_probabilities, scores.cut, rule)[long]
        decided = multi_label_scores(truth, thresholds.decide(combined)[:, columns], genres)
        threshold, best = best_global_threshold(truth, combined[:, columns])
        comparison[rule] = {
            "micro_f1_model_thresholds": decided["micro_f1"],
            "macro_f1_model_thresholds": decided["macro_f1"],
            "micro_f1_best_single_threshold": best,
            "best_single_threshold": threshold,
        }
    return comparison


def evaluate(
    predictor: GenrePredictor,
    table: Table,
    spec: DataSpec,
    genres: tuple[str, ...],
    *,
    baseline_train: str | None = None,
    compare_window_rules: bool = False,
    progress: bool = True,
) -> Evaluation:
    rows, dropped = labelled_rows(table, spec)
    texts, labels = list(rows["text"]), np.asarray(rows["labels"], dtype=int)
    columns = [GENRES.index(genre) for genre in genres]
    scores = predictor.score(texts, progress=progress)
    probabilities, truth = scores.probabilities[:, columns], labels[:, columns]
    threshold, best_micro_f1 = best_global_threshold(truth, probabilities)
    report = {
        "model": predictor.name,
        "data": table.source,
        "rows": len(texts),
        "drop_report": dropped,
        "genres": list(genres),
        "window": predictor.window,
        "window_rule": predictor.thresholds.window_rule,
        "synopses_read_in_several_windows": int((scores.windows > 1).sum()),
        "model_thresholds": multi_label_report(truth, predictor.thresholds, scores.probabilities, columns, genres),
        "threshold_0.5": multi_label_report(truth, Thresholds.uniform(0.5), scores.probabilities, columns, genres),
        "best_single_threshold": {
            "threshold": threshold,
            "micro_f1": best_micro_f1,
            "note": "tuned on the evaluated data itself: an optimistic figure, not a held-out score",
        },
        "macro_average_precision": macro_average_precision(truth, probabilities),
        "calibration": calibration(truth, probabilities),
        "genre_counts": {genre: int(truth[:, index].sum()) for index, genre in enumerate(genres)},
    }
    if baseline_train:
        report["baselines"] = baseline_scores(
            baseline_train, spec, texts, labels, columns, predictor.thresholds.relative_to_top
        )
    if compare_window_rules:
        report["window_rules"] = window_rule_comparison(scores, labels, predictor.thresholds, columns, genres)
    predictions = [
        {
            "id": row_id,
            "genres": list(true_genres),
            # unrounded: average precision depends on the exact order, which rounding can tie
            "probabilities": dict(zip(GENRES, row.astype(float).tolist())),
        }
        for row_id, true_genres, row in zip(rows["row_id"], rows["genres"], scores.probabilities)
    ]
    return Evaluation(report, predictions)


def multi_label_report(
    truth: np.ndarray, thresholds: Thresholds, probabilities: np.ndarray, columns: list[int], genres: tuple[str, ...]
) -> dict:
    return decisions_report(truth, thresholds.decide(probabilities)[:, columns], genres)


# ---- writing -------------------------------------------------------------------------------------------------


def render_markdown(report: dict) -> str:
    model, half = report["model_thresholds"], report["threshold_0.5"]
    columns = [("model's thresholds", model), ("0.5", half)]
    baselines = report.get("baselines")
    if baselines:
        columns += [
            ("most-frequent-genres baseline", baselines["most_frequent_genres"]),
            ("TF-IDF baseline", baselines["tfidf"]),
        ]
        if "tfidf_relative_to_top" in baselines:
            columns.append(
                (
                    "TF-IDF baseline, thresholds relative to the top (the model's rule)",
                    baselines["tfidf_relative_to_top"],
                )
            )
    lines = [
        f"# Evaluation of `{report['model']}` on `{report['data']}`",
        "",
        f"{report['rows']} synopses scored on {len(report['genres'])} genres ({', '.join(report['genres'])}); "
        f"{report['synopses_read_in_several_windows']} were longer than the model's window of "
        f'{report["window"]} tokens and were read whole, in windows combined by "{report["window_rule"]}". '
        f"Dropped rows: {report['drop_report']['dropped']}.",
        "",
        "| metric | " + " | ".join(name for name, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for metric in (*HEADLINE, "no_genre_chosen"):
        lines.append(
            f"| {metric} | "
            + " | ".join(f"{scores[metric]:.3f}" if metric in scores else "" for _, scores in columns)
            + " |"
        )
    best = report["best_single_threshold"]
    tfidf_ranking = f" (TF-IDF baseline: {baselines['tfidf']['macro_average_precision']:.3f})" if baselines else ""
    lines += [
        "",
        f"Best single threshold for all genres: {best['threshold']:.2f}, micro-F1 {best['micro_f1']:.3f} "
        f"({best['note']}).",
        "",
        f"Ranking, whatever the thresholds: macro average precision {report['macro_average_precision']:.3f}"
        f"{tfidf_ranking} (per genre, how well the probabilities put its synopses first; averaged over the genres).",
        "",
    ]
    if baselines:
        lines += [
            f"Baselines fitted on `{baselines['trained_on']}` (thresholds tuned on a validation part of it): "
            f"{baselines['tfidf']['description']}; the most frequent genres answered for every synopsis: "
            f"{', '.join(baselines['most_frequent_genres']['genres'])}.",
            "",
        ]
    lines += [
        "## Per genre (model's thresholds)",
        "",
        "![per-genre F1](per_genre_f1.png)",
        "",
        "| genre | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for genre, scores in model["per_genre"].items():
        lines.append(
            f"| {genre} | {scores['precision']:.3f} | {scores['recall']:.3f} | {scores['f1']:.3f} "
            f"| {scores['support']} |"
        )
    calibration_report = report["calibration"]
    lines += [
        "",
        "## Calibration",
        "",
        f"Expected calibration error: {calibration_report['expected_calibration_error']:.3f} "
        f"(over every synopsis-genre probability, {CALIBRATION_BINS} bins).",
        "",
        "![reliability diagram](reliability.png)",
        "",
        "| bin | probabilities | mean probability | share that is the genre |",
        "|---|---|---|---|",
    ]
    for item in calibration_report["bins"]:
        lines.append(
            f"| {item['lower']:.1f}-{item['upper']:.1f} | {item['count']} | {item['mean_probability']:.3f} "
            f"| {item['positive_rate']:.3f} |"
        )
    rules = report.get("window_rules")
    if rules and rules["synopses"]:
        lines += [
            "",
            f"## Window-combination rules ({rules['synopses']} synopses longer than the window)",
            "",
            "| rule | micro-F1 (model's thresholds) | macro-F1 (model's thresholds) "
            "| micro-F1 (best single threshold) |",
            "|---|---|---|---|",
        ]
        for rule in COMBINATION_RULES:
            item = rules[rule]
            lines.append(
                f"| {rule} | {item['micro_f1_model_thresholds']:.3f} | {item['macro_f1_model_thresholds']:.3f} "
                f"| {item['micro_f1_best_single_threshold']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def write_report(evaluation: Evaluation, output_dir: str | Path) -> Path:
    from genre_model.charts import bar_chart, reliability_diagram

    report, folder = evaluation.report, Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "predictions.jsonl", evaluation.predictions)
    (folder / "evaluation.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    per_genre = {genre: scores["f1"] for genre, scores in report["model_thresholds"]["per_genre"].items()}
    bar_chart(
        per_genre, folder / "per_genre_f1.png", title="F1 per genre (model's thresholds)", xlabel="F1", xlim=(0, 1.1)
    )
    reliability_diagram(
        report["calibration"]["bins"], folder / "reliability.png", title="Reliability of the probabilities"
    )
    (folder / "evaluation.md").write_text(render_markdown(report), encoding="utf-8")
    return folder


# ---- command -------------------------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m genre_model.evaluate",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="a model folder written by train.py, or a Hub id")
    parser.add_argument("--data", required=True, help="a labelled file in train.py's format, or a Hub dataset id")
    parser.add_argument("--split", default="test", help="the split of a Hub dataset to score (default: test)")
    parser.add_argument("--text_column", default="synopsis")
    parser.add_argument("--genre_column", default="genres")
    parser.add_argument("--id_column", default="id", help="row ids for predictions.jsonl (row numbers where absent)")
    parser.add_argument("--genres", help="comma-separated genres to score (default: all 20)")
    parser.add_argument("--baseline_train", help="fit and score the two baselines on this labelled file as well")
    parser.add_argument(
        "--compare_window_rules", action="store_true", help="score every window-combination rule on long synopses"
    )
    parser.add_argument(
        "--output_dir", default="out/evaluation", help="where the report goes (default: out/evaluation)"
    )
    parser.add_argument(
        "--record",
        metavar="DESCRIPTION",
        help="keep the aggregate scores in the (local) model folder under this description, e.g. "
        "'1,018 real synopses kept outside the repository'; its card and the app show them",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--no_fast_cpu", action="store_true", help="score in torch fp32 on CPU")
    return parser.parse_args(argv)


def read_evaluated(args: argparse.Namespace) -> Table:
    if Path(args.data).exists():
        return read_table(args.data, text_column=args.text_column)
    splits = read_dataset(args.data)
    if args.split not in splits:
        raise DataError(
            f"the dataset {args.data!r} has no {args.split!r} split; it has {', '.join(splits)}. Pass --split"
        )
    return splits[args.split]


def run(args: argparse.Namespace) -> dict:
    if args.record and not Path(args.model).is_dir():
        raise ArgumentError(f"--record keeps the scores in a local model folder; {args.model!r} is not one")
    genres = scored_genres(args.genres)
    spec = DataSpec(text_column=args.text_column, genre_column=args.genre_column, id_column=args.id_column)
    table = read_evaluated(args)
    table.require(args.genre_column, "--genre_column")  # a file without labels cannot be evaluated
    predictor = GenrePredictor.load(
        args.model, device=args.device, fast_cpu=not args.no_fast_cpu, batch_size=args.batch_size
    )
    evaluation = evaluate(
        predictor,
        table,
        spec,
        genres,
        baseline_train=args.baseline_train,
        compare_window_rules=args.compare_window_rules,
    )
    folder, report = write_report(evaluation, args.output_dir), evaluation.report
    model, best = report["model_thresholds"], report["best_single_threshold"]
    print(
        f"{report['rows']} synopses, {len(genres)} genres: micro-F1 {model['micro_f1']:.3f}, "
        f"macro-F1 {model['macro_f1']:.3f}, samples-F1 {model['samples_f1']:.3f} at the model's thresholds; "
        f"no genre chosen for {model['no_genre_chosen']:.1%}; "
        f"best single threshold {best['threshold']:.2f} gives micro-F1 {best['micro_f1']:.3f} (tuned on this data)"
    )
    if "baselines" in report:
        print(
            f"TF-IDF baseline micro-F1 {report['baselines']['tfidf']['micro_f1']:.3f}, most-frequent-genres baseline "
            f"{report['baselines']['most_frequent_genres']['micro_f1']:.3f}"
        )
    print(f"report: {folder / 'evaluation.md'}")
    if args.record:
        record_in_model_folder(args.model, args.record, report)
        print(f"recorded in {Path(args.model) / EVALUATIONS_FILE}; the card was re-rendered")
    return report


def aggregate(description: str, report: dict) -> dict:
    """What a model folder keeps of an evaluation: aggregates only, never the evaluated text."""
    model, baselines = report["model_thresholds"], report.get("baselines", {})
    return {
        "description": description,
        "rows": report["rows"],
        "genres": report["genres"],
        **{name: model[name] for name in ("micro_f1", "macro_f1", "samples_f1", "no_genre_chosen")},
        "best_single_threshold": report["best_single_threshold"],
        "expected_calibration_error": report["calibration"]["expected_calibration_error"],
        "baselines": {
            name: {"micro_f1": scores["micro_f1"], "macro_f1": scores["macro_f1"]}
            for name, scores in baselines.items()
            if isinstance(scores, dict)
        },
        "baselines_trained_on": baselines.get("trained_on"),
    }


def record_in_model_folder(model: str, description: str, report: dict) -> None:
    """Keep the evaluation's aggregates in the local model folder, and show them in its card."""
    from genre_model.model_card import write_model_card

    record_evaluation(model, aggregate(description, report))
    write_model_card(model)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    return run_command(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
