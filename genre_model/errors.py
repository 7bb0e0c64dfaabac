"""The errors a user can act on, and the one way every entry point reports them.

Every command (train.py, app.py's loader, `python -m genre_model.predict`,
`-m genre_model.evaluate`, `-m genre_model.collect`) raises a subclass of
`GenreModelError` for a problem the user can fix, and `run_command` turns it
into one `error: <message>` line on stderr and exit code 2, never a traceback:

    def main(argv=None) -> int:
        return run_command(lambda: train(*parse_arguments(argv)), interrupted="resume with ...")

Messages say what to change ("column 'plot' not found; available: ... Pass
--text_column synopsis"). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

# The exit code of every entry point for a problem in what the user gave it (argparse uses 2 too).
USER_ERROR_EXIT_CODE = 2
INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, what shells report for Ctrl-C


class GenreModelError(Exception):
    """A problem in what the user asked for or gave; the message says what to change."""


class DataError(GenreModelError, ValueError):
    """A data file or table cannot be used as given: missing, empty, malformed, without the needed columns."""


class ArgumentError(GenreModelError, ValueError):
    """An option has a value that cannot work (a fraction above 1, an unknown genre name, ...)."""


class CheckpointError(GenreModelError):
    """A training checkpoint cannot be resumed from, or the output folder already holds a finished run."""


class ModelLoadError(GenreModelError, OSError):
    """A model or tokenizer cannot be loaded, or is not a genre model."""


class HubError(GenreModelError):
    """The Hugging Face Hub cannot be used as asked: no token, a refused token, a failed upload."""


def run_command(command: Callable[[], object], *, interrupted: str | None = None) -> int:
    """Run an entry point's work; a GenreModelError becomes one `error:` line and exit code 2.

    `interrupted` is what to tell a user who pressed Ctrl-C (how to carry on).
    """
    try:
        command()
    except GenreModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return USER_ERROR_EXIT_CODE
    except KeyboardInterrupt:
        print(f"interrupted{': ' + interrupted if interrupted else ''}", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE
    return 0
