from hypothesis import given
from hypothesis import strategies as st

from classifiers.normalize import (
    _normalize_chunk,
    _normalize_general,
    normalize,
    tokenize,
    tokenize_with_spans,
)


def test_leetspeak_and_symbols_are_undone() -> None:
    assert normalize("f*ck") == "fuck"
    assert normalize("sh1t") == "shit"
    assert normalize("$h!t") == "shit"
    assert normalize("a**hole") == "asshole"
    assert normalize("b****") == "bitch"


def test_repeated_letters_case_and_accents() -> None:
    assert normalize("IDIOOOOOT") == "idiot"
    assert normalize("stuuupid") == "stupid"
    assert normalize("Fück") == "fuck"


def test_spaced_and_dotted_letters_are_joined() -> None:
    assert normalize("you are an i d i o t") == "you are an idiot"
    assert normalize("i d i o t, really") == "idiot really"
    assert normalize("f.u.c.k off") == "fuck off"
    # Two single letters are not a spelled-out word.
    assert normalize("I a good day").startswith("i a")


def test_urls_mentions_and_emojis() -> None:
    assert normalize("@someone read https://example.com/a?b=1 now") == "read xxurl now"
    assert normalize("RT @user: great") == "great"
    assert normalize("nice 🙂🙂 work") == "nice work"
    assert normalize("🖕") == "fuck"


def test_numbers_are_not_leetspeak() -> None:
    assert normalize("in 2014 it cost 350 dollars") == "in 2014 it cost 350 dollars"


def test_spans_point_into_the_original_text() -> None:
    text = "Well, you are an I D I O T!! see @bob"
    spans = tokenize_with_spans(text)
    assert [t for t, _, _ in spans] == tokenize(text)
    by_token = {t: text[s:e] for t, s, e in spans}
    assert by_token["idiot"] == "I D I O T"
    assert by_token["well"] == "Well"


@given(st.text(max_size=200))
def test_tokenize_is_total_and_consistent(text: str) -> None:
    spans = tokenize_with_spans(text)
    assert [t for t, _, _ in spans] == tokenize(text)
    for token, start, end in spans:
        assert token
        assert 0 <= start < end <= len(text)


@given(st.text(alphabet="ab1*!., \t\n#@", max_size=40))
def test_spaced_letter_detection_agrees_with_the_span_path(text: str) -> None:
    assert [t for t, _, _ in tokenize_with_spans(text)] == tokenize(text)


@given(
    st.one_of(
        st.text(alphabet="abcXYZ'\"()[].,!?;:", max_size=12),
        st.text(max_size=12),
        st.sampled_from(["RT", "URL", "RT,", "URL.", "'RT'", "(idiot)", "don't!", "'''", "!!"]),
    )
)
def test_fast_path_matches_general_normalisation(chunk: str) -> None:
    assert _normalize_chunk(chunk) == _normalize_general(chunk)
