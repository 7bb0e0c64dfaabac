"""Command line of the data collector: films -> synopses -> build -> push.

    export KOBIS_API_KEY=... KMDB_API_KEY=...
    python -m genre_model.collect films --workdir data/collect --years 2000-2023
    python -m genre_model.collect films --workdir data/collect --xlsx KOBIS_영화정보.xlsx   # without a KOBIS key
    python -m genre_model.collect synopses --workdir data/collect
    python -m genre_model.collect build --workdir data/collect
    python -m genre_model.collect push USER/korean-film-genres --workdir data/collect

Every API answer is cached in <workdir>/cache.sqlite: rerunning a step fetches
only what is missing, so an interrupted or quota-stopped run resumes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

from genre_model.collect.build import BuildReport, build_rows, write_dataset
from genre_model.collect.cache import ResponseCache
from genre_model.collect.card import write_card
from genre_model.collect.client import ApiClient, NetworkSettings
from genre_model.collect.errors import CollectError
from genre_model.collect.films import load_films, save_films
from genre_model.collect.hub import push_dataset
from genre_model.collect.kmdb import KmdbSource
from genre_model.collect.kobis import fetch_film_list
from genre_model.collect.rules import FilmRules, film_drop_reason
from genre_model.collect.synopses import collect_synopses, load_synopses, save_synopses
from genre_model.collect.workdir import Workdir
from genre_model.collect.xlsx import read_kobis_export
from genre_model.errors import run_command


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # force: the logs go to this call's stderr, also when main() runs more than once in one process
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", force=True)
    logging.getLogger("genre_model").setLevel(logging.INFO)
    return run_command(lambda: args.run(args), interrupted="rerunning the same command resumes from the cache")


def run_films(args: argparse.Namespace) -> None:
    workdir = Workdir(args.workdir)
    if args.xlsx:
        films = read_kobis_export(args.xlsx)
        origin = f"read from {args.xlsx}"
    else:
        key = _api_key(
            args.kobis_key,
            "KOBIS_API_KEY",
            "--kobis-key",
            alternative=" (or use --xlsx FILE, the KOBIS website's export)",
        )
        with closing(ResponseCache(workdir.cache)) as cache:
            client = ApiClient(cache, _network(args))
            films = fetch_film_list(client, key, years=args.years)
        origin = _requests_summary(client)
    save_films(workdir, films)
    types = Counter(film.type or "?" for film in films)
    print(f"{len(films)} films ({_counts_text(types)}) written to {workdir.films}; {origin}")


def run_synopses(args: argparse.Namespace) -> None:
    workdir = Workdir(args.workdir)
    films = load_films(workdir)
    key = _api_key(args.kmdb_key, "KMDB_API_KEY", "--kmdb-key")
    rules = _rules(args)
    wanted = [film for film in films if film_drop_reason(film, rules) is None]
    with closing(ResponseCache(workdir.cache)) as cache:
        client = ApiClient(cache, _network(args))
        records = collect_synopses(wanted, KmdbSource(client, key))
    save_synopses(workdir, records)
    statuses = Counter(record.status for record in records)
    print(
        f"{len(wanted)} of {len(films)} films pass the film rules and were looked up ({_counts_text(statuses)}); "
        f"written to {workdir.synopses}; {_requests_summary(client)}"
    )


def run_build(args: argparse.Namespace) -> None:
    workdir = Workdir(args.workdir)
    report = build_rows(
        load_films(workdir), load_synopses(workdir), _rules(args), drop_duplicates=not args.keep_duplicates
    )
    if not report.rows:
        raise CollectError(f"no film is left after the rules:\n{_build_summary(report)}")
    out_dir = args.output or workdir.dataset
    parquet_path, jsonl_path = write_dataset(report.rows, out_dir)
    card_path = write_card(report, out_dir)
    print(_build_summary(report))
    print(f"dataset: {parquet_path}, {jsonl_path}; card: {card_path}")


def run_push(args: argparse.Namespace) -> None:
    url = push_dataset(args.dataset or Workdir(args.workdir).dataset, args.repo_id, private=args.private)
    print(f"pushed to {url}")


def _build_summary(report: BuildReport) -> str:
    lines = [f"{report.films} films in the film list"]
    lines += [f"  - {removed:>6} {description} -> {left} left" for description, removed, left in report.rule_counts()]
    lines.append(f"{len(report.rows)} rows in the dataset")
    if report.unknown_genres:
        lines.append(f"unknown genre names (not mapped): {_counts_text(report.unknown_genres)}")
    return "\n".join(lines)


def _counts_text(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.most_common()) or "none"


def _requests_summary(client: ApiClient) -> str:
    return f"{client.fetched} requests sent, {client.from_cache} answered from the cache"


def _api_key(flag_value: str | None, variable: str, flag: str, *, alternative: str = "") -> str:
    key = flag_value or os.environ.get(variable)
    if not key:
        raise CollectError(f"no API key: set {variable} or pass {flag}{alternative}")
    return key


def _network(args: argparse.Namespace) -> NetworkSettings:
    return NetworkSettings(
        requests_per_second=args.rate, retries=args.retries, backoff_s=args.backoff, timeout_s=args.timeout
    )


def _rules(args: argparse.Namespace) -> FilmRules:
    return FilmRules(
        years=args.years,
        drop_adult=not args.keep_adult,
        feature_only=not args.all_types,
        drop_without_genre=not args.keep_without_genre,
    )


def _year_range(text: str) -> tuple[int, int]:
    """ "2000-2023" or "2019"."""
    try:
        start, _, end = text.partition("-")
        years = (int(start), int(end or start))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected years like 2000-2023, got {text!r}") from None
    if years[0] > years[1]:
        raise argparse.ArgumentTypeError(f"the first year comes after the last: {text!r}")
    return years


def _rule_years(text: str) -> tuple[int, int] | None:
    return None if text == "all" else _year_range(text)


def _positive_number(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    workdir = argparse.ArgumentParser(add_help=False)
    workdir.add_argument(
        "--workdir",
        type=Path,
        default=Path("data/collect"),
        help="where the steps keep their files (default: %(default)s)",
    )

    network = argparse.ArgumentParser(add_help=False)
    network.add_argument(
        "--rate", type=_positive_number, default=2.0, help="requests per second (default: %(default)s)"
    )
    network.add_argument(
        "--retries", type=_count, default=4, help="retries on timeouts, 429, 5xx, bad JSON (default: %(default)s)"
    )
    network.add_argument(
        "--backoff",
        type=_positive_number,
        default=1.0,
        help="seconds before the first retry, doubling (default: %(default)s)",
    )
    network.add_argument(
        "--timeout", type=_positive_number, default=30.0, help="seconds per request (default: %(default)s)"
    )

    rules = argparse.ArgumentParser(add_help=False)
    rules.add_argument(
        "--years", type=_rule_years, default=(2000, 2023), help="production years kept, or 'all' (default: 2000-2023)"
    )
    rules.add_argument("--keep-adult", action="store_true", help="keep 성인물(에로) films (default: dropped)")
    rules.add_argument("--all-types", action="store_true", help="keep shorts, omnibus films, ... (default: 장편 only)")
    rules.add_argument(
        "--keep-without-genre", action="store_true", help="keep films with no known genre, only 기타 (default: dropped)"
    )

    parser = argparse.ArgumentParser(
        prog="python -m genre_model.collect", description="Collect the KOBIS + KMDb synopsis dataset."
    )
    steps = parser.add_subparsers(title="steps, in order", required=True, metavar="STEP")

    films = steps.add_parser("films", parents=[workdir, network], help="1. the KOBIS film list (API or --xlsx export)")
    films.add_argument(
        "--years", type=_year_range, default=(2000, 2023), help="production years to list (default: 2000-2023)"
    )
    films.add_argument("--xlsx", type=Path, help="read the KOBIS website's spreadsheet export instead of the API")
    films.add_argument("--kobis-key", help="KOBIS API key (default: $KOBIS_API_KEY)")
    films.set_defaults(run=run_films)

    synopses = steps.add_parser(
        "synopses", parents=[workdir, network, rules], help="2. each film's Korean synopsis from KMDb"
    )
    synopses.add_argument("--kmdb-key", help="KMDb API key (default: $KMDB_API_KEY)")
    synopses.set_defaults(run=run_synopses)

    build = steps.add_parser("build", parents=[workdir, rules], help="3. the dataset (Parquet, JSON Lines, card)")
    build.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="keep films whose synopsis repeats an earlier one (default: dropped)",
    )
    build.add_argument("--output", type=Path, help="dataset folder (default: <workdir>/dataset)")
    build.set_defaults(run=run_build)

    push = steps.add_parser("push", parents=[workdir], help="4. the dataset to the Hugging Face Hub")
    push.add_argument("repo_id", help="dataset repo, USER/NAME (or NAME under your user)")
    push.add_argument("--dataset", type=Path, help="dataset folder (default: <workdir>/dataset)")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.set_defaults(run=run_push)
    return parser


if __name__ == "__main__":
    sys.exit(main())
