"""Finding TLC files (local folder or glob, HTTP(S) in the TLC layout, ``s3://``) and staging
remote ones to local disk.

Remote files go through fsspec (DuckDB's httpfs cannot be installed here, and fsspec gives
HTTP and S3 one interface). A remote file is copied to the staging folder in 8 MiB blocks —
memory stays at one block whatever the file size — and a connection cut mid-file resumes at
the byte where it stopped, with backoff, a bounded number of times.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec

from ingestion.core.errors import ConfigurationError, SourceError
from ingestion.core.logs import get_logger
from ingestion.trips.months import Month
from ingestion.trips.schema import FileKind, classify

log = get_logger("trips.files")

BLOCK_BYTES = 8 * 1024 * 1024
MAX_ATTEMPTS = 5
REMOTE_PROTOCOLS = ("http", "https", "s3")


@dataclass(frozen=True)
class SourceFile:
    """One TLC file to load: where it is, what it is and how to tell it changed."""

    url: str
    name: str
    kind: FileKind
    size: int
    fingerprint: str

    @property
    def is_remote(self) -> bool:
        return protocol_of(self.url) in REMOTE_PROTOCOLS


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def _filesystem(protocol: str) -> fsspec.AbstractFileSystem:
    if protocol == "s3":
        endpoint = os.environ.get("TRIPLINE_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        kwargs: dict[str, Any] = {"client_kwargs": {"endpoint_url": endpoint}} if endpoint else {}
        return fsspec.filesystem("s3", **kwargs)
    return fsspec.filesystem(protocol)


@dataclass
class Discovery:
    """The files a source offers, and the ones it named but could not provide."""

    files: list[SourceFile]
    failures: list[str] = field(default_factory=list)
    # (the file that loads, a copy of the same month in another format that does not)
    set_aside: list[tuple[SourceFile, SourceFile]] = field(default_factory=list)


# The first month the TLC published of each service: an HTTP source is asked for no earlier.
FIRST_MONTH = {
    "yellow": Month(2009, 1),
    "green": Month(2013, 8),
    "fhv": Month(2015, 1),
    "fhvhv": Month(2019, 2),
}

# The same month in several formats loads once, from the first format of this list.
FORMAT_PREFERENCE = ("parquet", "csv.gz", "csv")


def one_per_identity(
    files: Sequence[SourceFile],
) -> tuple[list[SourceFile], list[tuple[SourceFile, SourceFile]]]:
    """One file per (service, month): Parquet over CSV; the rest set aside, with the keeper."""
    chosen: dict[str, SourceFile] = {}
    for file in sorted(files, key=lambda f: FORMAT_PREFERENCE.index(f.kind.fmt)
                       if f.kind.fmt in FORMAT_PREFERENCE else len(FORMAT_PREFERENCE)):  # fmt: skip
        chosen.setdefault(file.kind.identity, file)
    set_aside = [(chosen[f.kind.identity], f) for f in files if chosen[f.kind.identity] is not f]
    return list(chosen.values()), set_aside


def discover(
    source: str,
    months: Sequence[Month] | None = None,
    kinds: Sequence[str] = ("yellow",),
    http_format: str = "parquet",
) -> Discovery:
    """Every TLC file the source names, zone lookup first, then by name.

    * a local folder, glob or file;
    * an ``http(s)://`` base URL in the TLC layout (``trip-data/<kind>_tripdata_<month>.<fmt>``
      and ``misc/taxi_zone_lookup.csv``), which needs ``months``; or one file's URL;
    * an ``s3://bucket/prefix/`` (listed) or an S3 glob.
    """
    protocol = protocol_of(source)
    failures: list[str] = []
    if protocol in ("http", "https"):
        files = _discover_http(source, months, kinds, http_format, failures)
    elif protocol == "s3":
        files = _discover_listed(source, _filesystem("s3"), months, "s3://")
    elif protocol == "file":
        files = _discover_local(source, months)
    else:
        raise ConfigurationError(f"unsupported source {source!r}: use a path, http(s):// or s3://")
    if not any(f.kind.month for f in files):
        detail = f": {failures[0]}" if failures else " (e.g. yellow_tripdata_2024-01.csv)"
        raise SourceError(f"no TLC trip files found at {source}{detail}")
    kept, set_aside = one_per_identity(files)
    ordered = sorted(kept, key=lambda f: (f.kind.month is not None, f.name))
    return Discovery(ordered, failures, set_aside)


def _month_wanted(kind: FileKind, months: Sequence[Month] | None) -> bool:
    return months is None or kind.month is None or kind.month in {str(m) for m in months}


def _discover_local(source: str, months: Sequence[Month] | None) -> list[SourceFile]:
    path = Path(source)
    if path.is_dir():
        candidates = [p for p in path.iterdir() if p.is_file()]
    elif any(ch in source for ch in "*?["):
        candidates = [Path(p) for p in glob.glob(source) if Path(p).is_file()]
    elif path.is_file():
        candidates = [path]
    else:
        raise SourceError(
            f"source {source} does not exist (generate data with 'tripline generate trips')"
        )
    files = []
    for candidate in candidates:
        kind = classify(candidate.name)
        if kind is None or not _month_wanted(kind, months):
            continue
        files.append(
            SourceFile(
                str(candidate.resolve()),
                candidate.name,
                kind,
                candidate.stat().st_size,
                local_fingerprint(candidate),
            )
        )
    return files


def local_fingerprint(path: Path) -> str:
    """Size and modification time: what tells a local file changed (cheap, no read)."""
    stat = path.stat()
    return f"size={stat.st_size};mtime_ns={stat.st_mtime_ns}"


def _remote_fingerprint(info: dict[str, Any]) -> str:
    for key in ("ETag", "etag", "ETAG", "Last-Modified", "LastModified", "mtime"):
        if info.get(key):
            return f"size={info.get('size')};{key}={info[key]}"
    return f"size={info.get('size')}"


def _remote_file(fs: fsspec.AbstractFileSystem, url: str, name: str) -> SourceFile:
    kind = classify(name)
    assert kind is not None
    try:
        info = fs.info(url)
    except FileNotFoundError as exc:
        hint = " (the TLC publishes a month about two months after it ends)" if kind.month else ""
        raise SourceError(f"{url} not found (HTTP 404 or missing object){hint}") from exc
    except Exception as exc:
        raise SourceError(f"cannot reach {url}: {exc}") from exc
    return SourceFile(url, name, kind, int(info.get("size") or 0), _remote_fingerprint(info))


def _discover_http(
    source: str,
    months: Sequence[Month] | None,
    kinds: Sequence[str],
    fmt: str,
    failures: list[str],
) -> list[SourceFile]:
    fs = _filesystem(protocol_of(source))
    name = source.rstrip("/").rsplit("/", 1)[-1]
    if classify(name) is not None:
        return [_remote_file(fs, source, name)]
    if not months:
        raise ConfigurationError(
            "an HTTP source needs --months (e.g. --months 2024-01:2024-03): "
            "HTTP servers cannot be listed"
        )
    base = source.rstrip("/")
    wanted = [("taxi_zone_lookup.csv", f"{base}/misc/taxi_zone_lookup.csv")]
    for kind in kinds:
        published = [m for m in months if m >= FIRST_MONTH.get(kind, m)]
        if len(published) < len(months):
            log.info("trips: %s starts in %s: %d earlier month(s) not asked for",
                     kind, FIRST_MONTH[kind], len(months) - len(published))  # fmt: skip
        wanted += [
            (name, f"{base}/trip-data/{name}")
            for name in (f"{kind}_tripdata_{month}.{fmt}" for month in published)
        ]
    files = []
    for name, url in wanted:
        try:
            files.append(_remote_file(fs, url, name))
        except SourceError as exc:  # one missing month must not stop the others
            failures.append(f"{name}: {exc}")
    return files


def _discover_listed(
    source: str, fs: fsspec.AbstractFileSystem, months: Sequence[Month] | None, prefix: str
) -> list[SourceFile]:
    try:
        if any(ch in source for ch in "*?["):
            entries = fs.glob(source, detail=True)
            infos = list(entries.values()) if isinstance(entries, dict) else entries
        else:
            infos = fs.ls(source.rstrip("/"), detail=True)
    except FileNotFoundError as exc:
        raise SourceError(f"source {source} does not exist") from exc
    except Exception as exc:
        raise SourceError(f"cannot list {source}: {exc}") from exc
    files = []
    for info in infos:
        if info.get("type") == "directory":
            continue
        key = str(info["name"])
        name = key.rsplit("/", 1)[-1]
        kind = classify(name)
        if kind is None or not _month_wanted(kind, months):
            continue
        url = key if "://" in key else prefix + key
        files.append(
            SourceFile(url, name, kind, int(info.get("size") or 0), _remote_fingerprint(info))
        )
    return files


def stage(file: SourceFile, staging_dir: Path) -> Path:
    """A local path with the file's bytes: the file itself, or a resumable remote copy."""
    if not file.is_remote:
        return Path(file.url)
    staging_dir.mkdir(parents=True, exist_ok=True)
    target = staging_dir / file.name
    # A copy is read only once it is whole: until then it has another name.
    partial = staging_dir / f"{file.name}.partial"
    fs = _filesystem(protocol_of(file.url))
    written = 0
    with partial.open("wb") as out:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with fs.open(file.url, "rb", block_size=BLOCK_BYTES) as remote:
                    remote.seek(written)
                    while block := remote.read(BLOCK_BYTES):
                        out.write(block)
                        written += len(block)
                break
            except FileNotFoundError as exc:
                raise SourceError(f"{file.url} not found (HTTP 404 or missing object)") from exc
            except Exception as exc:
                if attempt == MAX_ATTEMPTS:
                    raise SourceError(
                        f"download of {file.url} failed after {attempt} attempts at byte "
                        f"{written:,}: {exc}"
                    ) from exc
                delay = min(2.0 ** (attempt - 1) * 0.5, 8.0)
                log.warning(
                    "%s: connection failed at byte %s (%s); resuming in %.1f s (attempt %d/%d)",
                    file.name,
                    f"{written:,}",
                    type(exc).__name__,
                    delay,
                    attempt + 1,
                    MAX_ATTEMPTS,
                )
                time.sleep(delay)
    if file.size and written != file.size:
        partial.unlink(missing_ok=True)
        raise SourceError(f"download of {file.url} ended at {written:,} of {file.size:,} bytes")
    partial.replace(target)
    return target
