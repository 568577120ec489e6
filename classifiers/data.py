"""Reading labelled comments and mapping each data set's labels onto the service's attributes.

The attributes are Perspective API's production set (:data:`classifiers.model.LABELS`). A target
is a probability-like value in [0, 1] (the share of annotators who said so, where a data set
gives per-annotator labels) or -1 when the source says nothing about that attribute; such rows
are left out of that attribute's fit, calibration and metrics. Metrics count a target >= 0.5
as positive.

| source / attribute          | toxicity | severe | identity_attack | insult | profanity | threat |
|-----------------------------|----------|--------|-----------------|--------|-----------|--------|
| Davidson hate speech        | 1        | 1      | 1               | 1      | lexicon   | -1     |
| Davidson offensive          | 1        | 0      | 0               | -1     | lexicon   | -1     |
| Davidson neither            | 0        | 0      | 0               | 0      | lexicon   | 0      |
| OLID OFF, TIN, IND or OTH   | 1        | -1     | 0               | 1      | lexicon   | -1     |
| OLID OFF, TIN, GRP          | 1        | -1     | -1              | 1      | lexicon   | -1     |
| OLID OFF, UNT               | 1        | 0      | 0               | 0      | lexicon   | 0      |
| OLID NOT                    | 0        | 0      | 0               | 0      | lexicon   | 0      |
| HatEval 1                   | 1        | -1     | 1               | 1      | lexicon   | -1     |
| HatEval 0, no abusive word  | 0        | 0      | 0               | -1     | lexicon   | -1     |
| HatEval 0, abusive word     | -1       | -1     | 0               | -1     | lexicon   | -1     |
| Stormfront hate             | 1        | -1     | 1               | 1      | lexicon   | -1     |
| Stormfront noHate           | 0        | 0      | 0               | 0      | lexicon   | 0      |
| Stormfront relation         | -1       | -1     | -1              | -1     | lexicon   | -1     |
| civil_spans (news comments) | s(any)   | sev    | s(identity)     | s(ins) | lex|s(prof)| s(thr) |

civil_spans gives every annotator's spans with a type: s(T) is the share of the comment's
annotators who marked at least one span of type T ("Identity based Attack", "Insult",
"Profane/Obscene", "Threat"; an empty or cut type counts only for s(any)), s(any) the share
who marked any span; lex|s(prof) = max(lexicon, s(profane)); sev = max(s(threat),
s(identity), min(s(insult), s(profane))): a threat, an attack on who someone is, or an insult
laced with obscenity. A plain insult ("you're an idiot") is toxic but not severe, which is
what lets the default policy hold it instead of rejecting it. The gold spans (for span F1)
are the characters at least half of the annotators marked, as in SemEval-2021 task 5.

Why the -1s: HatEval's "not hate" still holds plenty of abuse (it only rules out hate against
immigrants and women), so it is a toxicity negative only when it has no word of the
insult/profanity lexicon; without those clean rows "immigrant" itself looked toxic. OLID's GRP
target mixes identity groups with political ones ("liberals"), so it says nothing certain about
identity attacks (marking it 1 would teach the model to reject criticism of a party). OLID's
untargeted offence (UNT) is profanity aimed at no one: not severe, not an attack, not a threat.
Stormfront "relation" is hateful only with its neighbours. Davidson "offensive" is mostly
slurs-as-banter and profanity, not always aimed at a person; its "hate speech" class is
slur-laden and counted severe. No source but civil_spans labels threats; generated sentences
(:mod:`classifiers.violence`) add threats and self-harm incitement ("kys", "go kill yourself"),
which count as severe, and everyday uses of violent words as negatives. ``idk/skip`` Stormfront
rows are dropped. ``insult`` follows OLID's targeted offence (an insult or threat aimed at an
individual, a group or others), so hate speech, which targets a group, is a positive too.
No source but civil_spans labels profanity, so elsewhere it is weakly supervised: 1 when the
normalised comment contains a word of :data:`classifiers.lexicon.PROFANE_WORDS`.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zlib import crc32

from classifiers.lexicon import PROFANE_WORDS, REPAIR_WORDS
from classifiers.model import LABEL_ALIASES, LABELS, UNKNOWN, canonical_label
from classifiers.normalize import tokenize

DEFAULT_DATA_DIR = Path("/work/shared/data")
SOURCES: tuple[str, ...] = ("davidson", "olid", "hateval", "stormfront", "civil_spans")

# Deterministic split by a salted hash of the text's letters and digits: duplicates and retweets
# of the same text always fall in the same split, so the held-out figures are not inflated.
SPLIT_SALT = "moderation-split-v1"
SPLITS = {"train": (0, 80), "calibration": (80, 90), "validation": (90, 100)}

_U = UNKNOWN


@dataclass(frozen=True)
class LabelledComment:
    text: str
    source: str
    # In LABELS order: a value in [0, 1] (a share of annotators, or 0/1), or -1 for unknown.
    targets: tuple[float, ...]
    # Character spans [start, end) that a majority of annotators marked toxic (civil_spans
    # only; None where the source has no spans).
    spans: tuple[tuple[int, int], ...] | None = None


def profanity_target(text: str) -> int:
    return int(any(token in PROFANE_WORDS for token in tokenize(text)))


def written_row(text: str, source: str, **values: float) -> LabelledComment:
    """A sentence written for this project: the attributes given, profanity from the
    lexicon, every other attribute unknown."""
    values = {canonical_label(k): v for k, v in values.items()}
    values.setdefault("profanity", float(profanity_target(text)))
    unknown = set(values) - set(LABELS)
    if unknown:
        raise ValueError(f"unknown attributes {sorted(unknown)}")
    return LabelledComment(text, source, tuple(float(values.get(k, UNKNOWN)) for k in LABELS))


def _row(
    text: str,
    source: str,
    *,
    toxicity: float,
    severe: float,
    identity: float,
    insult: float,
    threat: float,
) -> LabelledComment:
    values = {
        "toxicity": toxicity,
        "severe_toxicity": severe,
        "identity_attack": identity,
        "insult": insult,
        "profanity": float(profanity_target(text)),
        "threat": threat,
    }
    return LabelledComment(text, source, tuple(values[label] for label in LABELS))


def _has_abusive_word(text: str) -> bool:
    return any(token in REPAIR_WORDS for token in tokenize(text))


_SPLIT_DROP_RE = re.compile(r"@\w+|https?://\S+|\bRT\b|[^a-z0-9]+")


def split_key(text: str) -> str:
    """Lowercase letters and digits only, without mentions, links and "RT": retweets of one
    text share a key. Deliberately independent of the normaliser, so improving normalisation
    does not reshuffle the split."""
    return _SPLIT_DROP_RE.sub("", text.replace("RT ", " ").lower())


def split_of(text: str) -> str:
    bucket = crc32((SPLIT_SALT + split_key(text)).encode()) % 100
    for name, (low, high) in SPLITS.items():
        if low <= bucket < high:
            return name
    raise AssertionError("unreachable")


def read_davidson(data_dir: Path) -> Iterator[LabelledComment]:
    with (data_dir / "davidson" / "labeled_data.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            cls, text = int(row["class"]), row["tweet"]
            if cls == 0:
                yield _row(text, "davidson", toxicity=1, severe=1, identity=1, insult=1, threat=_U)
            elif cls == 1:
                yield _row(text, "davidson", toxicity=1, severe=0, identity=0, insult=_U, threat=_U)
            else:
                yield _row(text, "davidson", toxicity=0, severe=0, identity=0, insult=0, threat=0)


def read_olid(data_dir: Path) -> Iterator[LabelledComment]:
    path = data_dir / "olid" / "olid-training-v1.0.tsv"
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for row in reader:
            if len(row) < 4:
                continue
            text, a, b = row[1], row[2], row[3]
            target = row[4].strip() if len(row) > 4 else "NULL"
            if a != "OFF":
                yield _row(text, "olid", toxicity=0, severe=0, identity=0, insult=0, threat=0)
            elif b == "TIN":
                identity = _U if target == "GRP" else 0
                yield _row(
                    text, "olid", toxicity=1, severe=_U, identity=identity, insult=1, threat=_U
                )
            else:
                yield _row(text, "olid", toxicity=1, severe=0, identity=0, insult=0, threat=0)


def read_hateval(data_dir: Path) -> Iterator[LabelledComment]:
    for part in ("train", "val"):
        texts = (data_dir / "hateval" / f"{part}_text.txt").read_text(encoding="utf-8")
        labels = (data_dir / "hateval" / f"{part}_labels.txt").read_text(encoding="utf-8")
        for text, label in zip(texts.split("\n"), labels.split("\n"), strict=False):
            if not label.strip() or not text.strip():
                continue
            if int(label) == 1:
                yield _row(text, "hateval", toxicity=1, severe=_U, identity=1, insult=1, threat=_U)
            elif _has_abusive_word(text):
                yield _row(
                    text, "hateval", toxicity=_U, severe=_U, identity=0, insult=_U, threat=_U
                )
            else:
                yield _row(text, "hateval", toxicity=0, severe=0, identity=0, insult=_U, threat=_U)


def read_stormfront(data_dir: Path) -> Iterator[LabelledComment]:
    path = data_dir / "stormfront" / "stormfront_sentences.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            label, text = row["label"], row["text"]
            if label == "hate":
                yield _row(
                    text, "stormfront", toxicity=1, severe=_U, identity=1, insult=1, threat=_U
                )
            elif label == "noHate":
                yield _row(text, "stormfront", toxicity=0, severe=0, identity=0, insult=0, threat=0)
            elif label == "relation":
                yield _row(
                    text, "stormfront", toxicity=_U, severe=_U, identity=_U, insult=_U, threat=_U
                )


# civil_spans span types; an empty, cut ("Insu") or "Other Toxicity" type counts as untyped.
_SPAN_TYPES = {
    "Insult": "insult",
    "Profane/Obscene": "profane",
    "Identity based Attack": "identity",
    "Threat": "threat",
}


def _span_type(raw: str) -> str | None:
    return _SPAN_TYPES.get(raw.strip())


def majority_spans(marked: list[list[tuple[int, int]]], length: int) -> tuple[tuple[int, int], ...]:
    """Character ranges that at least half of the annotators included in one of their spans
    (the SemEval-2021 toxic spans ground truth)."""
    if not marked:
        return ()
    votes = [0] * (length + 1)
    for spans in marked:
        covered = [0] * (length + 1)
        for begin, end in spans:
            begin, end = max(0, begin), min(length, end)
            if begin < end:
                covered[begin] += 1
                covered[end] -= 1
        depth = 0
        for i in range(length):
            depth += covered[i]
            if depth > 0:
                votes[i] += 1
    need = len(marked) / 2
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i in range(length + 1):
        inside = i < length and votes[i] >= need
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            out.append((start, i))
            start = None
    return tuple(out)


def read_civil_spans(data_dir: Path) -> Iterator[LabelledComment]:
    folder = data_dir / "civil_spans"
    with (folder / "comments.csv").open(newline="", encoding="utf-8") as fh:
        texts = {row["comment_id"]: row["comment_text"] for row in csv.DictReader(fh)}
    annotations: dict[str, list[str]] = defaultdict(list)
    with (folder / "annotations.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            annotations[row["comment_id"]].append(row["annotation"])
    spans: dict[str, list[tuple[str | None, int, int]]] = defaultdict(list)
    with (folder / "spans.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            spans[row["annotation"]].append(
                (_span_type(row["type"]), int(row["start"]), int(row["end"]))
            )
    for comment_id, text in texts.items():
        marks = annotations.get(comment_id)
        if not marks:
            continue
        n = len(marks)
        typed: dict[str, float] = defaultdict(float)
        toxic = 0
        for annotation in marks:
            found = spans.get(annotation, [])
            toxic += bool(found)
            for kind in {t for t, _, _ in found if t is not None}:
                typed[kind] += 1 / n
        share = toxic / n
        severe = max(typed["threat"], typed["identity"], min(typed["insult"], typed["profane"]))
        values = {
            "toxicity": share,
            "severe_toxicity": severe,
            "identity_attack": typed["identity"],
            "insult": typed["insult"],
            "profanity": max(float(profanity_target(text)), typed["profane"]),
            "threat": typed["threat"],
        }
        gold = majority_spans([[(s, e) for _, s, e in spans.get(a, [])] for a in marks], len(text))
        yield LabelledComment(
            text, "civil_spans", tuple(round(values[label], 4) for label in LABELS), gold
        )


READERS = {
    "davidson": read_davidson,
    "olid": read_olid,
    "hateval": read_hateval,
    "stormfront": read_stormfront,
    "civil_spans": read_civil_spans,
}


def read_shared(
    data_dir: Path = DEFAULT_DATA_DIR, sources: tuple[str, ...] = SOURCES
) -> list[LabelledComment]:
    """The shared data sets (all of them by default) with labels mapped onto :data:`LABELS`."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"shared data directory {data_dir} not found")
    rows: list[LabelledComment] = []
    for source in sources:
        rows.extend(READERS[source](data_dir))
    return rows


def _parse_target(value: object) -> float:
    if value is None or value == "":
        return UNKNOWN
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return min(1.0, max(0.0, float(value)))
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "toxic", "off", "hate", "pos", "positive"}:
        return 1.0
    if text in {"0", "false", "no", "not", "nothate", "neg", "negative", "clean"}:
        return 0.0
    try:
        return min(1.0, max(0.0, float(text)))
    except ValueError as exc:
        raise ValueError(f"cannot read label {value!r}; use 0/1 or a share in [0, 1]") from exc


def read_labelled_file(path: Path, source: str | None = None) -> list[LabelledComment]:
    """A CSV (header) or JSONL file with a ``text`` (or ``body``/``comment``) field and either a
    ``label`` field (taken as ``toxicity``) or one column per attribute name (``hate`` is read
    as ``identity_attack``)."""
    source = source or path.stem
    records: list[dict[str, object]]
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        with path.open(encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
    else:
        with path.open(newline="", encoding="utf-8") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            dialect = csv.Sniffer().sniff(sample, delimiters=",\t;") if sample else csv.excel
            records = list(csv.DictReader(fh, dialect=dialect))
    rows: list[LabelledComment] = []
    profanity = LABELS.index("profanity")
    for record in records:
        text = next((record[k] for k in ("text", "body", "comment") if k in record), None)
        if not isinstance(text, str):
            raise ValueError(f"{path}: every record needs a text, body or comment field")
        for alias, label in LABEL_ALIASES.items():
            if alias in record and label not in record:
                record[label] = record[alias]
        targets = [_parse_target(record.get(label)) for label in LABELS]
        if "label" in record and targets[0] == UNKNOWN:
            targets[0] = _parse_target(record["label"])
        if targets[profanity] == UNKNOWN:
            targets[profanity] = float(profanity_target(text))
        rows.append(LabelledComment(text, source, tuple(targets)))
    return rows
