"""genre_model.hub: the token is checked up front, and a failed upload says how to retry."""

import pytest

from genre_model import hub


def test_no_token_is_reported_with_how_to_log_in(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_TOKEN", "")
    with pytest.raises(hub.HubError, match="needs a Hugging Face token.*hf auth login"):
        hub.check_token()


def test_a_failed_upload_keeps_the_folder_and_says_how_to_retry(tmp_path, monkeypatch):
    # HF_HUB_OFFLINE is set for the test session, so any upload fails as a real outage would
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(
        hub.HubError, match=r"retry without retraining: hf upload someone/model .*--exclude 'checkpoints/\*'"
    ):
        hub.push_model_folder(tmp_path, "someone/model")
    assert (tmp_path / "config.json").read_text() == "{}"
