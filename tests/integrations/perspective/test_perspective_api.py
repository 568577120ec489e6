"""comments:analyze, comments:suggestscore and the discovery document, in-process on the real
store, Redis and the shipped model. Expected scores come from the model itself, never typed in."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from service.app import create_app
from service.db import session_scope
from service.integrations.perspective.analyze import plan_analysis
from service.integrations.perspective.attributes import ATTRIBUTE_LABELS, label_for
from service.integrations.perspective.errors import GoogleError
from service.integrations.perspective.schemas import AnalyzeCommentRequest
from service.integrations.scoring import live_model
from service.sites import forget_cached_sites
from service.tables import AnalyzedText, Comment, Site, SuggestionFeedback
from tests.conftest import free_port, reset_caches
from tests.integrations.perspective.conftest import SiteUnderTest

ABUSIVE = "You are a stupid worthless idiot, shut up."
BENIGN = "Thanks for the careful reporting on the bridge repairs."


def analyze(client: TestClient, key: str, body: dict[str, Any], **params: str) -> Any:
    return client.post("/v1alpha1/comments:analyze", params={"key": key, **params}, json=body)


def request(text: str, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {"comment": {"text": text}, "requestedAttributes": attributes or {"TOXICITY": {}}}


def error_of(response: Any) -> tuple[int, str, str, list[dict[str, Any]]]:
    error = response.json()["error"]
    assert set(error) == {"code", "message", "status", "details"}
    assert error["code"] == response.status_code
    assert error["details"], "some clients read details[0] unconditionally"
    return error["code"], error["status"], error["message"], error["details"]


def error_type(response: Any) -> str:
    details = error_of(response)[3]
    assert details[0]["@type"] == "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
    return str(details[0]["errorType"])


def test_analyze_answers_the_models_own_probabilities(
    client: TestClient, site: SiteUnderTest
) -> None:
    model = live_model()
    identity = label_for("IDENTITY_ATTACK", model.labels)
    assert identity is not None
    response = analyze(
        client,
        site.key,
        request(ABUSIVE, TOXICITY={}, INSULT={}, IDENTITY_ATTACK_EXPERIMENTAL={}, PROFANITY={}),
    )
    assert response.status_code == 200
    body = response.json()
    expected = model.score([ABUSIVE])[0]
    scores = body["attributeScores"]
    # Answered under the names as requested, _EXPERIMENTAL spelling included.
    assert set(scores) == {"TOXICITY", "INSULT", "IDENTITY_ATTACK_EXPERIMENTAL", "PROFANITY"}
    assert scores["TOXICITY"]["summaryScore"] == {
        "value": expected["toxicity"],
        "type": "PROBABILITY",
    }
    assert scores["INSULT"]["summaryScore"]["value"] == expected["insult"]
    assert scores["IDENTITY_ATTACK_EXPERIMENTAL"]["summaryScore"]["value"] == expected[identity]
    assert "spanScores" not in scores["TOXICITY"]
    assert body["languages"] == ["en"] and body["detectedLanguages"] == ["en"]
    assert "clientToken" not in body
    benign = analyze(client, site.key, request(BENIGN)).json()
    assert benign["attributeScores"]["TOXICITY"]["summaryScore"]["value"] < expected["toxicity"]


def test_analyze_takes_google_clients_spellings_and_never_redirects(
    client: TestClient, site: SiteUnderTest
) -> None:
    raw = b'{"comment": {"text": "Thanks for this."}, "requestedAttributes": {"TOXICITY": {}}}'
    for path in ("/v1alpha1/comments:analyze", "/v1alpha1/comments:analyze/"):
        response = client.post(
            path,
            params={"key": site.key, "alt": "json"},
            content=raw,
            headers={"Content-Type": "application/json;charset=utf-8"},
            follow_redirects=False,
        )
        assert response.status_code == 200, response.text
    bearer = client.post(
        "/v1alpha1/comments:analyze",
        content=raw,
        headers={"Authorization": f"Bearer {site.key}", "Content-Type": "application/json"},
    )
    assert bearer.status_code == 200


def test_client_token_and_requested_languages_are_echoed(
    client: TestClient, site: SiteUnderTest
) -> None:
    body = {**request(BENIGN), "languages": ["en-US"], "clientToken": "req-42"}
    answer = analyze(client, site.key, body).json()
    assert answer["clientToken"] == "req-42"
    assert answer["languages"] == ["en"]


def test_below_the_threshold_the_summary_is_left_out(
    client: TestClient, site: SiteUnderTest
) -> None:
    value = live_model().score([BENIGN])[0]["toxicity"]
    above = analyze(client, site.key, request(BENIGN, TOXICITY={"scoreThreshold": value + 0.01}))
    assert "TOXICITY" not in above.json()["attributeScores"]
    at = analyze(client, site.key, request(BENIGN, TOXICITY={"scoreThreshold": value}))
    assert at.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == value


def test_span_offsets_are_utf16_code_units_into_the_original_text(
    client: TestClient, site: SiteUnderTest
) -> None:
    # An emoji (two UTF-16 units, one code point) and accents (one each) before the insults,
    # so code point and UTF-16 offsets differ where the spans are.
    text = "Café crème 😀😀 — tu es nul, you stupid idiot! Señor 👍🏽 moron"
    response = analyze(client, site.key, {**request(text), "spanAnnotations": True})
    spans = response.json()["attributeScores"]["TOXICITY"]["spanScores"]
    assert spans
    units = text.encode("utf-16-le")
    model = live_model()
    marked = {c.text for c in model.explain(text, label="toxicity", top_k=8) if c.weight > 0}
    seen = set()
    for span in spans:
        assert 0 <= span["begin"] < span["end"] <= len(units) // 2
        word = units[2 * span["begin"] : 2 * span["end"]].decode("utf-16-le")
        assert word in marked
        # Each span's own score is the model's score of that span alone.
        assert span["score"]["value"] == model.score([word])[0]["toxicity"]
        seen.add(word)
    assert seen == marked
    beyond_emoji = [s for s in spans if s["begin"] > text.index("😀")]
    assert beyond_emoji, "the test needs a span after the emoji to tell the offsets apart"
    assert [s["begin"] for s in spans] == sorted(s["begin"] for s in spans)


def test_html_comments_are_scored_on_their_text(client: TestClient, site: SiteUnderTest) -> None:
    html = "<p>You are a <b>stupid</b> idiot &amp; a moron</p><script>var x</script>"
    answer = analyze(
        client,
        site.key,
        {"comment": {"text": html, "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}},
    ).json()
    expected = live_model().score(["You are a stupid idiot & a moron"])[0]["toxicity"]
    assert answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == pytest.approx(
        expected, abs=1e-9
    )


def test_unknown_attributes_are_refused_unless_dropped(
    client: TestClient, site: SiteUnderTest
) -> None:
    refused = analyze(client, site.key, request(BENIGN, TOXICITY={}, FLIRTATION={}))
    assert refused.status_code == 400
    assert error_of(refused)[1:3] == ("INVALID_ARGUMENT", "Unknown requested attribute: FLIRTATION")
    assert error_type(refused) == "INVALID_REQUEST"
    dropped = analyze(
        client,
        site.key,
        {**request(BENIGN, TOXICITY={}, FLIRTATION={}), "dropUnsupportedAttributes": True},
    )
    assert dropped.status_code == 200
    assert set(dropped.json()["attributeScores"]) == {"TOXICITY"}


def test_an_attribute_the_model_lacks_is_not_supported_in_the_language() -> None:
    # A plain function on a narrower label set: holds whatever the shipped model has.
    ask = AnalyzeCommentRequest.model_validate(request(BENIGN, TOXICITY={}, THREAT={}))
    with pytest.raises(GoogleError) as refused:
        plan_analysis(ask, labels=("toxicity",), languages_read=("en",))
    assert refused.value.details[0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert refused.value.message == "Attribute THREAT does not support request languages: en"
    dropping = AnalyzeCommentRequest.model_validate(
        {**request(BENIGN, TOXICITY={}, THREAT={}), "dropUnsupportedAttributes": True}
    )
    plan = plan_analysis(dropping, labels=("toxicity",), languages_read=("en",))
    assert list(plan.attributes) == ["TOXICITY"]
    # Every attribute of the six is answered once the model has its label.
    six = tuple(labels[0] for labels in ATTRIBUTE_LABELS.values())
    everything = AnalyzeCommentRequest.model_validate(
        request(BENIGN, **{name: {} for name in ATTRIBUTE_LABELS})
    )
    assert len(plan_analysis(everything, labels=six, languages_read=("en",)).attributes) == 6


def test_a_language_the_model_does_not_read_is_refused(
    client: TestClient, site: SiteUnderTest
) -> None:
    refused = analyze(client, site.key, {**request(BENIGN), "languages": ["de"]})
    assert refused.status_code == 400
    assert error_type(refused) == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert error_of(refused)[2] == "Attribute TOXICITY does not support request languages: de"
    # A detected language outside the model card's languages is refused the same way.
    detected = AnalyzeCommentRequest.model_validate(request(BENIGN))
    with pytest.raises(GoogleError) as outside:
        plan_analysis(detected, labels=("toxicity",), languages_read=("fr",))
    assert outside.value.details[0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"comment": {"text": "   "}, "requestedAttributes": {"TOXICITY": {}}}, "COMMENT_EMPTY"),
        ({"comment": {}, "requestedAttributes": {"TOXICITY": {}}}, "COMMENT_EMPTY"),
        (
            {"comment": {"text": "é" * 10_241}, "requestedAttributes": {"TOXICITY": {}}},
            "COMMENT_TOO_LONG",
        ),
        ({"comment": {"text": "fine"}}, "NO_REQUESTED_ATTRIBUTES"),
        ({"comment": {"text": "fine"}, "requestedAttributes": {}}, "NO_REQUESTED_ATTRIBUTES"),
        (
            {
                "comment": {"text": "fine"},
                "requestedAttributes": {"TOXICITY": {}},
                "context": {
                    "entries": [{"text": "a"}],
                    "articleAndParentComment": {"article": {"text": "b"}},
                },
            },
            "INVALID_REQUEST",
        ),
        (
            {
                "comment": {"text": "fine"},
                "requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_SCORE"}},
            },
            "INVALID_REQUEST",
        ),
        ({"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}}, "INVALID_REQUEST"),
        ({"comment": {"text": "fine"}, "requestedAttributes": ["TOXICITY"]}, "INVALID_REQUEST"),
    ],
)
def test_bad_requests_get_googles_envelope(
    client: TestClient, site: SiteUnderTest, body: dict[str, Any], expected: str
) -> None:
    response = analyze(client, site.key, body)
    assert response.status_code == 400
    assert error_type(response) == expected


def test_the_comment_limit_is_perspectives_20_kb_of_utf8(
    client: TestClient, site: SiteUnderTest
) -> None:
    assert analyze(client, site.key, request("é" * 10_240)).status_code == 200


def test_a_body_that_is_not_json_is_invalid_request(
    client: TestClient, site: SiteUnderTest
) -> None:
    response = client.post(
        "/v1alpha1/comments:analyze",
        params={"key": site.key},
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and error_type(response) == "INVALID_REQUEST"


def test_keys_are_checked_as_google_does(client: TestClient, site: SiteUnderTest) -> None:
    bad = analyze(client, "cm_not-a-key", request(BENIGN))
    code, status, message, details = error_of(bad)
    assert (code, status, message) == (
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
    )
    assert details[0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert details[0]["reason"] == "API_KEY_INVALID"
    missing = client.post("/v1alpha1/comments:analyze", json=request(BENIGN))
    assert error_of(missing)[:2] == (403, "PERMISSION_DENIED")


def _chunks(body: bytes) -> Iterator[bytes]:
    # No Content-Length: the request limit counts the chunks as they arrive.
    for start in range(0, len(body), 8192):
        yield body[start : start + 8192]


OVER_THE_REQUEST_LIMIT = b'{"comment": {"text": "' + b"word " * 14_000 + b'"}}'


def test_errors_from_outside_the_perspective_routes_are_in_googles_envelope_too(
    client: TestClient, site: SiteUnderTest
) -> None:
    """The request limits, query validation and routing answer before the routes do; on
    Perspective's paths they answer as Google does (before: the service's own shape)."""
    url = f"/v1alpha1/comments:analyze?key={site.key}"
    json_type = {"Content-Type": "application/json"}
    for too_large in (
        client.post(url, content=OVER_THE_REQUEST_LIMIT, headers=json_type),
        client.post(url, content=_chunks(OVER_THE_REQUEST_LIMIT), headers=json_type),
    ):
        assert too_large.status_code == 400
        assert error_type(too_large) == "COMMENT_TOO_LONG"
    # A key longer than any key is not a valid key, as for any other wrong key.
    long_key = analyze(client, "k" * 201, request(BENIGN))
    assert error_of(long_key)[:2] == (400, "INVALID_ARGUMENT")
    assert error_of(long_key)[3][0]["reason"] == "API_KEY_INVALID"
    long_alt = analyze(client, site.key, request(BENIGN), alt="j" * 21)
    assert long_alt.status_code == 400 and error_type(long_alt) == "INVALID_REQUEST"
    headers_too_large = client.post(url, json=request(BENIGN), headers={"X-Filler": "a" * 17_000})
    assert headers_too_large.status_code == 400
    assert error_type(headers_too_large) == "INVALID_REQUEST"
    assert error_of(client.post("/v1alpha1/comments:classify", json=request(BENIGN)))[:2] == (
        404,
        "NOT_FOUND",
    )
    assert error_of(client.get(url))[:2] == (405, "UNIMPLEMENTED")
    # Elsewhere the service's own shape stays.
    ours = client.post("/v1/comments", content=OVER_THE_REQUEST_LIMIT, headers=json_type)
    assert ours.status_code == 413
    assert ours.json()["error"]["code"] == "request_too_large"


def test_a_store_outage_is_503_unavailable_in_googles_envelope(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store nothing answers at (as during a PostgreSQL restart); a key never seen, so the
    # site's lookup needs the store.
    dead = make_url(pg_env["DATABASE_URL"]).set(host="127.0.0.1", port=free_port())
    monkeypatch.setenv("DATABASE_URL", dead.render_as_string(hide_password=False))
    reset_caches()
    with TestClient(create_app()) as client:
        response = analyze(client, "cm_never-seen-key", request(BENIGN))
    code, status, _, details = error_of(response)
    assert (code, status) == (503, "UNAVAILABLE")
    assert details[0]["reason"] == "STORE_UNAVAILABLE"
    assert response.headers["Retry-After"] == "5"


def test_an_unexpected_failure_is_500_internal_in_googles_envelope(
    pg_env: dict[str, str],
) -> None:
    app = create_app()

    async def fails() -> None:
        raise RuntimeError("a bug")

    # A route that fails as a bug would, beside Perspective's and elsewhere.
    app.add_api_route("/v1alpha1/comments:fail", fails, methods=["POST"])
    app.add_api_route("/v1/fail", fails, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        failed = client.post("/v1alpha1/comments:fail")
        elsewhere = client.post("/v1/fail")
    assert error_of(failed)[:2] == (500, "INTERNAL")
    assert (elsewhere.status_code, elsewhere.text) == (500, "Internal Server Error")


def test_over_the_sites_quota_is_429_resource_exhausted(
    client: TestClient, site: SiteUnderTest
) -> None:
    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        row.analyze_rate_limit = "2/minute"
    statuses = [analyze(client, site.key, request(BENIGN)).status_code for _ in range(2)]
    assert statuses == [200, 200]
    refused = analyze(client, site.key, request(BENIGN))
    code, status, _, details = error_of(refused)
    assert (code, status) == (429, "RESOURCE_EXHAUSTED")
    assert details[0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def _count(table: type) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_nothing_of_the_text_is_stored_unless_the_site_keeps_texts_and_the_client_allows(
    client: TestClient, site: SiteUnderTest
) -> None:
    for do_not_store in (True, False, None):
        body = (
            request(BENIGN)
            if do_not_store is None
            else {**request(BENIGN), "doNotStore": do_not_store}
        )
        assert analyze(client, site.key, body).status_code == 200
    assert _count(AnalyzedText) == 0 and _count(Comment) == 0
    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        row.keep_analyzed_texts = True
    forget_cached_sites()  # as a policy change through the admin page or CLI does
    client.post(
        "/v1alpha1/comments:analyze",
        params={"key": site.key},
        json={**request(ABUSIVE), "doNotStore": True},
    )
    assert _count(AnalyzedText) == 0
    analyze(client, site.key, {**request(ABUSIVE), "doNotStore": False})
    with session_scope() as session:
        kept = session.scalars(select(AnalyzedText)).one()
        assert (kept.site_id, kept.text) == (site.id, ABUSIVE)
        assert kept.scores == live_model().score([ABUSIVE])[0]
    assert _count(Comment) == 0


def test_suggestscore_stores_labelled_feedback_of_the_site(
    client: TestClient, site: SiteUnderTest
) -> None:
    response = client.post(
        "/v1alpha1/comments:suggestscore",
        params={"key": site.key},
        json={
            "comment": {"text": ABUSIVE},
            "attributeScores": {
                "TOXICITY": {"summaryScore": {"value": 1}},
                "IDENTITY_ATTACK_EXPERIMENTAL": {
                    "summaryScore": {"value": 0, "type": "PROBABILITY"}
                },
            },
            "languages": ["en"],
            "clientToken": "comment:c-1",
            "communityId": "Coral:https://news.example",
            "context": {"entries": [{"text": '{"Coral_comment_id": "c-1"}'}]},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "clientToken": "comment:c-1",
        "detectedLanguages": ["en"],
        "requestedLanguages": ["en"],
    }
    with session_scope() as session:
        rows = session.scalars(select(SuggestionFeedback).order_by(SuggestionFeedback.attribute))
        stored = [(r.site_id, r.text, r.attribute, r.value) for r in rows]
    # Stored under the model's newest label names, whatever model is loaded.
    assert stored == [
        (site.id, ABUSIVE, "identity_attack", 0.0),
        (site.id, ABUSIVE, "toxicity", 1.0),
    ]


@pytest.mark.parametrize(
    "scores",
    [
        {},
        {"FLIRTATION": {"summaryScore": {"value": 1}}},
        {"TOXICITY": {}},
        {"TOXICITY": {"summaryScore": {"value": 1.5}}},
    ],
)
def test_suggestscore_refuses_what_it_cannot_store(
    client: TestClient, site: SiteUnderTest, scores: dict[str, Any]
) -> None:
    response = client.post(
        "/v1alpha1/comments:suggestscore",
        params={"key": site.key},
        json={"comment": {"text": "x"}, "attributeScores": scores},
    )
    assert response.status_code == 400
    error_type(response)
    assert _count(SuggestionFeedback) == 0


def test_the_discovery_document_points_at_this_server(client: TestClient) -> None:
    document = client.get("/$discovery/rest", params={"version": "v1alpha1"}).json()
    assert document["rootUrl"] == "http://testserver/"
    assert (document["name"], document["version"]) == ("commentanalyzer", "v1alpha1")
    methods = document["resources"]["comments"]["methods"]
    assert methods["analyze"]["path"] == "v1alpha1/comments:analyze"
    assert methods["suggestscore"]["request"] == {"$ref": "SuggestCommentScoreRequest"}
    refs = {m["request"]["$ref"] for m in methods.values()} | {
        m["response"]["$ref"] for m in methods.values()
    }
    assert refs <= set(document["schemas"])
    unknown = client.get("/$discovery/rest", params={"version": "v9"})
    assert error_of(unknown)[:2] == (404, "NOT_FOUND")
