"""Clients nobody here wrote, pointed at a live server (`moderation serve` on the real store,
Redis and the shipped model): Google's discovery-based Python client, the PyPI `perspective`
package, the npm `perspective-api-client` run with the machine's Node.js, and Coral Talk's two
calls replayed byte for byte. Each test writes what the client sent and got to
test-artifacts/<test>/transcript.txt."""

import hashlib
import hmac
import http.client
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httplib2
import pytest
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from perspective import PerspectiveAPI
from sqlalchemy import select

from service.db import session_scope
from service.integrations.coral.signing import rotate_coral_secret
from service.tables import AuditEvent, Comment, Site, SuggestionFeedback
from tests.conftest import make_site

NODE_CLIENT = Path(__file__).resolve().parent / "node_client"
ABUSIVE = "You are a stupid worthless idiot, shut up."
BENIGN = "Thanks for the careful reporting on the bridge repairs."


class Transcript:
    def __init__(self, folder: Path) -> None:
        self.path = folder / "transcript.txt"
        self.lines: list[str] = []

    def exchange(self, request: str, response: str) -> None:
        self.lines += [">>> " + request.rstrip(), "<<< " + response.rstrip(), ""]
        self.path.write_text("\n".join(self.lines))


@pytest.fixture
def transcript(artifacts: Path) -> Transcript:
    return Transcript(artifacts)


@pytest.fixture
def live(api_server: str) -> Iterator[tuple[str, Site, str]]:
    with session_scope() as session:
        site, key = make_site(session)
        session.expunge(site)
    yield api_server, site, key


class RecordingHttp(httplib2.Http):
    """httplib2 as googleapiclient uses it, writing each exchange to the transcript."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(timeout=30)
        self.transcript = transcript

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,  # type: ignore[override]
        headers: Any = None,
        **kwargs: Any,
    ) -> Any:
        response, content = super().request(
            uri, method=method, body=body, headers=headers, **kwargs
        )
        shown = content.decode()
        if "discoveryVersion" in shown:
            shown = shown[:200] + " …(discovery document)"
        self.transcript.exchange(f"{method} {uri}\n{body or ''}", f"{response.status} {shown}")
        return response, content


def test_googles_discovery_client_analyzes_suggests_and_raises_http_errors(
    live: tuple[str, Site, str], transcript: Transcript
) -> None:
    base, site, key = live
    service = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=f"{base}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
        http=RecordingHttp(transcript),
    )
    analyzed = (
        service.comments()
        .analyze(
            body={
                "comment": {"text": ABUSIVE},
                "requestedAttributes": {"TOXICITY": {}, "INSULT": {}},
                "spanAnnotations": True,
                "clientToken": "g-1",
            }
        )
        .execute()
    )
    toxicity = analyzed["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    benign = (
        service.comments()
        .analyze(body={"comment": {"text": BENIGN}, "requestedAttributes": {"TOXICITY": {}}})
        .execute()
    )
    assert benign["attributeScores"]["TOXICITY"]["summaryScore"]["value"] < toxicity
    assert analyzed["attributeScores"]["TOXICITY"]["spanScores"]
    assert analyzed["clientToken"] == "g-1"
    suggested = (
        service.comments()
        .suggestscore(
            body={
                "comment": {"text": ABUSIVE},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1.0}}},
                "clientToken": "g-2",
            }
        )
        .execute()
    )
    assert suggested["clientToken"] == "g-2"
    with pytest.raises(HttpError) as empty:
        service.comments().analyze(
            body={"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}}
        ).execute()
    assert empty.value.status_code == 400
    assert empty.value.reason == "Comment must be non-empty."
    assert empty.value.error_details[0]["errorType"] == "COMMENT_EMPTY"
    wrong_key = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey="cm_wrong",
        discoveryServiceUrl=f"{base}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
        http=RecordingHttp(transcript),
    )
    with pytest.raises(HttpError) as refused:
        wrong_key.comments().analyze(
            body={"comment": {"text": BENIGN}, "requestedAttributes": {"TOXICITY": {}}}
        ).execute()
    assert refused.value.status_code == 400
    assert refused.value.error_details[0]["reason"] == "API_KEY_INVALID"
    with session_scope() as session:
        assert session.scalars(select(SuggestionFeedback.site_id)).all() == [site.id]


def test_the_pypi_perspective_package_with_nearly_every_optional_field(
    live: tuple[str, Site, str], transcript: Transcript, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _, key = live
    import perspective.api_client as api_client

    real_urlopen = urllib.request.urlopen

    def recording_urlopen(request: urllib.request.Request) -> Any:
        # Watches what the package sends and gets; the call still goes to the server.
        response = real_urlopen(request)
        body = response.read()
        transcript.exchange(
            f"{request.get_method()} {request.full_url}\n{request.data.decode()}",  # type: ignore[union-attr]
            f"{response.status} {body.decode()}",
        )
        response.read = lambda *_: body
        return response

    monkeypatch.setattr(api_client, "urlopen", recording_urlopen)
    client = PerspectiveAPI(key)
    client.api_client.url = f"{base}/v1alpha1/{{endpoint}}"
    result = client.analyze_comment(
        ABUSIVE,
        comment_type="PLAIN_TEXT",
        context=[{"text": "What do you think of the bridge?", "type": "PLAIN_TEXT"}],
        requested_attributes={
            "TOXICITY": {"scoreType": "PROBABILITY", "scoreThreshold": 0.0},
            "INSULT": {},
            "PROFANITY": {},
        },
        span_annotations=True,
        languages=["en"],
        do_not_store=True,
        client_token="py-1",
        session_id="session-1",
        community_id="news.example",
    )
    assert set(result["attributeScores"]) == {"TOXICITY", "INSULT", "PROFANITY"}
    assert result["clientToken"] == "py-1" and result["languages"] == ["en"]
    scores = client.score(BENIGN, tests=["TOXICITY", "INSULT"])
    assert scores["TOXICITY"] < result["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    suggested = client.suggest_score(
        BENIGN,
        {"TOXICITY": {"summaryScore": {"value": 0.0}}},
        languages=["en"],
        client_token="py-2",
        community_id="news.example",
    )
    assert suggested["clientToken"] == "py-2"
    with pytest.raises(urllib.error.HTTPError) as refused:
        client.analyze_comment(BENIGN, requested_attributes={"FLIRTATION": {}})
    error = json.loads(refused.value.read())["error"]
    transcript.exchange("POST …/comments:analyze (FLIRTATION)", f"{refused.value.code} {error}")
    assert error["message"] == "Unknown requested attribute: FLIRTATION"
    with session_scope() as session:
        assert session.scalars(select(SuggestionFeedback.value)).all() == [0.0]


@pytest.fixture(scope="session")
def node_client() -> Path:
    """The npm client installed from the committed lock file into the tests' own folder."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    assert npm and node, "Node.js and npm are needed (Debian's nodejs and npm packages)"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
        cwd=NODE_CLIENT,
        check=True,
        timeout=300,
    )
    return NODE_CLIENT


def test_the_npm_client_run_with_node(
    live: tuple[str, Site, str], transcript: Transcript, node_client: Path
) -> None:
    base, _, key = live
    run = subprocess.run(
        ["node", "analyze.js"],
        cwd=node_client,
        env={**os.environ, "BASE": base, "KEY": key, "TEXT": ABUSIVE},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    for line in lines:
        if "request" in line:
            transcript.exchange(json.dumps(line["request"]), json.dumps(line["response"]))
        else:
            transcript.exchange("(client returned)", json.dumps(line))
    first, html = (line["value"] for line in lines if line["kind"] == "result")
    assert set(first["attributeScores"]) == {"TOXICITY", "INSULT", "PROFANITY"}
    assert first["attributeScores"]["TOXICITY"]["summaryScore"]["value"] > 0.5
    sent = next(line for line in lines if line["kind"] == "ok")["request"]
    assert sent["body"]["doNotStore"] is True and sent["params"] == {"key": key}
    # The client strips HTML itself before sending; spans are into what it sent.
    assert html["attributeScores"]["TOXICITY"]["spanScores"]
    raised = next(line for line in lines if line["kind"] == "raised")
    assert raised == {
        "kind": "raised",
        "name": "ResponseError",
        "status": 400,
        "message": "API key not valid. Please pass a valid API key.",
    }


def _raw_post(
    base: str, path: str, body: bytes, headers: dict[str, str], transcript: Transcript
) -> tuple[int, bytes]:
    """One POST with exactly these bytes and headers (no client library in between)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    content = response.read()
    connection.close()
    shown_headers = "\n".join(f"{k}: {v}" for k, v in headers.items())
    transcript.exchange(
        f"POST {path}\n{shown_headers}\n\n{body.decode()}",
        f"{response.status} {content.decode()}",
    )
    return response.status, content


def test_coral_talks_two_calls_replayed_byte_for_byte(
    live: tuple[str, Site, str], transcript: Transcript
) -> None:
    base, site, key = live
    # 1. Perspective as Coral's custom endpoint: `{endpoint}/comments:analyze?key=K`, a compact
    # JSON.stringify body; Coral reads only attributeScores[MODEL].summaryScore.value.
    analyze = (
        b'{"comment":{"text":"You are a stupid worthless idiot, shut up."},"doNotStore":true,'
        b'"requestedAttributes":{"TOXICITY":{}},"languages":["en"]}'
    )
    status, content = _raw_post(
        base,
        f"/v1alpha1/comments:analyze?key={key}",
        analyze,
        {"Content-Type": "application/json", "User-Agent": "Coral Perspective/9.0.0"},
        transcript,
    )
    assert status == 200
    value = json.loads(content)["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert 0.5 < value <= 1.0
    # Coral's feedback on a moderator's rejection (its "send feedback" setting).
    suggest = (
        b'{"comment":{"text":"You are a stupid worthless idiot, shut up."},"context":{"entries":'
        b'[{"text":"{\\"url\\":\\"https://news.example/story-1?commentID=c-1\\",'
        b'\\"Coral_comment_id\\":\\"c-1\\"}"}]},"attributeScores":{"TOXICITY":{"summaryScore":'
        b'{"value":1}}},"languages":["en"],"communityId":"Coral:https://news.example",'
        b'"clientToken":"comment:c-1"}'
    )
    status, content = _raw_post(
        base,
        f"/v1alpha1/comments:suggestscore?key={key}",
        suggest,
        {"Content-Type": "application/json", "User-Agent": "Coral Perspective/9.0.0"},
        transcript,
    )
    assert status == 200 and json.loads(content)["clientToken"] == "comment:c-1"

    # 2. The external moderation phase: JSON.stringify(request, null, 2), signed.
    with session_scope() as session:
        row = session.get(Site, site.id)
        assert row is not None
        secret = rotate_coral_secret(session=session, site=row, actor="test")
    phase = (
        b'{\n  "action": "NEW",\n  "comment": {\n    "body": "You are a stupid worthless idiot, '
        b'shut up.",\n    "parentID": null\n  },\n  "author": {\n    "id": "user-7",\n'
        b'    "role": "COMMENTER"\n  },\n  "story": {\n    "id": "story-1",\n'
        b'    "url": "https://news.example/story-1"\n  },\n  "site": {\n    "id": "site-1"\n'
        b'  },\n  "tenantID": "tenant-1",\n  "tenantDomain": "comments.news.example"\n}'
    )
    signature = "sha256=" + hmac.new(secret.encode(), phase, hashlib.sha256).hexdigest()
    status, content = _raw_post(
        base,
        f"/v1/integrations/coral/{site.name}",
        phase,
        {
            "Content-Type": "application/json",
            "X-Coral-Signature": signature,
            "User-Agent": "Coral Moderation/9.0.0",
        },
        transcript,
    )
    assert status == 200
    verdict = json.loads(content)
    assert verdict["status"] in ("REJECTED", "SYSTEM_WITHHELD")
    with session_scope() as session:
        stored = session.scalars(select(Comment).where(Comment.site_id == site.id)).one()
        assert (stored.article_id, stored.author_id) == ("story-1", "user-7")
        assert (
            stored.status == {"REJECTED": "rejected", "SYSTEM_WITHHELD": "held"}[verdict["status"]]
        )
        assert session.scalars(
            select(AuditEvent.to_status).where(AuditEvent.comment_id == stored.id)
        ).all() == [stored.status]
