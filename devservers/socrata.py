"""A Socrata SODA 2.x endpoint on 127.0.0.1 serving a generated "FHV - Active" dataset.

``GET /resource/8wbx-tsch.json`` answers like NYC Open Data for the query parameters Tripline
uses, and rejects what the real service rejects (400 with Socrata's ``{"code", "error",
"message"}`` body):

- ``$limit`` (0..50000) and ``$offset`` (>= 0), integers;
- ``$order``: a column or system field (``:id``), optionally ``ASC``/``DESC``;
- ``$where``: comparisons of ``:updated_at`` (or any column) with a quoted value, joined with
  ``AND`` -- e.g. ``:updated_at > '2024-03-01T12:00:00.000'``;
- ``$select``: ``*`` (columns only, the default) or ``:*,*`` (system fields too);
- other ``$`` parameters are unknown (400); plain ``column=value`` filters by equality.

As on Socrata, empty fields are left out of a record and every value is a string. The dataset
can change between requests (``dataset.touch``, ``dataset.add``) to test incremental loads; each
change gets a later ``:updated_at``. ``require_token`` makes the server answer 403 without an
``X-App-Token`` header.
"""

from __future__ import annotations

import functools
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devservers.api_common import ApiError, ApiServer, Params, serve_api

DATASET_ID = "8wbx-tsch"
RESOURCE_PATH = f"/resource/{DATASET_ID}.json"
MAX_LIMIT = 50_000
SYSTEM_FIELDS = (":id", ":created_at", ":updated_at")
COLUMNS = (
    "active",
    "vehicle_license_number",
    "name",
    "license_type",
    "expiration_date",
    "permit_license_number",
    "dmv_license_plate_number",
    "vehicle_vin_number",
    "wheelchair_accessible",
    "certification_date",
    "hack_up_date",
    "vehicle_year",
    "base_number",
    "base_name",
    "base_type",
    "veh",
    "base_telephone_number",
    "base_address",
    "reason",
    "order_date",
    "last_date_updated",
    "last_time_updated",
)
BASES = (
    ("B02510", "UBER USA, LLC", "BLACK-CAR"),
    ("B02764", "UBER USA, LLC", "BLACK-CAR"),
    ("B03404", "LYFT, INC.", "BLACK-CAR"),
    ("B02395", "ABC CAR SERVICE INC", "LIVERY"),
    ("B00013", "LOVE CORP CAR INC", "LIVERY"),
    ("B01145", "CARMEL CAR & LIMOUSINE SERVICE", "LUXURY"),
    ("B02835", "REVEL TRANSIT INC", "BLACK-CAR"),
)
SURNAMES = ("RODRIGUEZ", "SINGH", "KHAN", "GARCIA", "NGUYEN", "COHEN", "DIALLO", "PARK", "ALI")
FIRST = ("JOSE", "MOHAMMED", "AMAN", "MARIA", "WEI", "DAVID", "OUSMANE", "JIN", "FATIMA")
# Model years 2012..2025: the active fleet is mostly younger than seven years.
YEAR_WEIGHTS = (1, 1, 2, 3, 4, 5, 6, 8, 8, 9, 10, 10, 9, 6)
_WHERE = re.compile(r"^\s*(:?[a-z_]+)\s*(>=|<=|!=|=|>|<)\s*'([^']*)'\s*$", re.IGNORECASE)
_EPOCH = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, {"code": code, "error": True, "message": message})


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=200_000)
def _parse_stamp(text: str) -> datetime:
    """Socrata accepts ISO 8601 with or without ``Z`` and fractional seconds."""
    value = text.strip().removesuffix("Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad("query.soql.type-mismatch", f"Could not parse '{text}' as a timestamp") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


@dataclass
class FhvDataset:
    """The generated dataset; ``touch`` and ``add`` change it as a daily refresh would."""

    seed: int = 7
    records: list[dict[str, str]] = field(default_factory=list)
    clock: datetime = _EPOCH
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next_row: int = 0

    def _tick(self) -> str:
        self.clock += timedelta(seconds=1, milliseconds=7)
        return _stamp(self.clock)

    def _vehicle(self, rng: random.Random, index: int) -> dict[str, str]:
        base_number, base_name, base_type = rng.choice(BASES)
        year = rng.choices(range(2012, 2026), weights=YEAR_WEIGHTS)[0]
        now = self._tick()
        record = {
            ":id": f"row-{index:04x}.{rng.randrange(16**4):04x}_{rng.randrange(16**4):04x}",
            ":created_at": now,
            ":updated_at": now,
            "active": "YES",
            "vehicle_license_number": f"{5_000_000 + index:07d}",
            "name": f"{rng.choice(SURNAMES)},{rng.choice(FIRST)}",
            "license_type": "FOR HIRE VEHICLE",
            "expiration_date": f"{rng.choice((2025, 2026, 2027))}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}T00:00:00.000",
            "permit_license_number": f"AB{rng.randrange(10**6):06d}",
            "dmv_license_plate_number": f"T{rng.randrange(10**6):06d}C",
            "vehicle_vin_number": "".join(rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ0123456789", k=17)),
            "vehicle_year": str(year),
            "base_number": base_number,
            "base_name": base_name,
            "base_type": base_type,
            "base_telephone_number": f"(212){rng.randrange(10**3):03d}-{rng.randrange(10**4):04d}",
            "base_address": f"{rng.randint(1, 999)} BROADWAY NEW YORK NY 10001",
            "last_date_updated": self.clock.strftime("%Y-%m-%dT00:00:00.000"),
            "last_time_updated": self.clock.strftime("%H:%M"),
        }
        if rng.random() < 0.12:
            record["wheelchair_accessible"] = "WAV"
        if rng.random() < 0.4:
            record["veh"] = rng.choice(("HYB", "EV", "STR"))
        return record

    def add(self, count: int) -> list[dict[str, str]]:
        """Append ``count`` new vehicles; returns them."""
        with self.lock:
            rng = random.Random(f"{self.seed}-{self._next_row}")
            new = [self._vehicle(rng, self._next_row + i) for i in range(count)]
            self._next_row += count
            self.records.extend(new)
            return new

    def touch(self, count: int) -> list[dict[str, str]]:
        """Update the first ``count`` vehicles: a new expiration date, a later ``:updated_at``."""
        with self.lock:
            changed = self.records[:count]
            for record in changed:
                record[":updated_at"] = self._tick()
                record["expiration_date"] = "2028-01-31T00:00:00.000"
            return changed

    def snapshot(self) -> list[dict[str, str]]:
        """The records as they are now (a new list; records are copied when served)."""
        with self.lock:
            return list(self.records)


def _column(name: str) -> str:
    if name not in COLUMNS and name not in SYSTEM_FIELDS:
        raise _bad("query.soql.no-such-column", f"No such column: {name}")
    return name


def _int(params: Params, name: str, default: int, high: int | None = None) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"\d+", text.strip()):
        raise _bad("query.soql.type-mismatch", f"{name} must be a non-negative integer: {text}")
    value = int(text)
    if high is not None and value > high:
        raise _bad("query.execution.limit-exceeded", f"{name} must be at most {high}: {value}")
    return value


def _compare(value: str | None, op: str, literal: str, column: str) -> bool:
    if value is None:
        return False
    left: Any = value
    right: Any = literal
    if column in (":updated_at", ":created_at"):
        left, right = _parse_stamp(value), _parse_stamp(literal)
    return bool(
        {
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
            "=": left == right,
            "!=": left != right,
        }[op]
    )


def _where(records: list[dict[str, str]], clause: str) -> list[dict[str, str]]:
    for part in re.split(r"\s+and\s+", clause, flags=re.IGNORECASE):
        match = _WHERE.match(part)
        if not match:
            raise _bad("query.compiler.malformed", f"Could not parse $where: {clause}")
        column, op, literal = _column(match.group(1)), match.group(2), match.group(3)
        records = [r for r in records if _compare(r.get(column), op, literal, column)]
    return records


def _order(records: list[dict[str, str]], clause: str) -> list[dict[str, str]]:
    parts = clause.split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
        raise _bad("query.compiler.malformed", f"Could not parse $order: {clause}")
    column = _column(parts[0])
    descending = len(parts) == 2 and parts[1].upper() == "DESC"
    return sorted(records, key=lambda r: r.get(column) or "", reverse=descending)


def _project(record: dict[str, str], select: str) -> dict[str, str]:
    fields = [f.strip() for f in select.split(",") if f.strip()]
    keep: set[str] = set()
    for name in fields:
        if name == "*":
            keep.update(COLUMNS)
        elif name == ":*":
            keep.update(SYSTEM_FIELDS)
        else:
            keep.add(_column(name))
    return {key: value for key, value in record.items() if key in keep}


def make_route(dataset: FhvDataset, require_token: bool = False) -> Any:
    """The request handler for ``dataset``, as a ``devservers.api_common`` route."""

    def route(path: str, params: Params, headers: dict[str, str]) -> Any:
        if path != RESOURCE_PATH:
            raise ApiError(404, {"code": "not_found", "error": True, "message": "Not found"})
        token = {k.lower(): v for k, v in headers.items()}.get("x-app-token")
        if require_token and not token:
            raise ApiError(
                403,
                {"code": "permission_denied", "error": True, "message": "An app token is required"},
            )
        unknown = [
            k
            for k in params
            if k.startswith("$") and k not in ("$limit", "$offset", "$order", "$where", "$select")
        ]
        if unknown:
            raise _bad("query.soql.invalid-parameter", f"Unrecognized arguments {unknown}")
        limit = _int(params, "$limit", 1000, MAX_LIMIT)
        offset = _int(params, "$offset", 0)
        records = dataset.snapshot()
        for key, value in params.items():
            if not key.startswith("$"):
                records = [r for r in records if r.get(_column(key)) == value]
        if "$where" in params:
            records = _where(records, params["$where"])
        if "$order" in params:
            records = _order(records, params["$order"])
        page = records[offset : offset + limit]
        select = params.get("$select", "*")
        return [_project(record, select) for record in page]

    return route


@contextmanager
def serve_socrata(
    rows: int = 2500, seed: int = 7, require_token: bool = False
) -> Iterator[tuple[ApiServer, FhvDataset]]:
    """NYC Open Data on a free port with ``rows`` generated vehicles; yields server, dataset."""
    dataset = FhvDataset(seed=seed)
    dataset.add(rows)
    with serve_api(make_route(dataset, require_token)) as server:
        yield server, dataset
