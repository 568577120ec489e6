"""The Perspective/Coral benchmark's machinery at a tiny scale: every figure is measured and
every request answered 2xx. No assertion on speed (see test_harness.py)."""

import json
from pathlib import Path

import pytest

from bench import integrations

BENCH_TEST_REDIS_DB = 10


@pytest.mark.integration
def test_the_integrations_bench_measures_every_path(tmp_path: Path) -> None:
    results = integrations.run(1.0, 20, 2, tmp_path, calls=100, redis_db=BENCH_TEST_REDIS_DB)
    for name in ("analyze_open", "analyze_closed", "coral_open", "coral_closed"):
        run = results[name]
        assert run["sent"] > 0 and run["ok"] == run["sent"], (name, run["statuses"])
        assert run["latency_ms"]["p99"] is not None
    assert results["api_rss_mib"]["with_model"] > results["api_rss_mib"]["before_model"]
    printed = integrations.report(results)
    assert "analyze at 20/s" in printed and "coral saturation" in printed
    assert json.loads(Path(results["path"]).read_text())["rate"] == 20
