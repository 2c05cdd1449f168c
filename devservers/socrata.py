"""A Socrata SODA 2.x endpoint on 127.0.0.1 serving a generated "FHV - Active" dataset.

``GET /resource/8wbx-tsch.json`` answers like NYC Open Data for the query parameters Tripline
uses, and rejects what the real service rejects (400 with Socrata's ``{"code", "error",
"message"}`` body):

- ``$limit`` (0..50000) and ``$offset`` (>= 0), integers;
- ``$order``: comma-separated columns or system fields, each optionally ``ASC``/``DESC``;
- ``$where``: comparisons of a column or system field with a quoted value, joined with
  ``AND`` -- e.g. ``:updated_at >= '2024-03-01T12:00:00.000Z' AND :id > 'row-3f2a.91c0_7b1e'``;
- ``$select``: ``*`` (columns only, the default), ``:*,*`` (system fields too) or a list of
  columns and system fields;
- other ``$`` parameters are unknown (400); plain ``column=value`` filters by equality.

As on Socrata, empty fields are left out of a record and every value is a string. ``:id`` is
a row identifier: Socrata numbers rows internally and shows each number obfuscated
(``row-xxxx.xxxx_xxxx``), so ``$order=:id`` and ``:id > '<an id>'`` work on the hidden
number while the text of the ids sorts differently -- a client must page by the last ``:id``
the server sent, never by comparing ids itself. Timestamps compare and sort as instants.

The dataset can change between requests, as a live one does: ``add``, ``update``/``touch``,
``delete`` and ``readd`` (a vehicle back under a new ``:id``); each change gets a later
``:updated_at`` unless ``at`` fixes it (to put rows on a boundary timestamp). A ``hook`` fault
(``devservers.api_common``) makes such a change between two pages of one run.
``require_token`` makes the server answer 403 without an ``X-App-Token`` header.
"""

from __future__ import annotations

import functools
import random
import re
import threading
from collections.abc import Callable, Iterator
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


# Row numbers are shown as an affine scramble of 48 bits (invertible, so any id ever shown --
# even a deleted row's -- can be compared, as Socrata decrypts any id it issued).
_ID_MASK = (1 << 48) - 1
_ID_MULTIPLIER = 0x5851F42D4C95
_ID_OFFSET = 0x14057B7EF767
_ID_INVERSE = pow(_ID_MULTIPLIER, -1, 1 << 48)
_ID_TEXT = re.compile(r"^row-([0-9a-f]{4})\.([0-9a-f]{4})_([0-9a-f]{4})$")


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, {"code": code, "error": True, "message": message})


def row_id(number: int) -> str:
    """The ``:id`` Socrata would show for internal row ``number``."""
    text = f"{(number * _ID_MULTIPLIER + _ID_OFFSET) & _ID_MASK:012x}"
    return f"row-{text[:4]}.{text[4:8]}_{text[8:]}"


@functools.lru_cache(maxsize=200_000)
def row_number(text: str) -> int:
    """The internal row number behind an ``:id`` (400 for text that is not one)."""
    match = _ID_TEXT.match(text.strip())
    if not match:
        raise _bad("query.soql.type-mismatch", f"Could not parse '{text}' as a row identifier")
    return ((int("".join(match.groups()), 16) - _ID_OFFSET) * _ID_INVERSE) & _ID_MASK


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
    """The generated dataset; its methods change it as the TLC's daily refresh would."""

    seed: int = 7
    records: list[dict[str, str]] = field(default_factory=list)
    clock: datetime = _EPOCH
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next_row: int = 0  # internal row numbers, never reused
    _vehicles: int = 0  # vehicles generated so far (their licence numbers)

    def _tick(self, at: str | None = None) -> str:
        if at is not None:
            return at
        self.clock += timedelta(seconds=1, milliseconds=7)
        return _stamp(self.clock)

    def _new_id(self) -> str:
        self._next_row += 1
        return row_id(self._next_row)

    def _vehicle(self, rng: random.Random, index: int, at: str | None) -> dict[str, str]:
        base_number, base_name, base_type = rng.choice(BASES)
        year = rng.choices(range(2012, 2026), weights=YEAR_WEIGHTS)[0]
        now = self._tick(at)
        record = {
            ":id": self._new_id(),
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

    def add(self, count: int, at: str | None = None) -> list[dict[str, str]]:
        """Append ``count`` new vehicles (stamped ``at`` if given); returns copies of them."""
        with self.lock:
            first = self._vehicles
            rng = random.Random(f"{self.seed}-{first}")
            new = [self._vehicle(rng, first + i, at) for i in range(count)]
            self._vehicles += count
            self.records.extend(new)
            return [dict(r) for r in new]

    def update(self, licenses: list[str], at: str | None = None) -> list[dict[str, str]]:
        """Renew these vehicles: a new expiration date and a later (or the given)
        ``:updated_at``, the ``:id`` kept; returns copies of the changed records."""
        with self.lock:
            wanted = set(licenses)
            changed = [r for r in self.records if r.get("vehicle_license_number") in wanted]
            for record in changed:
                record[":updated_at"] = self._tick(at)
                record["expiration_date"] = "2028-01-31T00:00:00.000"
            return [dict(r) for r in changed]

    def touch(self, count: int, at: str | None = None) -> list[dict[str, str]]:
        """``update`` the first ``count`` vehicles."""
        with self.lock:
            licenses = [r["vehicle_license_number"] for r in self.records[:count]]
        return self.update(licenses, at)

    def delete(self, licenses: list[str]) -> list[dict[str, str]]:
        """Remove these vehicles from the dataset; returns the removed records."""
        with self.lock:
            wanted = set(licenses)
            gone = [r for r in self.records if r.get("vehicle_license_number") in wanted]
            self.records[:] = [
                r for r in self.records if r.get("vehicle_license_number") not in wanted
            ]
            return gone

    def readd(self, records: list[dict[str, str]]) -> list[dict[str, str]]:
        """Put removed vehicles back: same fields, a new ``:id`` and a later ``:updated_at``."""
        with self.lock:
            back = []
            for record in records:
                now = self._tick()
                back.append(
                    {**record, ":id": self._new_id(), ":created_at": now, ":updated_at": now}
                )
            self.records.extend(back)
            return [dict(r) for r in back]

    def latest_updated_at(self) -> str:
        """The latest ``:updated_at`` in the dataset."""
        with self.lock:
            return max((r[":updated_at"] for r in self.records), key=_parse_stamp)

    def rows(self) -> list[dict[str, str]]:
        """The records as they are now (a new list of the same dicts; served as copies)."""
        with self.lock:
            return list(self.records)

    def snapshot(self) -> list[dict[str, str]]:
        """Copies of the records as they are now, unaffected by later changes."""
        with self.lock:
            return [dict(r) for r in self.records]


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


def _sort_key(column: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """Sort key of one $order column: missing values first, then typed values."""

    def key(record: dict[str, Any]) -> tuple[int, Any]:
        value = record.get(column)
        return (0, 0) if value is None else (1, _typed(column, value))

    return key


def _typed(column: str, text: str) -> Any:
    """A value as Socrata compares it: row ids by their number, timestamps as instants."""
    if column == ":id":
        return row_number(text)
    if column in (":updated_at", ":created_at"):
        return _parse_stamp(text)
    return text


def _compare(value: str | None, op: str, literal: str, column: str) -> bool:
    if value is None:
        return False
    left, right = _typed(column, value), _typed(column, literal)
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
        _typed(column, literal)  # an unparsable literal is a 400 even when no row is compared
        records = [r for r in records if _compare(r.get(column), op, literal, column)]
    return records


def _order(records: list[dict[str, str]], clause: str) -> list[dict[str, str]]:
    keys = []
    for term in clause.split(","):
        parts = term.split()
        if (
            not parts
            or len(parts) > 2
            or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC"))
        ):
            raise _bad("query.compiler.malformed", f"Could not parse $order: {clause}")
        keys.append((_column(parts[0]), len(parts) == 2 and parts[1].upper() == "DESC"))
    ordered = list(records)
    for column, descending in reversed(keys):  # stable sorts, last key first
        ordered.sort(key=_sort_key(column), reverse=descending)
    return ordered


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
        records = dataset.rows()
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
