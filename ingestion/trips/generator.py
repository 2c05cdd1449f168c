"""Synthetic TLC trip files: the real file names and schemas, realistic shape and dirt.

Trips are drawn with NumPy in chunks of ``CHUNK_ROWS`` (vectorised, one generator per
(seed, kind, month, chunk), so a file is identical for a seed) and streamed as Arrow record
batches into DuckDB's CSV/Parquet writer: memory stays at about one chunk whatever the size.

Dirt injected (each row gets at most one kind, from one draw, shares in ``DIRT_SHARES``):
negative amounts (refunds/disputes), zero distance, dropoff before pickup, a pickup outside
the file's month, null passenger_count/RatecodeID (payment_type 0, as in real files) and
extreme distances. ``_generator_manifest.json`` lists the counts per file.
"""

from __future__ import annotations

import calendar
import itertools
import json
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ingestion.core.settings import Settings
from ingestion.trips.months import Month
from ingestion.trips.zones import (
    AIRPORT_ZONES,
    JFK,
    LAGUARDIA,
    MANHATTAN,
    NEWARK,
    build_zones,
    write_zone_lookup,
)

FORMATS = ("parquet", "csv", "csv.gz")
KINDS = ("yellow", "green", "fhvhv")
ERAS = ("modern", "legacy")
MANIFEST_FILE = "_generator_manifest.json"
CHUNK_ROWS = 1_000_000
CBD_FEE_START = datetime(2025, 1, 5)

DIRT_SHARES: dict[str, float] = {
    "negative_amounts": 0.006,
    "zero_distance": 0.005,
    "dropoff_before_pickup": 0.002,
    "pickup_outside_month": 0.002,
    "null_passenger_count": 0.008,
    "extreme_distance": 0.001,
}
DIRT_NAMES = list(DIRT_SHARES)

_WEEKDAY_HOURS = (
    2.5, 1.5, 1.0, 0.7, 0.6, 1.0, 2.2, 3.8, 4.5, 4.5, 4.5, 4.8,
    5.1, 5.2, 5.6, 5.8, 5.7, 6.5, 7.0, 6.3, 5.6, 5.5, 5.1, 3.8,
)  # fmt: skip
_WEEKEND_HOURS = (
    4.8, 4.2, 3.2, 2.2, 1.2, 0.8, 0.9, 1.2, 1.9, 2.9, 3.8, 4.4,
    4.8, 5.0, 5.1, 5.1, 5.1, 5.3, 5.5, 5.4, 5.1, 5.0, 5.2, 5.0,
)  # fmt: skip
_WEEKDAY_WEIGHTS = (0.90, 1.00, 1.05, 1.10, 1.10, 1.05, 0.85)  # Monday first
_HOT_MANHATTAN = (161, 162, 186, 230, 236, 237, 170, 48)
_MICROS_PER_SECOND = 1_000_000


@dataclass
class GeneratedFile:
    path: str
    rows: int
    dirt: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _ZoneModel:
    ids: np.ndarray
    pickup_p: np.ndarray
    dropoff_p: np.ndarray
    borough_code: np.ndarray  # indexed by zone id
    is_manhattan: np.ndarray  # indexed by zone id


def _normalised(weights: Sequence[float]) -> np.ndarray:
    array = np.asarray(weights, dtype=np.float64)
    normalised: np.ndarray = array / array.sum()
    return normalised


def _zone_model(kind: str) -> _ZoneModel:
    zones = build_zones()
    boroughs = sorted({z.borough for z in zones})
    borough_code = np.zeros(266, dtype=np.int8)
    is_manhattan = np.zeros(266, dtype=bool)
    shares = {"yellow": (0.86, 0.78, 0.07, 0.04), "green": (0.12, 0.12, 0.01, 0.01)}
    pickup_manhattan, dropoff_manhattan, pickup_airport, dropoff_airport = shares.get(
        kind, (0.35, 0.35, 0.05, 0.05)
    )

    def weights(manhattan: float, airport: float) -> list[float]:
        out = []
        for zone in zones:
            if zone.location_id in AIRPORT_ZONES:
                split = {JFK: 0.55, LAGUARDIA: 0.44, NEWARK: 0.01}[zone.location_id]
                out.append(split * airport)
            elif zone.location_id in (264, 265):
                out.append(0.0025)
            elif zone.borough == "Manhattan":
                hot = 3.0 if zone.location_id in _HOT_MANHATTAN else 1.0
                out.append(manhattan * hot / (len(MANHATTAN) + 2 * len(_HOT_MANHATTAN)))
            else:
                out.append(max(1 - manhattan - airport - 0.005, 0.01) / 193)
        return out

    for zone in zones:
        borough_code[zone.location_id] = boroughs.index(zone.borough)
        is_manhattan[zone.location_id] = zone.borough == "Manhattan"
    return _ZoneModel(
        ids=np.array([z.location_id for z in zones], dtype=np.int32),
        pickup_p=_normalised(weights(pickup_manhattan, pickup_airport)),
        dropoff_p=_normalised(weights(dropoff_manhattan, dropoff_airport)),
        borough_code=borough_code,
        is_manhattan=is_manhattan,
    )


def _categorical(
    rng: np.random.Generator, values: Sequence[int] | np.ndarray, p: np.ndarray, n: int
) -> np.ndarray:
    """``rng.choice(values, p=p)`` by inverse CDF: several times faster for large ``n``."""
    cdf = np.cumsum(p)
    index = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    drawn: np.ndarray = np.asarray(values)[np.minimum(index, len(cdf) - 1)]
    return drawn


def _draw_chunk(
    rng: np.random.Generator, n: int, month: Month, zones: _ZoneModel
) -> dict[str, np.ndarray]:
    """One chunk of clean trips plus a ``dirt`` code per row (-1 = clean)."""
    days = calendar.monthrange(month.year, month.month)[1]
    weekday_of_day = np.array([date(month.year, month.month, d + 1).weekday() for d in range(days)])
    day = _categorical(
        rng, np.arange(days), _normalised([_WEEKDAY_WEIGHTS[w] for w in weekday_of_day]), n
    )
    weekend = weekday_of_day[day] >= 5
    hour = np.where(
        weekend,
        _categorical(rng, np.arange(24), _normalised(_WEEKEND_HOURS), n),
        _categorical(rng, np.arange(24), _normalised(_WEEKDAY_HOURS), n),
    )
    month_start = calendar.timegm((month.year, month.month, 1, 0, 0, 0)) * _MICROS_PER_SECOND
    pickup = (
        month_start
        + (day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n)) * _MICROS_PER_SECOND
    )
    pu = _categorical(rng, zones.ids, zones.pickup_p, n)
    do = _categorical(rng, zones.ids, zones.dropoff_p, n)
    touches_manhattan = zones.is_manhattan[pu] | zones.is_manhattan[do]
    same_borough = zones.borough_code[pu] == zones.borough_code[do]
    z = rng.standard_normal(n)
    jfk_or_ewr = np.isin(pu, (JFK, NEWARK)) | np.isin(do, (JFK, NEWARK))
    lga = (pu == LAGUARDIA) | (do == LAGUARDIA)
    distance = np.select(
        [jfk_or_ewr, lga, same_borough],
        [17 * np.exp(0.15 * z), 10 * np.exp(0.2 * z), 1.8 * np.exp(0.7 * z)],
        6.5 * np.exp(0.45 * z),
    ).round(2)
    rush = ((hour >= 7) & (hour <= 9)) | ((hour >= 16) & (hour <= 19))
    u_speed = rng.random(n)
    speed = np.select([rush, hour <= 5], [8 + 4 * u_speed, 15 + 8 * u_speed], 10 + 5 * u_speed)
    minutes = (distance / speed * 60 + 1 + 3 * rng.random(n)).round(2)

    u_rate = rng.random(n)
    jfk_flat = ((pu == JFK) | (do == JFK)) & touches_manhattan & (u_rate < 0.9)
    newark = (pu == NEWARK) | (do == NEWARK)
    ratecode = np.select(
        [jfk_flat, newark, u_rate > 0.997, u_rate > 0.995, u_rate > 0.993], [2, 3, 5, 4, 99], 1
    )
    payment = _categorical(rng, [1, 2, 3, 4], _normalised([0.78, 0.19, 0.015, 0.015]), n)
    passengers = _categorical(
        rng, [1, 2, 3, 4, 5, 6, 0], _normalised([0.72, 0.15, 0.04, 0.02, 0.03, 0.02, 0.02]), n
    )
    fare = np.where(ratecode == 2, 70.0, (3 + 2.5 * distance + 0.5 * minutes).round(2))
    overnight = (hour >= 20) | (hour < 6)
    extra = np.select([overnight, ~weekend & (hour >= 16) & (hour <= 19)], [1.0, 2.5], 0.0)
    congestion = np.where(touches_manhattan, 2.5, 0.0)
    airport_fee = np.where(np.isin(pu, (JFK, LAGUARDIA)), 1.75, 0.0)
    airport_trip = np.isin(pu, (JFK, LAGUARDIA)) | np.isin(do, (JFK, LAGUARDIA))
    tolls = np.where(airport_trip & (rng.random(n) < 0.4), 6.94, 0.0)
    cbd_start = calendar.timegm(CBD_FEE_START.timetuple()) * _MICROS_PER_SECOND
    cbd_fee = np.where(touches_manhattan & (pickup >= cbd_start), 0.75, 0.0)
    u_tip = rng.random(n)
    tip = np.select(
        [(payment == 1) & (u_tip < 0.85), (payment == 2) & (u_tip < 0.01)],
        [(fare * (0.12 + 0.14 * u_tip)).round(2), 1.0],
        0.0,
    )
    u_dirt = rng.random(n)
    cuts = np.cumsum(list(DIRT_SHARES.values()))
    dirt = np.searchsorted(cuts, u_dirt, side="right")
    dirt = np.where(dirt < len(cuts), dirt, -1)
    return {
        "vendor": _categorical(rng, [1, 2, 6, 7], _normalised([0.25, 0.74, 0.005, 0.005]), n),
        "pickup": pickup,
        "minutes": minutes,
        "day": day,
        "passengers": passengers,
        "distance": distance,
        "ratecode": ratecode,
        "store_flag": rng.random(n) < 0.005,
        "pu": pu,
        "do": do,
        "payment": payment,
        "fare": fare,
        "extra": extra,
        "tip": tip,
        "tolls": tolls,
        "congestion": congestion,
        "airport_fee": airport_fee,
        "cbd_fee": cbd_fee,
        "u_extreme": rng.random(n),
        "dirt": dirt,
    }


def _apply_dirt(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Timestamps and amounts after each row's dirt, plus the mask of null-heavy rows."""
    dirt = d["dirt"]
    code = {name: i for i, name in enumerate(DIRT_NAMES)}
    duration = (d["minutes"] * 60).astype(np.int64) * _MICROS_PER_SECOND
    pickup = np.where(
        dirt == code["pickup_outside_month"],
        d["pickup"] - (2 + d["day"]) * 86_400 * _MICROS_PER_SECOND,
        d["pickup"],
    )
    dropoff = np.where(dirt == code["dropoff_before_pickup"], pickup - duration, pickup + duration)
    distance = np.select(
        [dirt == code["zero_distance"], dirt == code["extreme_distance"]],
        [0.0, (1000 + 90_000 * d["u_extreme"]).round(2)],
        d["distance"],
    )
    sign = np.where(dirt == code["negative_amounts"], -1.0, 1.0)
    tip = np.where(sign < 0, 0.0, d["tip"])
    return {
        "pickup": pickup,
        "dropoff": dropoff,
        "distance": distance,
        "sign": sign,
        "tip": tip,
        "nulls": dirt == code["null_passenger_count"],
        "payment": np.where(
            sign < 0, 4, np.where(dirt == code["null_passenger_count"], 0, d["payment"])
        ),
    }


def _timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(micros, type=pa.timestamp("us"))


def _yellow_like_batch(
    d: dict[str, np.ndarray], kind: str, era: str, month: Month
) -> pa.RecordBatch:
    dirty = _apply_dirt(d)
    sign, nulls = dirty["sign"], dirty["nulls"]
    prefix = "tpep" if kind == "yellow" else "lpep"
    money = {
        name: (d[name] * sign).round(2) for name in ("fare", "extra", "congestion", "airport_fee")
    }
    total = (
        money["fare"]
        + money["extra"]
        + 0.5 * sign
        + dirty["tip"]
        + d["tolls"]
        + 1.0 * sign
        + money["congestion"]
        + money["airport_fee"]
        + d["cbd_fee"] * sign
    ).round(2)
    passengers = pa.array(
        d["passengers"].astype(np.float64 if era == "legacy" else np.int64), mask=nulls
    )
    columns: dict[str, pa.Array] = {
        "VendorID": pa.array(d["vendor"].astype(np.int32 if era == "modern" else np.int64)),
        f"{prefix}_pickup_datetime": _timestamps(dirty["pickup"]),
        f"{prefix}_dropoff_datetime": _timestamps(dirty["dropoff"]),
        "passenger_count": passengers,
        "trip_distance": pa.array(dirty["distance"]),
        "RatecodeID": pa.array(d["ratecode"].astype(np.int64), mask=nulls),
        "store_and_fwd_flag": pa.array(np.where(d["store_flag"], "Y", "N"), mask=nulls),
        "PULocationID": pa.array(d["pu"].astype(np.int32)),
        "DOLocationID": pa.array(d["do"].astype(np.int32)),
        "payment_type": pa.array(dirty["payment"].astype(np.int64)),
        "fare_amount": pa.array(money["fare"]),
        "extra": pa.array(money["extra"]),
        "mta_tax": pa.array(0.5 * sign),
        "tip_amount": pa.array(dirty["tip"]),
        "tolls_amount": pa.array(d["tolls"]),
    }
    if kind == "green":
        columns["ehail_fee"] = pa.nulls(len(sign), pa.float64())
    columns["improvement_surcharge"] = pa.array(1.0 * sign)
    columns["total_amount"] = pa.array(total)
    columns["congestion_surcharge"] = pa.array(money["congestion"], mask=nulls)
    if kind == "green":
        columns["trip_type"] = pa.array(np.where(d["ratecode"] == 5, 2, 1).astype(np.int64))
    if era == "modern":
        columns["Airport_fee"] = pa.array(money["airport_fee"], mask=nulls)
        if month.first_day >= date(2025, 1, 1):
            columns["cbd_congestion_fee"] = pa.array((d["cbd_fee"] * sign).round(2))
    elif month.month % 2 == 0:
        columns["airport_fee"] = pa.array(money["airport_fee"], mask=nulls)
    return pa.RecordBatch.from_pydict(columns)


def _fhvhv_batch(d: dict[str, np.ndarray]) -> pa.RecordBatch:
    dirty = _apply_dirt(d)
    uber = d["vendor"] != 1
    pickup = dirty["pickup"]
    wait = (60 + 420 * d["u_extreme"]).astype(np.int64) * _MICROS_PER_SECOND
    fare = (d["fare"] * dirty["sign"]).round(2)
    return pa.RecordBatch.from_pydict(
        {
            "hvfhs_license_num": pa.array(np.where(uber, "HV0003", "HV0005")),
            "dispatching_base_num": pa.array(np.where(uber, "B03404", "B03406")),
            "originating_base_num": pa.array(np.where(uber, "B03404", "B03406"), mask=~uber),
            "request_datetime": _timestamps(pickup - wait),
            "on_scene_datetime": _timestamps(pickup - wait // 8),
            "pickup_datetime": _timestamps(pickup),
            "dropoff_datetime": _timestamps(dirty["dropoff"]),
            "PULocationID": pa.array(d["pu"].astype(np.int32)),
            "DOLocationID": pa.array(d["do"].astype(np.int32)),
            "trip_miles": pa.array(dirty["distance"]),
            "trip_time": pa.array((d["minutes"] * 60).astype(np.int64)),
            "base_passenger_fare": pa.array(fare),
            "tolls": pa.array(d["tolls"]),
            "bcf": pa.array((fare * 0.0275).round(2)),
            "sales_tax": pa.array((fare * 0.08875).round(2)),
            "congestion_surcharge": pa.array(d["congestion"]),
            "airport_fee": pa.array(d["airport_fee"]),
            "tips": pa.array(dirty["tip"]),
            "driver_pay": pa.array((fare * 0.72 + dirty["tip"]).round(2)),
            "shared_request_flag": pa.array(np.full(len(fare), "N")),
            "shared_match_flag": pa.array(np.full(len(fare), "N")),
            "access_a_ride_flag": pa.array(np.full(len(fare), "N")),
            "wav_request_flag": pa.array(np.where(d["u_extreme"] > 0.99, "Y", "N")),
            "wav_match_flag": pa.array(np.where(d["u_extreme"] > 0.99, "Y", "N")),
        }
    )


def file_name(kind: str, month: Month, fmt: str) -> str:
    return f"{kind}_tripdata_{month}.{fmt}"


def _batches(
    kind: str, month: Month, rows: int, seed: int, era: str, dirt_counts: dict[str, int]
) -> Iterator[pa.RecordBatch]:
    """Chunks drawn on a small thread pool (NumPy releases the GIL), yielded in order.

    At most ``workers + 1`` chunks are in flight, so memory stays bounded.
    """
    zones = _zone_model(kind)
    kind_code = KINDS.index(kind)
    workers = max(1, min(4, os.cpu_count() or 1))

    def make(chunk: int) -> tuple[pa.RecordBatch, np.ndarray]:
        start = chunk * CHUNK_ROWS
        rng = np.random.default_rng([seed, kind_code, month.year, month.month, chunk])
        draws = _draw_chunk(rng, min(CHUNK_ROWS, rows - start), month, zones)
        if kind == "fhvhv":
            return _fhvhv_batch(draws), draws["dirt"]
        return _yellow_like_batch(draws, kind, era, month), draws["dirt"]

    chunks = iter(range((rows + CHUNK_ROWS - 1) // CHUNK_ROWS))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = deque(pool.submit(make, c) for c in itertools.islice(chunks, workers + 1))
        while pending:
            batch, dirt = pending.popleft().result()
            for chunk in itertools.islice(chunks, 1):
                pending.append(pool.submit(make, chunk))
            codes, counts = np.unique(dirt, return_counts=True)
            for code, count in zip(codes, counts, strict=True):
                if code >= 0:
                    dirt_counts[DIRT_NAMES[code]] += int(count)
            yield batch


def generate_month(
    out_dir: Path,
    kind: str,
    month: Month,
    rows: int,
    fmt: str,
    seed: int,
    era: str = "modern",
    connection: duckdb.DuckDBPyConnection | None = None,
) -> GeneratedFile:
    """Write one monthly file and return what it holds (rows and dirt counts)."""
    con = connection or duckdb.connect()
    dirt = dict.fromkeys(DIRT_NAMES, 0)
    batches = _batches(kind, month, rows, seed, era, dirt)
    first = next(batches)
    reader = pa.RecordBatchReader.from_batches(first.schema, _chain(first, batches))
    target = out_dir / file_name(kind, month, fmt)
    con.register("generated_trips", reader)
    select = "select * from generated_trips"
    if fmt == "parquet":
        # The TLC's Parquet files store timestamps in nanoseconds.
        stamps = [n for n in first.schema.names if n.endswith("_datetime")]
        replaced = ", ".join(f"cast({n} as timestamp_ns) as {n}" for n in stamps)
        select = f"select * replace ({replaced}) from generated_trips"
    options = {
        "parquet": "format parquet, compression zstd, row_group_size 122880",
        "csv": "format csv, header true, timestampformat '%Y-%m-%d %H:%M:%S'",
        "csv.gz": "format csv, header true, timestampformat '%Y-%m-%d %H:%M:%S', compression gzip",
    }[fmt]
    con.execute(f"copy ({select}) to '{target}' ({options})")
    con.unregister("generated_trips")
    return GeneratedFile(str(target), rows, dirt)


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


@dataclass
class GenerateReport:
    files: list[GeneratedFile]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        dirt = sum(sum(f.dirt.values()) for f in self.files)
        return (
            f"generated {len(self.files)} file(s), {self.rows:,} rows ({dirt:,} with injected "
            f"dirt) in {self.seconds:.1f} s ({rate:,.0f} rows/s)"
        )


def generate(
    out_dir: Path,
    months: Sequence[Month],
    rows_per_month: int,
    fmt: str = "parquet",
    seed: int = 42,
    kinds: Sequence[str] = ("yellow",),
    era: str = "modern",
    settings: Settings | None = None,
) -> GenerateReport:
    """Write every (kind, month) file, the zone lookup and the manifest into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Insertion order keeps a file byte-identical for a seed.
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": "true"}
    if settings is not None:
        config["memory_limit"] = settings.budget.duckdb_memory_limit
    con = duckdb.connect(config=config)
    started = time.perf_counter()
    files = [
        generate_month(out_dir, kind, month, rows_per_month, fmt, seed, era, con)
        for kind in kinds
        for month in months
    ]
    write_zone_lookup(out_dir)
    report = GenerateReport(files, time.perf_counter() - started)
    manifest_path = out_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for generated in files:
        manifest[Path(generated.path).name] = {"rows": generated.rows, "dirt": generated.dirt}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return report
