"""Load and rebuild under load (slow): `bench/load.py` against a real server on loopback.

50 clients ask mixed questions for 60 s; meanwhile a new index version (a changed document) is
built and published. Every response must be 200 and valid against the schema, the responses must
switch to the new version, and no response may mix versions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import bench, report

pytestmark = pytest.mark.slow


def test_50_clients_for_60_seconds_with_a_rebuild_published_under_load(
    tmp_path: Path, shared: Path
) -> None:
    summary = bench(clients=50, seconds=60, workdir=tmp_path, rebuild_at=10)
    print(report(summary))
    assert summary["requests"] >= 500 and summary["duration_s"] >= 60
    assert summary["errors"] == 0, summary["error_samples"]  # includes schema failures
    # both versions answered, in order, and the rebuild published during the run
    assert summary["versions_switched"] == 1
    old, new = summary["version_order"]
    assert summary["versions"][old] > 0 and summary["versions"][new] > 0
    (rebuild,) = summary["rebuilds"]
    assert "published index version" in rebuild["output"] and new in rebuild["output"]
    # once the new version answered, no request sent later got the old one
    assert summary["stale"] == 0
    # every quoted sentence and passage is the text of the version its response names
    assert summary["mixed"] == 0 and summary["checked_quotes"] > summary["requests"]
    assert summary["probe_rounds"] == {old: ["one"], new: ["two"]}
    for name in ("p50", "p90", "p95", "p99", "max"):
        assert summary["latency_ms"][name] > 0
