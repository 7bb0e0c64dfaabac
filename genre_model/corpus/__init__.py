"""The project's own corpus: Korean synopses of invented films, written for genre_model, with their genres.

    from genre_model.corpus import EXAMPLE_CORPUS, read_example_corpus
    rows = read_example_corpus()          # [{"id", "title", "year", "nation", "genres", "synopsis"}, ...]

It ships inside the package (not as a path into a clone) because the library
needs it at run time: the predictor checks its fast CPU paths against full
precision on it, and the app shows some of it as examples. The demo model is
trained on it and the tests use it. `examples/synopses.jsonl` points here.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from genre_model.tables import read_table

EXAMPLE_CORPUS = Path(str(files(__name__) / "synopses.jsonl"))


def read_example_corpus() -> list[dict]:
    return read_table(EXAMPLE_CORPUS).rows
