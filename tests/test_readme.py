"""README.md: the Hugging Face Space settings agree with what requirements.txt installs."""

import re

import gradio
from huggingface_hub import SpaceCardData
from huggingface_hub.repocard import RepoCard

from helpers import PROJECT_ROOT


def test_space_front_matter_names_the_app_and_the_pinned_gradio():
    card = RepoCard.load(PROJECT_ROOT / "README.md")
    space = SpaceCardData(**card.data.to_dict())
    pinned = re.search(r"^gradio==(\S+)$", (PROJECT_ROOT / "requirements.txt").read_text(), re.MULTILINE).group(1)
    assert space.sdk == "gradio" and space.app_file == "app.py" and (PROJECT_ROOT / space.app_file).is_file()
    assert space.sdk_version == pinned == gradio.__version__
    assert space.python_version and space.title and space.emoji
