"""What counts as a synopsis the model can judge, and the Korean message for one it cannot.

The app, the batch CLI and any notebook call the same check, so a synopsis that
the page refuses is refused by `python -m genre_model.predict` too:

    >>> check_synopsis("   ")
    '줄거리를 입력해 주세요.'
    >>> check_synopsis("부산 감천항, 밤마다 불이 꺼지지 않는 컨테이너 한 동. 그곳은 밀수 조직의 환전소다.") is None
    True

The scorer itself (genre_model.predict) scores any string; this module only
says which strings are worth scoring (check_synopsis), and which scored ones
deserve a caution next to their genres (caution).
"""

from __future__ import annotations

from collections import Counter

# The one definition of "too short to judge", for training (train.py's --min_chars
# default) and serving alike: shorter rows never reached training, so the model has
# never seen what it would be asked to judge. Measured by synopsis_length.
MIN_CHARS = 20
# Long synopses are read whole in overlapping windows; this cap only keeps one
# request from occupying a shared server (5,000 characters is ~10 KMDb synopses).
MAX_CHARS = 5000
# Share of Hangul among the letters. Korean synopses quote foreign names and
# titles ("마블의 Avengers 이후…"), so the bar is well below one half.
MIN_HANGUL_SHARE = 0.3


def _is_hangul(character: str) -> bool:
    code = ord(character)
    # syllables, then the jamo blocks (compatibility jamo are what phone keyboards type mid-word)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def hangul_share(text: str) -> float:
    """Hangul characters as a share of all letters (0.0 for a text without letters)."""
    letters = [character for character in text if character.isalpha()]
    return sum(map(_is_hangul, letters)) / len(letters) if letters else 0.0


def synopsis_length(text: str) -> int:
    """Characters that are not white space: spaces and line breaks say nothing about the plot."""
    return sum(not character.isspace() for character in text)


def check_synopsis(text: object) -> str | None:
    """None when `text` is a synopsis the model can judge; otherwise a Korean message saying what to change."""
    if not isinstance(text, str) or not text.strip():
        return "줄거리를 입력해 주세요."
    length = synopsis_length(text)
    if length < MIN_CHARS:
        return f"줄거리가 너무 짧습니다({length}자). 장르를 판단하려면 공백을 빼고 {MIN_CHARS}자 이상 입력해 주세요."
    if length > MAX_CHARS:
        return f"줄거리가 너무 깁니다({length:,}자). {MAX_CHARS:,}자 이하로 줄여 주세요."
    if hangul_share(text) < MIN_HANGUL_SHARE:
        return "한국어 줄거리를 입력해 주세요. 이 모델은 한국어 영화 줄거리로 학습되었습니다."
    return None


# A text that passes check_synopsis but whose genres mean little: one word or syllable making up
# half of it (spam, a test string), or mostly pieces the tokenizer does not know (another script).
MAX_REPEATED_SHARE = 0.5
MAX_UNKNOWN_SHARE = 0.3


def caution(text: str, tokenizer) -> str | None:
    """A Korean caution when `text` does not read like a synopsis, though it can be scored; None when it does."""
    words = text.split()
    characters = [character for character in text if not character.isspace()]
    most_word = max(Counter(words).values()) / len(words) if len(words) >= 4 else 0.0
    most_character = max(Counter(characters).values()) / len(characters) if characters else 0.0
    if most_word >= MAX_REPEATED_SHARE or most_character >= MAX_REPEATED_SHARE:
        return "⚠️ 같은 말이 되풀이된 글이라 줄거리로 보기 어렵습니다. 아래 장르는 참고만 하세요."
    pieces = tokenizer.tokenize(text)
    unknown = sum(piece == tokenizer.unk_token for piece in pieces) / len(pieces) if pieces else 0.0
    if unknown >= MAX_UNKNOWN_SHARE:
        return f"⚠️ 모델이 모르는 글자가 많은 글입니다({unknown:.0%}). 아래 장르는 참고만 하세요."
    return None
