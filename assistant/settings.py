"""The one typed settings object (environment `STEMCELL_QA_*`, overridden by CLI flags)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    trusted_proxies: list[str] = Field(
        default_factory=list, description="proxy addresses whose X-Forwarded-For is believed"
    )
    log_questions: bool = Field(False, description="write question text to the log (opt-in)")
    reload_interval: float = Field(2.0, gt=0, description="seconds between index update checks")
    # The one place these limits are set: the API, the CLI, the page (input maxlength) and
    # chat.js (data-max-history) all take them from here.
    max_question_chars: int = Field(500, ge=10, le=QUESTION_CHARS_CAP)
    max_history: int = Field(10, ge=0, le=HISTORY_CAP)
    max_body_bytes: int = Field(16_384, ge=1024)
    fetch_timeout: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    ann: str = Field("flat", pattern="^(flat|hnsw)$", description="dense index kind")
