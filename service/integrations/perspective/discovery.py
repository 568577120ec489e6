"""A discovery document for the commentanalyzer v1alpha1 API whose rootUrl is this server,
so that Google's discovery-based clients (google-api-python-client and its kin) work
unchanged: they read the methods' paths and the shapes of the bodies from here."""

from typing import Any

API = "commentanalyzer"
VERSION = "v1alpha1"


def _object(description: str, **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": name}


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _map_of(name: str, description: str) -> dict[str, Any]:
    return {"type": "object", "description": description, "additionalProperties": _ref(name)}


def _list_of(item: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "description": description, "items": item}


_SCHEMAS: dict[str, dict[str, Any]] = {
    "TextEntry": _object(
        "A piece of text and how it is written.",
        text=_string("The text."),
        type={
            **_string("PLAIN_TEXT (default) or HTML."),
            "enum": ["TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML"],
        },
    ),
    "ArticleAndParentComment": _object(
        "The article a comment belongs to and the comment it answers.",
        article=_ref("TextEntry"),
        parentComment=_ref("TextEntry"),
    ),
    "Context": _object(
        "What the comment was written in reply to (accepted, not used for scoring).",
        entries=_list_of(_ref("TextEntry"), "Texts around the comment."),
        articleAndParentComment=_ref("ArticleAndParentComment"),
    ),
    "AttributeParameters": _object(
        "How to answer one attribute.",
        scoreType=_string("PROBABILITY, the only type this server answers."),
        scoreThreshold={
            "type": "number",
            "format": "float",
            "description": "Scores below this are left out.",
        },
    ),
    "Score": _object(
        "A score.",
        value={"type": "number", "format": "float", "description": "Between 0 and 1."},
        type=_string("PROBABILITY."),
    ),
    "SpanScore": _object(
        "The score of one span of the comment; offsets in UTF-16 code units, end exclusive.",
        begin={"type": "integer", "format": "int32", "description": "First code unit."},
        end={"type": "integer", "format": "int32", "description": "One past the last."},
        score=_ref("Score"),
    ),
    "AttributeScores": _object(
        "One attribute's scores.",
        summaryScore=_ref("Score"),
        spanScores=_list_of(_ref("SpanScore"), "Spans that raised the score."),
    ),
    "AnalyzeCommentRequest": _object(
        "A comment to score.",
        comment=_ref("TextEntry"),
        context=_ref("Context"),
        requestedAttributes=_map_of("AttributeParameters", "Attribute name to parameters."),
        languages=_list_of(_string("ISO 639-1 code."), "Languages the comment is in."),
        doNotStore={"type": "boolean", "description": "Keep nothing of the text."},
        spanAnnotations={"type": "boolean", "description": "Also score spans of the text."},
        clientToken=_string("Echoed back."),
        sessionId=_string("Accepted, not used."),
        communityId=_string("Accepted, not used."),
        dropUnsupportedAttributes={
            "type": "boolean",
            "description": "Leave out attributes this model lacks.",
        },
    ),
    "AnalyzeCommentResponse": _object(
        "The scores.",
        attributeScores=_map_of("AttributeScores", "Attribute name to its scores."),
        languages=_list_of(_string("ISO 639-1 code."), "Languages scored in."),
        detectedLanguages=_list_of(_string("ISO 639-1 code."), "Languages detected."),
        clientToken=_string("As sent."),
    ),
    "SuggestCommentScoreRequest": _object(
        "A score the caller believes right for a comment; kept as labelled feedback.",
        comment=_ref("TextEntry"),
        context=_ref("Context"),
        attributeScores=_map_of("AttributeScores", "Attribute name to the suggested score."),
        languages=_list_of(_string("ISO 639-1 code."), "Languages the comment is in."),
        communityId=_string("Accepted, not used."),
        clientToken=_string("Echoed back."),
        sessionId=_string("Accepted, not used."),
    ),
    "SuggestCommentScoreResponse": _object(
        "The suggestion was stored.",
        clientToken=_string("As sent."),
        detectedLanguages=_list_of(_string("ISO 639-1 code."), "Languages detected."),
        requestedLanguages=_list_of(_string("ISO 639-1 code."), "Languages as sent."),
    ),
}

for _name, _schema in _SCHEMAS.items():
    _schema["id"] = _name


def _method(name: str, request: str, response: str, description: str) -> dict[str, Any]:
    path = f"{VERSION}/comments:{name}"
    return {
        "id": f"{API}.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "description": description,
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request),
        "response": _ref(response),
    }


def discovery_document(root_url: str) -> dict[str, Any]:
    """The document, pointing clients at root_url (this server, ending in "/")."""
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"{API}:{VERSION}",
        "name": API,
        "version": VERSION,
        "revision": "1",
        "title": "Comment moderation: Perspective-compatible comment analyzer",
        "description": "Scores comments with this server's own classifier, in the wire "
        "format of Perspective's commentanalyzer v1alpha1.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": {
            "key": {
                "type": "string",
                "location": "query",
                "description": "The site's key (or send it as a Bearer token).",
            },
            "alt": {
                "type": "string",
                "location": "query",
                "default": "json",
                "enum": ["json"],
                "description": "Data format of the response.",
            },
            "prettyPrint": {
                "type": "boolean",
                "location": "query",
                "default": "true",
                "description": "Accepted, ignored.",
            },
            "fields": {"type": "string", "location": "query", "description": "Accepted, ignored."},
            "$.xgafv": {
                "type": "string",
                "location": "query",
                "enum": ["1", "2"],
                "description": "Accepted, ignored.",
            },
        },
        "schemas": _SCHEMAS,
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                        "Scores a comment for the requested attributes.",
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                        "Stores a suggested score for a comment as labelled feedback.",
                    ),
                }
            }
        },
    }
