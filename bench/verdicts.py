"""Plain-language verdicts for bench/RESULTS.md: each target met or missed, from the JSON only.

Targets come from issue 11 (speed) and the build/quality checks; a figure that was not measured
says so. Nothing here is typed by hand: every number is read from bench/results/*.json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.common import read_json
from index.build import BuildSettings

APP_EF_SEARCH = BuildSettings().hnsw_ef_search
TARGETS = {
    "http_p50_ms": 25.0,  # one client, medquad-all
    "http_p95_ms": 60.0,
    "over_floor": 2.0,  # /ask p50 over the model's one-question encode
    "rps_16": 100.0,  # 16 clients, topical
    "load_p95_ms": 500.0,  # 50 clients during a rebuild
    "ready_s": 3.0,  # serve -> ready, medquad-all
    "rss_mb": 1024.0,  # RSS after questions, medquad-all
    "build_ratio": 0.85,  # build texts/s over raw encode texts/s
    "quality_drop": 0.005,  # largest fall of a fused eval figure against the reference code
}
QUALITY = ("hit@1", "hit@3", "mrr@10", "answered_rate", "abstain_rate")


def mark(ok: bool) -> str:
    """'met' or a bold MISSED."""
    return "met" if ok else "**MISSED**"


def verdicts() -> list[str]:
    """One line per target or notable finding."""
    checks: list[Callable[[], list[str]]] = [
        _latency,
        _concurrency,
        _load,
        _memory,
        _build,
        _sentence_vectors,
        _incremental,
        _peer,
        _quality,
        _ann,
    ]
    lines: list[str] = []
    for check in checks:
        lines += check()
    return lines


def _latency() -> list[str]:
    data = read_json("latency")
    if not data:
        return ["/ask latency: not measured."]
    lines = []
    for size in data.get("missing", []):
        lines.append(f"/ask latency at {size}: **not measured** (no index was built).")
    for size, m in data["sizes"].items():
        http = m["http"]["total"]
        ratio = m["http_p50_over_floor"]
        line = (
            f"/ask over HTTP, one client, {size} ({m['chunks']:,} chunks): "
            f"p50 {http['p50']:.1f} ms, p95 {http['p95']:.1f} ms, errors {m['http']['errors']}; "
            f"p50 = {ratio:.2f}x the "
            f"served encoder's ({m.get('encoder', 'torch')}) one-question encode "
            f"({m['floor']['p50']:.1f} ms{_torch_floor(m)}): "
            f"{mark(ratio <= TARGETS['over_floor'])} (target <= {TARGETS['over_floor']:g}x)"
            f"{_round_trip(m)}"
        )
        if size == "all":
            line += (
                f"; p50 <= {TARGETS['http_p50_ms']:g} ms "
                f"{mark(http['p50'] <= TARGETS['http_p50_ms'])}, p95 <= "
                f"{TARGETS['http_p95_ms']:g} ms {mark(http['p95'] <= TARGETS['http_p95_ms'])}"
            )
        lines.append(line + ".")
    return lines


def _round_trip(m: dict[str, Any]) -> str:
    """How much of /ask's p50 is the bare HTTP round trip (GET /healthz, same client)."""
    if "round_trip" not in m["http"]:
        return ""
    trip = m["http"]["round_trip"]["p50"]
    return (
        f"; a GET /healthz round trip on the same connection takes {trip:.1f} ms p50, so the "
        f"floor plus HTTP alone is {(m['floor']['p50'] + trip) / m['floor']['p50']:.2f}x the floor"
    )


def _torch_floor(m: dict[str, Any]) -> str:
    """The other encoders' times beside an ONNX floor, with /ask p50 over each."""
    others = (("_onnx_fp32", "fp32 ONNX export"), ("_torch", "torch"))  # bench/latency.py keys
    return "".join(
        f"; {name}'s {m[f'floor{suffix}']['p50']:.1f} ms ({m[f'http_p50_over_floor{suffix}']:.2f}x)"
        for suffix, name in others
        if f"floor{suffix}" in m
        and m.get("encoder") != "torch"
        and f"http_p50_over_floor{suffix}" in m
    )


def _concurrency() -> list[str]:
    data = read_json("concurrency")
    if not data:
        return ["16 clients: not measured."]
    lines = []
    for run in data["runs"]:
        for level in run["levels"]:
            if level["clients"] != 16:
                continue
            ok = level["rps"] >= TARGETS["rps_16"] and level["errors"] == 0
            lines.append(
                f"16 clients at {data['chunks']:,} chunks, {run['workers']} server process(es): "
                f"{level['rps']:.1f} req/s, p95 {level['p95']:.0f} ms, {level['errors']} errors: "
                f"{mark(ok)} (target >= {TARGETS['rps_16']:g} req/s, 0 errors)."
            )
    return lines


def _load() -> list[str]:
    data = read_json("load")
    if not data:
        return ["50 clients during a rebuild: not measured."]
    p95 = data["latency_ms"]["p95"]
    switched = data["versions_switched"] >= 1
    ok = p95 <= TARGETS["load_p95_ms"] and data["errors"] == 0 and switched
    return [
        f"{data['clients']} clients during a rebuild: p95 {p95:.0f} ms, {data['errors']} errors, "
        f"{data['stale']} stale, {data['mixed']} mixed, version switch "
        f"{'seen' if switched else '**not seen**'}: {mark(ok)} (target p95 <= "
        f"{TARGETS['load_p95_ms']:g} ms, 0 errors, a switch)."
    ]


def _memory() -> list[str]:
    data = read_json("memory")
    if not data:
        return ["Start-up and memory: not measured."]
    lines = [f"serve -> ready at {name}: **not measured** (no index)." for name in data["missing"]]
    for name, s in data["serve"].items():
        rss = s["after_asks"]["rss_mb"]
        line = (
            f"serve -> ready at {name} ({s['chunks']:,} chunks): "
            f"median {s['ready_s_median']:.2f} s; RSS after {s['asks']} questions {rss:.0f} MB"
        )
        if name == "all":
            line += (
                f": ready {mark(s['ready_s_median'] <= TARGETS['ready_s'])} (target <= "
                f"{TARGETS['ready_s']:g} s), RSS {mark(rss <= TARGETS['rss_mb'])} (target <= "
                f"{TARGETS['rss_mb']:g} MB)"
            )
        lines.append(line + ".")
    return lines


def _build() -> list[str]:
    data = read_json("build_throughput")
    if not data:
        return ["Build throughput: not measured."]
    runs = [r for r in data["rows"] if r["name"].startswith("raw encode")]
    drift = abs(runs[0]["seconds"] - runs[1]["seconds"]) / max(runs[0]["seconds"], 1e-9)
    ratio = data["build_ratio"]
    line = (
        f"Build throughput, every text encoded ({data['texts_encoded']['total']:,} texts): "
        f"{ratio:.0%} of raw encode for the same texts: "
        f"{mark(ratio >= TARGETS['build_ratio'])} (target >= {TARGETS['build_ratio']:.0%})"
    )
    if drift > 0.15:
        line += (
            f"; the two raw encode runs differ by {drift:.0%}, so the machine's load changed "
            "during the run and the ratio is uncertain"
        )
    return [line + "."]


def _sentence_vectors() -> list[str]:
    data = read_json("sentence_vectors")
    if not data:
        return ["Sentence vectors, late vs separate: not measured."]
    late, separate = data["modes"]["late"], data["modes"]["separate"]
    quality = ", ".join(
        f"{name} MRR@10 {late['quality'][name]['mrr@10']:.3f} vs "
        f"{separate['quality'][name]['mrr@10']:.3f}"
        for name in late["quality"]
    )
    return [
        f"Sentence vectors on {data['docs']} documents: late chunking built in "
        f"{late['seconds']:g} s, separate encoding in {separate['seconds']:g} s "
        f"({separate['seconds'] / late['seconds']:.1f}x); cross-fitted answers, late vs "
        f"separate: {quality}."
    ]


def _incremental() -> list[str]:
    data = read_json("incremental")
    if not data:
        return []
    step = data["steps"]["rebuild, one document changed"]
    ok = "only the changed chunks" if data["only_changed_encoded"] else "**MORE than the changed**"
    return [
        f"Incremental rebuild embedded {step['embedded']} of {step['chunks']:,} chunks ({ok} "
        f"were encoded; expected {data['expected_embedded']}), {data['speedup']}x faster."
    ]


def _peer() -> list[str]:
    data = read_json("peer")
    if not data:
        return ["Peer (txtai): not measured."]
    ours = data["systems"]["ours (Answerer.ask)"]
    lines = []
    for name in ("txtai dense", data["best_hybrid"]):
        peer = data["systems"][name]
        figures = ", ".join(
            f"{label} {ours[k]:.3f} vs {peer[k]:.3f} ({_ratio(ours[k], peer[k])})"
            for label, k in (("P@1", "p@1"), ("R@5", "r@5"), ("MRR@10", "mrr@10"))
        )
        speed = ", ".join(
            f"{k} {ours['latency_ms'][k]:.1f} vs {peer['latency_ms'][k]:.1f} ms "
            f"({_ratio(ours['latency_ms'][k], peer['latency_ms'][k])})"
            for k in ("p50", "p95")
        )
        ahead = all(ours[k] >= peer[k] for k in ("p@1", "r@5", "mrr@10"))
        lines.append(
            f"Against {name} on {data['questions']} questions: {figures}: "
            f"{'ahead on all three' if ahead else '**not ahead on all three**'}; latency {speed} "
            "(ours is the whole answer, txtai's a search)."
        )
    return lines


def _ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.2f}x" if peer else "-"


def _quality() -> list[str]:
    data = read_json("quality")
    if not data:
        return ["Quality: not measured."]
    lines = []
    for name, item in data["sets"].items():
        fused = item["modes"].get("fused", {})
        if fused.get("non_verbatim"):
            lines.append(f"**Bad:** {fused['non_verbatim']} non-verbatim answers on {name}.")
    ref: dict[str, Any] = data.get("reference") or {}
    for name, item in data["sets"].items():
        fused = item["modes"]["fused"]
        line = (
            f"Quality, `stemcell-qa eval` fused, {name} ({fused['questions']} questions): "
            f"{_figures(fused)}"
        )
        theirs = ref.get("sets", {}).get(name)
        if theirs is not None:
            line += _against(ref, fused, theirs)
        elif ref.get("error") and name in COMPARED:
            line += f"; not compared: `{ref['ref']}`'s code could not answer ({ref['error']})"
        elif ref and name in COMPARED:
            line += f"; not compared: `{ref['ref']}` was not found"
        lines.append(line + ".")
    return lines


COMPARED = ("seed-dev.jsonl", "medquad-topical-dev.jsonl")


def _figures(m: dict[str, Any]) -> str:
    """The quality figures a set has (no abstain rate without out-of-scope questions)."""
    return ", ".join(f"{k} {m[k]:.3f}" for k in QUALITY if m.get(k) is not None)


def _against(ref: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """The verdict against the reference code's figures on the same index and questions."""
    if ref["same_code"]:
        return f"; the answering code is `{ref['ref']}`'s, so unchanged: met"
    lower = [
        k
        for k in QUALITY
        if ours.get(k) is not None and theirs[k] - ours[k] > TARGETS["quality_drop"]
    ]
    return (
        f"; `{ref['ref']}`'s code ({ref['commit'][:10]}) on the same index and questions: "
        f"{_figures(theirs)}: {mark(not lower)} (target: none more than "
        f"{TARGETS['quality_drop']:g} lower{'; lower: ' + ', '.join(lower) if lower else ''})"
    )


def _ann() -> list[str]:
    data = read_json("ann")
    if not data:
        return []
    wanted = f"HNSW efSearch={APP_EF_SEARCH}"
    parts = []
    for setting in data["settings"]:
        rows: list[dict[str, Any]] = setting["rows"]
        default = next((r for r in rows if r["index"] == wanted), None)
        if default:
            parts.append(f"{default['recall@10']:.3f} on {setting['name']}")
    if not parts:
        return []
    return [
        f"HNSW as the app builds it from {BuildSettings().hnsw_from:,} chunks (`--ann auto`), "
        f"efSearch={APP_EF_SEARCH}: recall@10 {'; '.join(parts)} (random vectors have no "
        "structure to find: a worst case); smaller indexes are searched exactly."
    ]
