"""Speed, latency, memory and size of the model beside alt-profanity-check, in one run."""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from classifiers.model import ToxicityModel
from classifiers.persist import DEFAULT_MODEL_PATH

# Comment-like sentences for a data-free clone. Built from fragments so that the benchmark sees
# a realistic spread of vocabulary rather than one sentence repeated.
_OPENERS = ("I think", "Honestly,", "Great article,", "Sorry but", "lol", "Well", "As usual", "")
_MIDDLES = (
    "the mayor got this completely wrong",
    "this is the best piece on the election so far",
    "you are an idiot and should stop writing",
    "the new bridge will cost far more than they say",
    "what a load of crap from this paper",
    "my kids go to that school and the teachers are great",
    "who even pays for this nonsense",
    "shut up already, nobody cares",
    "the photos from the festival are lovely",
    "thanks for reporting on the flooding in our street",
)
_CLOSERS = ("", "!", "?", " :)", " smh", " 🙄", " #news", " http://example.com/x", " @editor")


def synthetic_comments(n: int, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = f"{rng.choice(_OPENERS)} {rng.choice(_MIDDLES)}{rng.choice(_CLOSERS)}".strip()
        # A numbered word keeps texts distinct without changing their length much.
        out.append(f"{text} #{i}" if i % 3 == 0 else text)
    return out


def benchmark_texts(n: int, data_dir: Path | None) -> tuple[list[str], list[str], str]:
    """(timed texts, warm-up texts, description).

    With the shared data: the timed texts are held-out comments (calibration + validation
    splits, each used once) and the warm-up is the whole training split, like a worker
    that has already scored a day's traffic. Without it: synthetic comments.
    """
    if data_dir is not None and data_dir.is_dir():
        from classifiers.data import read_shared, split_of

        by_split: dict[str, list[str]] = {"train": [], "calibration": [], "validation": []}
        for row in read_shared(data_dir):
            if len(row.text) <= 280:
                by_split[split_of(row.text)].append(row.text)
        held_out = list(dict.fromkeys(by_split["calibration"] + by_split["validation"]))[:n]
        warm = by_split["train"]
        if held_out:
            return held_out, warm, f"{len(held_out)} distinct held-out comments, each once"
    return synthetic_comments(n), synthetic_comments(2000, seed=1), "synthetic comments"


@dataclass(frozen=True)
class SpeedResult:
    name: str
    throughput: float  # comments/s, batched, wall clock
    cpu_throughput: float  # comments/s per CPU-second: what one core sustains without contention
    latency_median_ms: float
    latency_p99_ms: float


def _measure(
    name: str,
    score: Callable[[Sequence[str]], object],
    texts: Sequence[str],
    batch_size: int,
    single: Sequence[str],
) -> SpeedResult:
    score(["warm up"])  # lazy arrays
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch_size):
        score(texts[i : i + batch_size])
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    timings = []
    for text in single:
        t0 = time.perf_counter()
        score([text])
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    return SpeedResult(
        name=name,
        throughput=len(texts) / elapsed,
        cpu_throughput=len(texts) / cpu,
        latency_median_ms=statistics.median(timings),
        latency_p99_ms=timings[int(0.99 * (len(timings) - 1))],
    )


def _cold_throughput(model: ToxicityModel, texts: Sequence[str], batch_size: int) -> float:
    """Throughput when no chunk or token has been seen: the worst case after a restart."""
    from classifiers.normalize import clear_cache

    clear_cache()
    model.vectorizer_.__dict__.pop("_token_cache", None)
    gc.collect()
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        model.score_matrix(texts[i : i + batch_size])
    return len(texts) / (time.perf_counter() - start)


_FILL_CACHES = """
import random
r = random.Random(0)
letters = "abcdefghijklmnopqrstuvwxyz"
words = ["".join(r.choices(letters, k=r.randint(3, 10))) for _ in range(250_000)]
texts = [" ".join(words[i : i + 15]) for i in range(0, len(words), 15)]
for i in range(0, len(texts), 1024):
    m.score_matrix(texts[i : i + 1024])
"""

_RSS_SNIPPET = """
import json, os, sys, psutil
before = psutil.Process().memory_info().rss
{load}
after = psutil.Process().memory_info().rss
print(json.dumps({{"rss": after, "before": before}}))
"""


def _rss_mb(load: str) -> float | None:
    """Resident size of a fresh interpreter after running ``load`` (nothing else imported)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_SNIPPET.format(load=load)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["rss"]) / 2**20


def run_benchmark(
    n: int = 50_000,
    batch_size: int = 1024,
    data_dir: Path | None = Path("/work/shared/data"),
    model_path: Path = DEFAULT_MODEL_PATH,
) -> str:
    from classifiers.persist import load_model

    texts, warm, origin = benchmark_texts(n, data_dir)
    model = load_model(model_path)
    cold = _cold_throughput(model, texts, batch_size)
    # Warm the caches on *other* comments, so the timed ones are not all cache hits.
    model.vectorizer_.__dict__.pop("_token_cache", None)
    from classifiers.normalize import clear_cache

    clear_cache()
    for i in range(0, len(warm), batch_size):
        model.score_matrix(warm[i : i + batch_size])
    single = texts[:: max(1, len(texts) // 2000)][:2000]
    results = [_measure(model.version, model.score_matrix, texts, batch_size, single)]
    load = f"from classifiers.persist import load_model; m = load_model({str(model_path)!r}); "
    rss = {model.version: _rss_mb(load + "m.score_matrix(['warm up']); m.explain('warm up')")}
    # Worst case for a long-running worker: caches filled to their bounds with new words.
    rss_full = _rss_mb(load + _FILL_CACHES)
    try:
        from profanity_check import predict_prob

        results.append(_measure("alt-profanity-check", predict_prob, texts, batch_size, single))
        rss["alt-profanity-check"] = _rss_mb(
            "from profanity_check import predict_prob; predict_prob(['warm up'])"
        )
    except ImportError:
        pass
    size = model_path.stat().st_size / 2**20
    card = model_path.with_suffix(".json")
    ours = results[0]
    lines = [
        f"texts: {len(texts)} ({origin}), batch size {batch_size}, one process, "
        f"{os.cpu_count()} cores visible, load average {os.getloadavg()[0]:.1f} "
        "(wall-clock figures suffer when other work shares the cores)",
        f"{'model':<28} {'comments/s':>11} {'per CPU-s':>10} {'x apc':>6} {'single p50 ms':>14} "
        f"{'p99 ms':>7} {'RSS MB':>7}",
    ]
    baseline = results[-1] if len(results) > 1 else None
    for r in results:
        ratio = f"{r.cpu_throughput / baseline.cpu_throughput:.2f}" if baseline else "-"
        rss_value = rss.get(r.name)
        rss_text = f"{rss_value:.0f}" if rss_value is not None else "?"
        lines.append(
            f"{r.name:<28} {r.throughput:>11,.0f} {r.cpu_throughput:>10,.0f} {ratio:>6} "
            f"{r.latency_median_ms:>14.3f} "
            f"{r.latency_p99_ms:>7.3f} {rss_text:>7}"
        )
    lines.append(
        f"{model.version}: {cold:,.0f} comments/s cold (right after loading: every word new)"
    )
    if rss_full is not None:
        lines.append(f"{model.version}: RSS {rss_full:.0f} MB with its word caches full")
    lines.append(
        f"model file: {size:.2f} MB ({model_path.name})"
        + (f" + card {card.stat().st_size / 1024:.1f} KB" if card.is_file() else "")
    )
    targets = [
        f"throughput >= 20,000/s (per CPU-second): "
        f"{'PASS' if ours.cpu_throughput >= 20_000 else 'FAIL'}",
        f"single latency < 2 ms: {'PASS' if ours.latency_median_ms < 2 else 'FAIL'}",
        f"RSS <= 300 MB: {'PASS' if (rss[model.version] or 1e9) <= 300 else 'FAIL'}",
        f"size <= 25 MB: {'PASS' if size <= 25 else 'FAIL'}",
    ]
    lines.append("targets: " + "; ".join(targets))
    return "\n".join(lines)
