"""The one typed settings object (environment `STEMCELL_QA_*`, overridden by CLI flags)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from corpus.articles import ArticleServices
from index import HNSW_FROM

if TYPE_CHECKING:
    from corpus.download import FetchSettings

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float | None:
    """Seconds in `30s`, `15m`, `24h`, `1d`, `1h30m` or a plain number; `off`, `0` or empty
    mean never. Raises `ValueError` naming the accepted forms."""
    clean = text.strip().lower()
    if clean in ("", "off", "never", "none", "0"):
        return None
    pieces = _DURATION.findall(clean)
    if not pieces or _DURATION.sub("", clean).strip():
        raise ValueError(f"invalid duration {text!r}: use forms like 30s, 15m, 24h or off")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in pieces)
    return seconds or None


# Upper bounds of the limits below; the HTTP schema refuses anything larger outright.
QUESTION_CHARS_CAP = 5000
HISTORY_CAP = 50


class Settings(BaseSettings):
    """Where data lives, how the server listens and the limits it enforces."""

    model_config = SettingsConfigDict(env_prefix="STEMCELL_QA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="fetched snapshots live here")
    index_dir: Path = Field(Path("data/index"), description="versioned index directory")
    sources: Path | None = Field(None, description="sources manifest (default: the packaged one)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    rate_limit: int = Field(60, ge=0, description="requests per minute per client; 0 = off")
    # a JSON list or, as an operator writes it, addresses separated by commas ("10.0.0.1")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="proxy addresses whose X-Forwarded-For is believed"
    )
    log_questions: bool = Field(False, description="write question text to the log (opt-in)")
    reload_interval: float = Field(2.0, gt=0, description="seconds between index update checks")
    # The one place these limits are set: the API, the CLI, the page (input maxlength) and
    # chat.js (data-max-history) all take them from here. Real patient messages run to
    # ~1,000 characters (a subject line, context, several questions).
    max_question_chars: int = Field(2000, ge=10, le=QUESTION_CHARS_CAP)
    max_history: int = Field(10, ge=0, le=HISTORY_CAP)
    # Bodies over this get 413. Unset, it fits the longest request the limits above allow: a
    # question and `max_history` earlier turns of `max_question_chars` each, every character
    # as an escaped astral pair in JSON ("\ud83d\ude00", 12 bytes) or percent-encoded in a
    # form, plus 4 KiB (`body_limit`). A fixed 16 KiB refused requests the schema accepts.
    max_body_bytes: int | None = Field(None, ge=1024)
    fetch_timeout: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    ann: str = Field(
        "auto",
        pattern="^(auto|flat|hnsw)$",
        description=f"dense index kind (auto: exact below {HNSW_FROM:,} chunks, HNSW above)",
    )
    # processes answering on the one port, each with its own socket (web/serve.py); each
    # loads the index and the query encoder (RSS per process: bench/concurrency.py), and
    # background rebuilds run once, in the parent. bench/concurrency.py measures 1 and 2.
    workers: int = Field(1, ge=1, le=64, description="server processes sharing the port")
    # one: the other core scores candidates, and encodes stay fast on a shared machine
    # (index/threads.py has the measurement)
    threads: int = Field(1, ge=0, description="model threads when serving; 0 = every core")
    # A build is batch work and a server on the same machine answers people: `build` and
    # `refresh` lower their CPU priority by this much (nice; 0 = leave it), and so does a
    # server's background rebuild thread. An idle machine builds as fast either way.
    build_nice: int = Field(10, ge=0, le=19, description="CPU priority drop for builds (nice)")
    # encode calls that may run at once, each on one thread: under 50 clients asking
    # questions with many absent words (several texts each), one lane kept one core busy
    # encoding and left the other part idle (bench/load.py with a rebuild, int8 encoder,
    # same run: 1 lane 103 req/s, p95 627 ms; 2 lanes 111 req/s, p95 588 ms)
    encode_lanes: int = Field(2, ge=1, le=16, description="query encodes at once when serving")
    # ONNX runs the same weights ~2x faster and starts without torch, its int8 copy ~3x
    # faster again (index/onnx.py); auto uses the copy, else the export, when the index
    # folder holds what `stemcell-qa build` writes
    query_encoder: str = Field(
        "auto", pattern="^(auto|int8|onnx|torch)$", description="query encoder when serving"
    )
    answer_timeout: float = Field(
        10.0, gt=0, description="seconds a request waits for the shared model call (then 503)"
    )
    scorer: Path | None = Field(
        None, description="scorer file (`calibrate --out`) for serve, ask and eval; None: packaged"
    )
    refresh_every: float | None = Field(
        None, ge=1, description="seconds between background re-fetch + rebuild in serve (30s, 24h)"
    )
    europepmc_url: str = Field(ArticleServices.europepmc_url, description="Europe PMC REST base")
    eutils_url: str = Field(ArticleServices.eutils_url, description="NCBI E-utilities base")
    idconv_url: str = Field(ArticleServices.idconv_url, description="PMC ID converter API")
    ncbi_tool: str = Field(ArticleServices.tool, pattern=r"^\S+$", description="NCBI `tool`")
    ncbi_email: str | None = Field(None, description="NCBI `email`: the maintainer's address")
    ncbi_rate: float = Field(
        ArticleServices.ncbi_per_second, gt=0, le=3, description="NCBI requests per second"
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            return json.loads(value)  # a malformed list is a validation error, named
        return [part for part in re.split(r"[,\s]+", value) if part]

    @field_validator("refresh_every", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @property
    def body_limit(self) -> int:
        """Request bodies over this many bytes get 413 (`max_body_bytes`, or what fits)."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return (self.max_history + 1) * self.max_question_chars * 12 + 4096

    def fetch_settings(self) -> FetchSettings:
        """The fetcher's `FetchSettings` from these settings."""
        from corpus.download import FetchSettings

        services = ArticleServices(
            europepmc_url=self.europepmc_url,
            eutils_url=self.eutils_url,
            idconv_url=self.idconv_url,
            tool=self.ncbi_tool,
            email=self.ncbi_email,
            ncbi_per_second=self.ncbi_rate,
        )
        return FetchSettings(
            timeout=self.fetch_timeout, max_bytes=self.fetch_max_bytes, services=services
        )
