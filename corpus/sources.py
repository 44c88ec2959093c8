"""Read and validate the sources manifest (`sources.toml`)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

KINDS: tuple[str, ...] = (
    "review",
    "trial-registry",
    "institution-news",
    "clinic-marketing",
    "charity",
    "other",
)
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
PMCID = re.compile(r"^PMC\d{1,10}$")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")


class ManifestError(ValueError):
    """The sources manifest is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Source:
    """One curated source: where it lives and how patients should weigh it."""

    id: str
    url: str
    kind: str
    title: str | None = None
    publisher: str | None = None
    pmcid: str | None = None  # e.g. "PMC12733355": fetch the open full text (JATS XML)
    doi: str | None = None  # e.g. "10.3389/fmed.2025.1674720": look up its PMCID, or the XML


def default_manifest() -> Path:
    """Path of the manifest shipped with the package."""
    return Path(str(resources.files("corpus").joinpath("sources.toml")))


def load_manifest(path: Path) -> list[Source]:
    """Parse and validate a manifest; raise `ManifestError` naming the file and problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML ({exc})") from None
    other = sorted(set(data) - {"source"})
    if other:  # "[[sources]]" read as no source at all ("fetched 0, failed 0 (offline?)")
        raise ManifestError(f"{path}: unknown table(s) {', '.join(other)}; entries are [[source]]")
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: `source` must be an array of tables ([[source]])")
    sources: list[Source] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        source = _parse_entry(path, number, entry)
        if source.id in seen:
            raise ManifestError(f"{path}: source #{number}: duplicate id {source.id!r}")
        seen.add(source.id)
        sources.append(source)
    return sources


def _parse_entry(path: Path, number: int, entry: object) -> Source:
    where = f"{path}: source #{number}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: must be a table")
    unknown = set(entry) - {"id", "url", "kind", "title", "publisher", "pmcid", "doi"}
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for field in ("id", "url", "kind"):
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise ManifestError(f"{where}: missing or empty `{field}`")
    for field in ("title", "publisher", "pmcid", "doi"):
        if field in entry and not isinstance(entry[field], str):
            raise ManifestError(f"{where}: `{field}` must be a string")
    if "pmcid" in entry and not PMCID.match(entry["pmcid"]):
        raise ManifestError(f"{where}: pmcid {entry['pmcid']!r} must look like 'PMC1234567'")
    if "doi" in entry and not DOI.match(entry["doi"]):
        raise ManifestError(f"{where}: doi {entry['doi']!r} must look like '10.1234/abc'")
    if not _ID.match(entry["id"]):
        raise ManifestError(
            f"{where}: id {entry['id']!r} must be lowercase letters, digits, '.', '_' or '-'"
        )
    if entry["kind"] not in KINDS:
        raise ManifestError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
    parts = urlsplit(entry["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ManifestError(f"{where}: url {entry['url']!r} must be an http(s) URL")
    return Source(
        id=entry["id"],
        url=entry["url"],
        kind=entry["kind"],
        title=entry.get("title"),
        publisher=entry.get("publisher"),
        pmcid=entry.get("pmcid"),
        doi=entry.get("doi"),
    )
