"""The `stemcell-qa` command: fetch, build, refresh, ask, eval, calibrate, train-scorer,
conditions, sources, serve."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from index import HNSW_FROM
from index.threads import lower_priority


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in (
            "data_dir",
            "index_dir",
            "sources",
            "host",
            "port",
            "ann",
            "refresh_every",
            "workers",
        )
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def _embedder() -> Any:
    from index.embed import MiniLMEmbedder

    return MiniLMEmbedder()


def _query_embedder(settings: Settings) -> Any:
    """What answers questions (serve, ask, eval): the index's ONNX export when there is one
    (index/onnx.py), else the torch model."""
    from index.onnx import query_embedder

    return query_embedder(
        settings.index_dir, settings.query_encoder, settings.threads, lambda: _embedder()
    )


def _count(n: int, noun: str) -> str:
    """`1 document`, `2 documents`."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _progress() -> Callable[[str, int, int], None]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="item", file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return report


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch every manifest source into snapshots."""
    from corpus.fetch import fetch_all
    from corpus.snapshots import SnapshotStore
    from corpus.sources import default_manifest, load_manifest

    settings = _settings(args)
    sources = load_manifest(settings.sources or default_manifest())
    store = SnapshotStore(settings.data_dir)

    def report(number: int, total: int, outcome: Any) -> None:
        line = f"[{number}/{total}] {outcome.source_id}: {outcome.status}"
        if outcome.route and not outcome.reason:
            line += f" ({outcome.route})"
        if outcome.reason:
            kept = "previous snapshot kept" if outcome.has_snapshot else "no snapshot"
            line += f" ({outcome.reason}; {kept})"
        print(line, file=sys.stderr)

    if not sources:
        raise UserError(
            f"{settings.sources or default_manifest()}: no [[source]] entries to fetch; add "
            "some, or index local files with `stemcell-qa build --no-sources --docs PATH`"
        )
    outcomes = fetch_all(sources, store, settings.fetch_settings(), report)
    available = sum(o.has_snapshot for o in outcomes)
    failed = [o for o in outcomes if o.status in ("failed", "blocked")]
    print(
        f"fetched {len(outcomes) - len(failed)}, failed {len(failed)}, "
        f"snapshots available {available}/{len(outcomes)}",
        file=sys.stderr,
    )
    if available == 0:
        raise UserError(
            "no source could be fetched and none was fetched before (see each one's reason "
            "above: offline, refused, blocked); "
            "run with network access, or index local files with "
            "`stemcell-qa build --no-sources --docs PATH`"
        )
    if failed:  # the rest is usable, but whoever runs this on a schedule must hear of it
        print(
            f"stemcell-qa: {_count(len(failed), 'source')} of {len(outcomes)} could not be "
            "fetched; earlier snapshots are used where there are any (exit 1)",
            file=sys.stderr,
        )
        return 1
    return 0


def _apart(index_dir: Path, docs: list[Path]) -> None:
    """`UserError` when the index folder is a --docs folder or inside one: its own files
    (chunks.jsonl, documents.jsonl) would be read as documents, and the next build fails."""
    index = index_dir.resolve()
    for folder in docs:
        if folder.is_dir() and index.is_relative_to(folder.resolve()):
            raise UserError(
                f"the index folder {index_dir} is inside --docs {folder}: its files would be "
                "read as documents; give the index a folder of its own"
            )


def _documents(args: argparse.Namespace, settings: Settings) -> list[Any]:
    from corpus.collect import collect
    from corpus.snapshots import SnapshotStore
    from corpus.sources import default_manifest, load_manifest

    docs = [Path(p) for p in args.docs or []]
    _apart(settings.index_dir, docs)
    use_sources = not args.no_sources
    sources = load_manifest(settings.sources or default_manifest()) if use_sources else []
    store = SnapshotStore(settings.data_dir) if use_sources else None
    return collect(sources, store, docs, _warn)


def cmd_build(args: argparse.Namespace) -> int:
    """Build and publish an index version from snapshots and --docs."""
    from index.build import BuildSettings, build
    from index.onnx import KINDS, OnDemand, build_embedder, encoder_path, export

    settings = _settings(args)
    lower_priority(settings.build_nice)
    documents = _documents(args, settings)
    print(_count(len(documents), "document"), file=sys.stderr)
    torch_model = OnDemand(_embedder)
    # the index's ONNX export once there is one, loaded only if something changed; the
    # first build, which makes the export, embeds with the torch model
    if not encoder_path(settings.index_dir).exists():
        print("loading the embedding model ...", file=sys.stderr)  # seconds of silence else
    embedder = (
        build_embedder(settings.index_dir, torch_model.model)
        if encoder_path(settings.index_dir).exists()
        else torch_model.model()
    )
    report = build(
        documents,
        settings.index_dir,
        embedder,
        BuildSettings(ann=settings.ann),
        progress=_progress(),
        force=args.force,
    )
    if not all(encoder_path(settings.index_dir, kind).exists() for kind in KINDS):
        print("exporting the query encoder to ONNX ...", file=sys.stderr)
        exported = export(settings.index_dir, torch_model.model())
        if exported:
            print(f"query encoder exported to ONNX: {exported.parent}", file=sys.stderr)
    if report.published:
        print(
            f"published index version {report.version}: {_count(report.documents, 'document')}, "
            f"{_count(report.chunks, 'chunk')} ({report.embedded} embedded, {report.reused} reused)"
        )
    else:
        print(f"index is up to date (version {report.version}); nothing published")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Fetch, then build (publishing only when something changed). Exit 1 when the build
    went ahead although some sources could not be fetched."""
    fetched = 0
    if not args.no_sources:
        try:
            fetched = cmd_fetch(args)
        except UserError as exc:
            if not args.docs:
                raise
            _warn(str(exc))
            fetched = 1
    return max(cmd_build(args), fetched)


def _load(settings: Settings) -> tuple[Any, Any]:
    from index import store

    store.published_name(settings.index_dir)  # fail fast, before the model loads
    embedder = _query_embedder(settings)
    return embedder, store.load(settings.index_dir, embedder.model_id, embedder.dim)


def _ask_settings(settings: Settings, **changes: Any) -> Any:
    from assistant.answer import AskSettings

    base = AskSettings(
        max_question_chars=settings.max_question_chars, max_history=settings.max_history
    )
    return replace(base, **changes)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question from the published index."""
    from assistant.answer import Answerer, validate
    from assistant.scorer import Scorer

    settings = _settings(args)
    ask_settings = _ask_settings(settings)
    validate(args.question, args.history, ask_settings)  # a bad question fails before the model
    embedder, version = _load(settings)
    answerer = Answerer(embedder, ask_settings, Scorer.load(settings.scorer))
    answer = answerer.ask(version, args.question, args.history)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if answer.status == "no_answer":
        print("The sources I have don't answer that.")
    if answer.not_covered:
        print("The sources don't mention " + " or ".join(answer.not_covered) + ".")
    for number, sentence in enumerate(answer.answer, start=1):
        source = answer.sources[sentence.source_id]
        # the kind, as the page labels it ("clinic-marketing": advertising, not independent)
        print(
            f"{number}. \u201c{sentence.text}\u201d\n   \u2014 {source.title} [{source.kind}]  "
            f"{sentence.link or ''}"
        )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Report answer and retrieval metrics for question files."""
    from assistant.answer import Answerer
    from assistant.evaluate import evaluate, load_questions

    settings = _settings(args)
    embedder, version = _load(settings)
    from assistant.scorer import Scorer

    # the metrics rank sources (by their first passage): ask for enough that ten can appear
    answerer = Answerer(
        embedder,
        _ask_settings(settings, max_passages=30),
        Scorer.load(args.scorer or settings.scorer),
    )
    modes = ["fused", "dense", "bm25"] if args.mode == "all" else [args.mode]
    results: dict[str, Any] = {"index_version": version.name, "results": {}}
    for mode in modes:
        everything = []
        per_file = {}
        for path in args.questions:
            questions = load_questions(Path(path))
            if mode == modes[0]:
                _unknown_gold(Path(path), questions, version)
            everything.extend(questions)
            per_file[str(path)] = evaluate(answerer, version, questions, mode=mode)
        if len(args.questions) > 1:
            per_file["overall"] = evaluate(answerer, version, everything, mode=mode)
        results["results"][mode] = per_file
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_eval(results)
    return 0


def _unknown_gold(path: Path, questions: list[Any], version: Any) -> None:
    """Warn when a file names gold documents the index does not hold: those questions can
    only miss, which looks like bad answers rather than a wrong index or file."""
    unknown = sorted({g for q in questions for g in q.gold_ids} - set(version.documents))
    if unknown:
        _warn(
            f"{path}: {_count(len(unknown), 'gold document id')} not in index version "
            f"{version.name} (e.g. {unknown[0]}): questions naming only those count as misses"
        )


def _print_eval(results: dict[str, Any]) -> None:
    columns = [
        "hit@1",
        "hit@3",
        "recall@5",
        "mrr@10",
        "answered_rate",
        "abstain_rate",
        "non_verbatim",
        "not_covered_named",
        "latency_ms_p50",
        "latency_ms_p95",
    ]
    print(f"index version {results['index_version']}")
    print("| mode | file | n | " + " | ".join(columns) + " |")
    print("|" + "---|" * (len(columns) + 3))
    for mode, files in results["results"].items():
        for name, row in files.items():
            cells = " | ".join("-" if row[c] is None else str(row[c]) for c in columns)
            print(f"| {mode} | {Path(name).name} | {row['questions']} | {cells} |")


def _pairs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    pairs = [(Path(index), Path(questions)) for index, questions in args.pair]
    for _, questions in pairs:
        if not questions.is_file():
            raise UserError(f"question file {questions} does not exist")
    return pairs


def _writable(*paths: Path | None) -> None:
    """`UserError` for an output file whose folder does not exist."""
    for path in paths:
        if path is not None and not path.parent.is_dir():
            raise UserError(f"{path.parent}: no such folder for {path.name}")


# Fewer held-apart questions than this make a threshold that moves with each one (an
# operator's 3 questions moved it from 0.51 to 0.58). Chosen, not fitted.
_CALIBRATE_ENOUGH = 50


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the answer threshold on held-apart question files paired with their indexes."""
    from assistant.answer import Answerer
    from assistant.calibrate import calibrate, write_calibrated
    from assistant.scorer import Scorer

    _writable(args.out)  # before the work, not after it
    settings = _settings(args)
    scorer = Scorer.load(args.scorer or settings.scorer)
    answerer = Answerer(_embedder(), _ask_settings(settings), scorer)
    best = calibrate(answerer, _pairs(args))
    if best["questions"] < _CALIBRATE_ENOUGH:
        _warn(
            f"the threshold is fitted on {_count(best['questions'], 'question')}: below "
            f"{_CALIBRATE_ENOUGH} it moves with each one, so take it as a rough guess"
        )
    print(json.dumps(best, indent=2))
    if args.out:
        write_calibrated(answerer, best["answer_threshold"], args.out)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_train_scorer(args: argparse.Namespace) -> int:
    """Fit the passage, sentence and question scorers on dev question files."""
    from assistant.train import TrainSettings, collect, cross_validated, question_sets, train

    _writable(args.out, args.report)  # before minutes of training, not after them
    ask = _ask_settings(_settings(args), max_passages=30)
    settings = TrainSettings(folds=args.folds)
    sets = question_sets(_pairs(args), None if args.no_rewrites else settings.rewrite_seed)
    if args.show_rewrites:
        for qset in sets:
            for q in qset.questions[: args.show_rewrites] if "rewrites" in qset.name else []:
                print(json.dumps({"id": q.id, "question": q.question}, ensure_ascii=False))
        return 0
    embedder = _embedder()
    names = [qset.name for qset in sets]
    items = collect(embedder, sets, ask, _warn_info)
    fitted = train(items, ask, settings, names)
    report = {
        "command": "stemcell-qa train-scorer " + " ".join(sys.argv[2:]),
        "scorer": fitted.scorer.describe(),
        "cross_validated": cross_validated(fitted, embedder, ask, names),
    }
    fitted.scorer.save(args.out)
    print(json.dumps(report, indent=2))
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def cmd_conditions(args: argparse.Namespace) -> int:
    """Derive the condition words (assistant/conditions.py) from consumer-health JSONL files."""
    from assistant.conditions import derive, read_records, spelled_out, write

    for path in args.corpus:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
    _writable(args.out)
    try:
        records = list(read_records(args.corpus))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    counts = derive(records)
    command = "stemcell-qa conditions " + " ".join(sys.argv[2:])
    write(counts, command, args.out, spelled_out(records))
    print(f"wrote {_count(len(counts), 'word')} to {args.out}", file=sys.stderr)
    return 0


def _warn_info(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_sources(args: argparse.Namespace) -> int:
    """List the sources in the published index."""
    from index import store

    settings = _settings(args)
    _, documents = store.published_documents(settings.index_dir)  # no model needed
    for doc in documents:
        print(f"{doc.source_id}\t{doc.kind}\t{doc.title}\t{doc.url or '-'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the chat page and the JSON API (rebuilding in the background when asked)."""
    from web.serve import refresh_plan, run

    settings = _settings(args)
    if args.watch and not args.docs:
        raise UserError("--watch needs --docs PATH: the local files or folders to watch")
    docs = [Path(p) for p in args.docs or []]
    _apart(settings.index_dir, docs)
    plan = refresh_plan(settings, docs, not args.no_sources, args.watch)
    if not args.allow_empty and plan is None:
        from index import store

        # no index, or a damaged one: one line and exit 2, not the server's start-up traceback
        store.check_published(settings.index_dir)
    from assistant.scorer import Scorer

    Scorer.load(settings.scorer)  # a bad scorer file: one line too
    run(settings, lambda: _query_embedder(settings), plan, args.allow_empty)
    return 0


def _common(parser: argparse.ArgumentParser, index: bool = True) -> None:
    parser.add_argument("--data-dir", type=Path, help="snapshot folder (STEMCELL_QA_DATA_DIR)")
    if index:
        parser.add_argument(
            "--index", dest="index_dir", type=Path, help="index directory (STEMCELL_QA_INDEX_DIR)"
        )


def _corpus_flags(parser: argparse.ArgumentParser, force: bool = True) -> None:
    parser.add_argument(
        "--docs",
        action="append",
        metavar="PATH",
        help="local file or folder (.txt .md .html .pdf .xml .jsonl); repeatable",
    )
    parser.add_argument("--sources", type=Path, help="sources manifest (sources.toml)")
    parser.add_argument(
        "--no-sources",
        action="store_true",
        help="index only --docs, not the manifest's fetched snapshots",
    )
    if force:
        parser.add_argument("--force", action="store_true", help="publish even if unchanged")
    parser.add_argument(
        "--ann",
        choices=["auto", "flat", "hnsw"],
        help=f"dense index: exact, HNSW, or auto (exact below {HNSW_FROM:,} chunks; the default)",
    )


def _duration(text: str) -> float | None:
    from assistant.settings import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pair_flags(parser: argparse.ArgumentParser, scorer: bool = True) -> None:
    parser.add_argument(
        "--pair",
        nargs=2,
        action="append",
        required=True,
        metavar=("INDEX_DIR", "QUESTIONS"),
        help="an index and a question file over it; repeatable",
    )
    if scorer:
        parser.add_argument("--scorer", type=Path, help="scorer file (default: the packaged one)")


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    top = argparse.ArgumentParser(
        prog="stemcell-qa",
        description="Answers questions about stem cell product safety with sentences quoted "
        "from curated sources.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = commands.add_parser("fetch", help="fetch the manifest's sources into snapshots")
    _common(fetch, index=False)
    fetch.add_argument("--sources", type=Path, help="sources manifest (sources.toml)")
    fetch.set_defaults(run=cmd_fetch)

    for name, run, text in (
        ("build", cmd_build, "build and publish an index version"),
        ("refresh", cmd_refresh, "fetch, then build; publishes only when something changed"),
    ):
        command = commands.add_parser(name, help=text)
        _common(command)
        _corpus_flags(command)
        command.set_defaults(run=run)

    ask = commands.add_parser("ask", help="answer one question")
    _common(ask)
    ask.add_argument("question")
    ask.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="QUESTION",
        help="an earlier question, oldest first; repeatable",
    )
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    ask.set_defaults(run=cmd_ask)

    evaluate = commands.add_parser("eval", help="measure answers on question files")
    _common(evaluate)
    evaluate.add_argument(
        "--questions",
        nargs="+",
        required=True,
        metavar="FILE",
        help="question files, a JSON object per line (id, question, history, expect, gold_ids)",
    )
    evaluate.add_argument(
        "--mode",
        choices=["fused", "dense", "bm25", "all"],
        default="all",
        help="retrieval to measure (default: all three)",
    )
    evaluate.add_argument(
        "--json", action="store_true", help="print every metric as JSON, not_covered_outside too"
    )
    evaluate.add_argument("--scorer", type=Path, help="scorer file (default: the packaged one)")
    evaluate.set_defaults(run=cmd_eval)

    calibrate = commands.add_parser(
        "calibrate", help="fit the answer threshold on held-apart dev question files"
    )
    _pair_flags(calibrate)
    calibrate.add_argument("--out", type=Path, help="write the scorer with the fitted threshold")
    calibrate.set_defaults(run=cmd_calibrate)

    trainer = commands.add_parser(
        "train-scorer", help="fit the answer scorers on dev question files (cross-fitted)"
    )
    _pair_flags(trainer, scorer=False)
    trainer.add_argument("--out", type=Path, required=True, help="scorer file to write")
    trainer.add_argument("--report", type=Path, help="also write the JSON report here")
    trainer.add_argument("--folds", type=int, default=5, help="cross-fitting folds (default 5)")
    trainer.add_argument(
        "--no-rewrites", action="store_true", help="train without consumer-style rewrites"
    )
    trainer.add_argument(
        "--show-rewrites", type=int, metavar="N", help="print N rewrites per file and stop"
    )
    trainer.set_defaults(run=cmd_train_scorer)

    conditions = commands.add_parser(
        "conditions", help="derive the words that name health conditions from JSONL pages"
    )
    conditions.add_argument(
        "--corpus",
        type=Path,
        nargs="+",
        required=True,
        metavar="FILE",
        help="JSONL files, one page per line with its title (e.g. MedQuAD's)",
    )
    conditions.add_argument("--out", type=Path, required=True, help="list to write")
    conditions.set_defaults(run=cmd_conditions)

    sources = commands.add_parser("sources", help="list the indexed sources")
    _common(sources)
    sources.set_defaults(run=cmd_sources)

    serve = commands.add_parser("serve", help="serve the chat page and /ask API")
    _common(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port, each with its own copy of the index "
        "(STEMCELL_QA_WORKERS; default 1)",
    )
    serve.add_argument(
        "--allow-empty",
        action="store_true",
        help="start even without a published index (waits for one)",
    )
    _corpus_flags(serve, force=False)
    serve.add_argument(
        "--refresh-every",
        type=_duration,
        metavar="DURATION",
        help="re-fetch and rebuild in the background, e.g. 30m, 24h (STEMCELL_QA_REFRESH_EVERY)",
    )
    serve.add_argument("--watch", action="store_true", help="rebuild when --docs files change")
    serve.set_defaults(run=cmd_serve)
    return top


def _setting_problem(exc: Exception) -> str:
    """One line for an invalid setting, named as the operator sets it (the environment
    variable; a flag sets the same value), not pydantic's block with a link."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    problems = []
    for error in errors():
        name = ".".join(str(part) for part in error.get("loc", ())) or "settings"
        given = error.get("input")
        shown = f" (got {given!r:.60})" if isinstance(given, str | int | float) else ""
        problems.append(f"STEMCELL_QA_{name.upper()}: {error.get('msg')}{shown}")
    return "; ".join(problems)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line on stderr and a non-zero exit for any user-fixable problem."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from assistant.answer import QuestionError
    from assistant.evaluate import EvalError
    from assistant.scorer import ScorerError
    from assistant.train import TrainError
    from corpus.local import DocumentError
    from corpus.sources import ManifestError
    from corpus.verbatim import VerbatimError
    from index.build import BuildError
    from index.embed import ModelLoadError
    from index.store import StoreError

    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (
        UserError,
        QuestionError,
        EvalError,
        ScorerError,
        TrainError,
        DocumentError,
        ManifestError,
        BuildError,
        StoreError,
        VerbatimError,
        ModelLoadError,
    ) as exc:
        print(f"stemcell-qa {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path that is no folder, a full disk: what, and where
        where = f": {exc.filename}" if exc.filename else ""
        print(f"stemcell-qa {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except (ValidationError, SettingsError) as exc:
        print(f"stemcell-qa {args.command}: error: {_setting_problem(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"stemcell-qa {args.command}: interrupted", file=sys.stderr)
        return 130
