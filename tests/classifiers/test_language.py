"""Language detection: short English is never called foreign; other scripts always are."""

import pytest

from classifiers.language import detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ты тупой идиот", "ru"),
        ("Danke für den Artikel, er war sehr gut geschrieben", "de"),
        ("Merci beaucoup pour cet article sur le marché", "fr"),
        ("市长又在撒谎", "zh"),
        ("The council meeting is on Tuesday evening at the library.", "en"),
    ],
)
def test_languages_it_can_tell(text: str, code: str) -> None:
    assert detect_language(text).code == code


@pytest.mark.parametrize("text", ["kys", "u r a moron", "lol", "Peanuthead", "Subhuman garbage"])
def test_short_latin_text_is_undetermined_not_foreign(text: str) -> None:
    assert detect_language(text).code in {"und", "en"}


def test_empty_and_emoji_only() -> None:
    assert detect_language("").code == "und"
    assert detect_language("👍👍").code == "und"
