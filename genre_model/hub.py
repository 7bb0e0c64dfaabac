"""Pushing a trained model folder to the Hugging Face Hub, with the token checked up front.

    hub.check_token()                                      # before hours of training, not after
    hub.push_model_folder("out/genre-bert", "you/genre-bert")

The local folder is never touched by a push; when the upload fails, the error
says how to retry it without retraining.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, get_token

from genre_model.errors import HubError

# What stays local: resumable training state and tracker logs are not part of the model.
NOT_PUSHED = ["checkpoints/**", "runs/**"]


def check_token(needed_for: str = "--push_to_hub") -> str:
    """The user name the saved or HF_TOKEN token belongs to; HubError when there is none or it is refused."""
    token = get_token()
    if not token:
        raise HubError(
            f"{needed_for} needs a Hugging Face token: run `hf auth login` or set HF_TOKEN (a token with write access)"
        )
    try:
        return HfApi().whoami(token=token)["name"]
    except Exception as error:  # offline, revoked or mistyped token: all mean "cannot push"
        raise HubError(
            f"the Hugging Face token was not accepted or the Hub is unreachable ({error}); "
            "check HF_TOKEN or run `hf auth login`"
        ) from error


def push_model_folder(folder: str | Path, repo_id: str, private: bool = False) -> str:
    """Upload the model folder (without checkpoints and logs); returns the repo URL."""
    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            ignore_patterns=NOT_PUSHED,
            commit_message="Upload genre classifier trained with genre_model",
        )
    except Exception as error:
        raise HubError(
            f"upload to {repo_id} failed ({error}). The model is saved in {folder}; retry without retraining: "
            f"hf upload {repo_id} {folder} . --exclude 'checkpoints/*' --exclude 'runs/*'"
        ) from error
    return f"https://huggingface.co/{repo_id}"
