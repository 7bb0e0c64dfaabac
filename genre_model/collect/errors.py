"""The errors the collector reports to its user instead of a traceback.

Raised anywhere in genre_model.collect; `python -m genre_model.collect` prints
the message as one `error:` line and exits 2, like every entry point
(genre_model.errors). Messages never contain an API key.
"""

from __future__ import annotations

from genre_model.errors import GenreModelError


class CollectError(GenreModelError):
    """Something the user can act on: bad input, a step run out of order, an API that gave up."""


class ApiFault(CollectError):
    """An API refused to serve (quota spent, key rejected): retrying now cannot help, rerunning later can."""
