"""Pushing the built dataset, with its card, to the Hugging Face Hub as a dataset repo.

    python -m genre_model.collect push USER/korean-film-genres

The token is checked before anything is uploaded, so a missing or rejected
token ends with a message saying how to log in, not a half-made repo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from genre_model.collect.build import JSONL_FILE, PARQUET_FILE
from genre_model.collect.card import CARD_FILE, CHART_FILE
from genre_model.collect.errors import CollectError
from genre_model.hub import HubError, check_token

DATASET_FILES = (PARQUET_FILE, JSONL_FILE, CARD_FILE, CHART_FILE)
T = TypeVar("T")
LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN to a token with write access, then rerun"


def push_dataset(dataset_dir: Path, repo_id: str, *, private: bool) -> str:
    """Upload the dataset files to the dataset repo `repo_id` (created if needed); returns its URL."""
    from huggingface_hub import HfApi

    try:
        user = check_token("pushing the dataset")
    except HubError as error:
        raise CollectError(str(error)) from None
    api = HfApi()
    missing = [name for name in (PARQUET_FILE, CARD_FILE) if not (dataset_dir / name).is_file()]
    if missing:
        raise CollectError(
            f"{dataset_dir} has no {', '.join(missing)}: run `python -m genre_model.collect build` first"
        )
    repo_id = repo_id if "/" in repo_id else f"{user}/{repo_id}"
    _hub_call(
        f"creating the dataset repo {repo_id}",
        lambda: api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True),
    )
    _hub_call(
        f"uploading to {repo_id}",
        lambda: api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=dataset_dir,
            allow_patterns=list(DATASET_FILES),
            commit_message="Upload dataset built by genre_model.collect",
        ),
    )
    return f"https://huggingface.co/datasets/{repo_id}"


def _hub_call(doing: str, call: Callable[[], T]) -> T:
    try:
        return call()
    # The Hub client raises from several hierarchies (its own, httpx's, OSError for offline
    # mode); whichever it is, nothing was pushed and the message is what the user needs.
    except Exception as error:
        raise CollectError(
            f"{doing} failed: {str(error).rstrip('.')}. If the token is the problem, {LOGIN_HINT}"
        ) from None
