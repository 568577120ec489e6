"""``python -m bench.integrations``: the in-request paths, Perspective's comments:analyze and
Coral's external moderation phase, against one API process on a real stack.

Each is run open-loop at 200 requests/s (latency from the scheduled send time) and closed-loop
at saturation, and compared with the classifier alone per call (one comment, `score([text])`,
in a process of its own, measured in the same run before and after the load). Also reported:
what the model costs the API process in memory (its RSS before and after the first scored
request). Target: p99 <= 25 ms at 200 requests/s.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from bench.run import _python_json, log
from bench.stack import ROOT, Stack
from bench.texts import comment_bodies

TARGET_P99_MS = 25.0


def _raw(port: int, path: str, body: bytes, headers: dict[str, str]) -> str:
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(head) + body.decode("utf-8")


def analyze_requests(port: int, key: str, bodies: list[str]) -> list[str]:
    """What Coral's Perspective client sends (one attribute, doNotStore)."""
    return [
        _raw(
            port,
            f"/v1alpha1/comments:analyze?key={key}",
            orjson.dumps(
                {
                    "comment": {"text": text},
                    "doNotStore": True,
                    "requestedAttributes": {"TOXICITY": {}},
                    "languages": ["en"],
                }
            ),
            {},
        )
        for text in bodies
    ]


def coral_requests(port: int, site: str, secret: str, bodies: list[str], count: int) -> list[str]:
    """Distinct signed phase calls (each a new comment, as on a live site), pretty-printed."""
    requests = []
    for index in range(count):
        body = json.dumps(
            {
                "action": "NEW",
                "comment": {"body": bodies[index % len(bodies)], "parentID": None},
                "author": {"id": f"reader-{index % 997}", "role": "COMMENTER"},
                "story": {"id": f"story-{index}", "url": f"https://news.example/{index}"},
                "site": {"id": "bench"},
                "tenantID": "bench",
                "tenantDomain": "bench.example",
            },
            indent=2,
        ).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        requests.append(
            _raw(port, f"/v1/integrations/coral/{site}", body, {"X-Coral-Signature": signature})
        )
    return requests


def classifier_per_call(count: int) -> dict[str, Any]:
    """In a subprocess of this run: the model's own time for one comment at a time."""
    code = (
        "import json, sys, time\n"
        "from classifiers import load_default_model\n"
        "from bench.texts import comment_bodies\n"
        "model = load_default_model()\n"
        "texts = comment_bodies(500)\n"
        "for t in texts[:50]: model.score([t])\n"
        "took = []\n"
        f"for i in range({count}):\n"
        "    t = texts[i % len(texts)]; s = time.perf_counter(); model.score([t])\n"
        "    took.append(time.perf_counter() - s)\n"
        "took.sort(); n = len(took)\n"
        "print(json.dumps({'p50_ms': took[n // 2] * 1000, 'p99_ms': took[int(n * 0.99)] * 1000,"
        " 'per_second': n / sum(took)}))\n"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(out.stdout))


def run(
    seconds: float, rate: int, connections: int, out: Path, *, calls: int = 3000, redis_db: int = 13
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "load_average_at_start": os.getloadavg(),
    }
    bodies = comment_bodies(500)
    with Stack(redis_db=redis_db) as stack:
        site = f"bench-{stack.label}"
        secret = next(
            line.split(": ", 1)[1]
            for line in stack._moderation_cli("site", "coral-secret", site).splitlines()
            if line.startswith("coral signing secret:")
        )
        api, port = stack.start_api(1)
        server = psutil.Process(api.popen.pid)
        # `moderation serve` with one process serves in the process it starts.
        rss_before = server.memory_info().rss
        first = httpx.post(
            f"http://127.0.0.1:{port}/v1alpha1/comments:analyze",
            params={"key": stack.site_key},
            json={"comment": {"text": "warm up"}, "requestedAttributes": {"TOXICITY": {}}},
            timeout=60,
        )
        first.raise_for_status()
        results["api_rss_mib"] = {
            "before_model": rss_before / 2**20,
            "with_model": server.memory_info().rss / 2**20,
        }
        log("classifier alone, one comment per call")
        results["classifier_before"] = classifier_per_call(calls)
        total = int(rate * seconds) + 2000
        paths = {
            "analyze": analyze_requests(port, stack.site_key, bodies),
            "coral": coral_requests(port, site, secret, bodies, 2 * total),
        }
        offset = 0
        for name, requests in paths.items():
            for mode in ("open", "closed"):
                log(f"{name}: {f'{rate} req/s' if mode == 'open' else 'saturation'}")
                # Coral calls are each a new comment: every run takes fresh ones.
                chunk = requests[offset : offset + total] if name == "coral" else requests
                if name == "coral":
                    offset += total
                spec = {
                    "port": port,
                    "path": "",
                    "headers": {},
                    "mode": mode,
                    "rate": rate,
                    "duration_seconds": seconds,
                    "connections": connections if mode == "closed" else 64,
                    "bodies": [],
                    "label": f"{name}-{mode}",
                    "requests": chunk,
                    "max_requests": total,
                    "deadline_seconds": seconds + 10,
                }
                results[f"{name}_{mode}"] = _python_json(
                    "bench.loadgen", [], spec, os.environ.copy(), timeout=seconds + 60
                )
                time.sleep(1)
        results["classifier_after"] = classifier_per_call(calls)
        stack.stop(api)
    results["load_average_at_end"] = os.getloadavg()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"integrations-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    results["path"] = str(path)
    return results


def report(results: dict[str, Any]) -> str:
    alone = [results["classifier_before"], results["classifier_after"]]
    p50_alone = sum(r["p50_ms"] for r in alone) / 2
    p99_alone = sum(r["p99_ms"] for r in alone) / 2
    lines = [
        f"classifier alone, one comment per call: p50 {p50_alone:.2f} ms, p99 {p99_alone:.2f} ms"
        f" (before {alone[0]['p50_ms']:.2f}/{alone[0]['p99_ms']:.2f},"
        f" after {alone[1]['p50_ms']:.2f}/{alone[1]['p99_ms']:.2f})",
        f"API process RSS: {results['api_rss_mib']['before_model']:.0f} MiB before the model, "
        f"{results['api_rss_mib']['with_model']:.0f} MiB with it",
        "",
        f"{'path':<26}{'ok/sent':>13}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p50 x':>8}{'p99 x':>8}  target",
    ]
    for name in ("analyze", "coral"):
        for mode in ("open", "closed"):
            r = results[f"{name}_{mode}"]
            latency = r["latency_ms"]
            label = f"{name} at {results['rate']}/s" if mode == "open" else f"{name} saturation"
            target = ""
            if mode == "open":
                target = "p99 <= 25 ms: " + ("met" if latency["p99"] <= TARGET_P99_MS else "MISSED")
            lines.append(
                f"{label:<26}{r['ok']:>6}/{r['sent']:<6}{r['throughput']:>9.0f}"
                f"{latency['p50']:>9.2f}{latency['p99']:>9.2f}"
                f"{latency['p50'] / p50_alone:>8.1f}{latency['p99'] / p99_alone:>8.1f}  {target}"
            )
    lines.append(
        f"\nload average {results['load_average_at_start']} -> "
        f"{results['load_average_at_end']}; results: {results['path']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.integrations", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args(argv)
    print(report(run(args.seconds, args.rate, args.connections, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
