"""The TLC archive's eras for the generator: each file's header, codes and layout as published.

``generate(..., era="archive")`` writes every (kind, month) as the TLC did then; ``"bigquery"``
writes yellow and green as BigQuery's public TLC dataset exports them. The trips themselves
come from the generator's model (``generator._draw_chunk``); this module only dresses them:

- yellow 2009 (``vendor_name``, ``Trip_Pickup_DateTime``, ``Start_Lon``, …, text vendors
  ``CMT``/``VTS``/``DDS`` and payments ``CASH``/``Cash``/``CREDIT``/``Credit``/``No Charge``/
  ``Dispute``, store-and-forward ``0``/``1``, an all-null ``Rate_Code`` and ``mta_tax``);
- yellow 2010-2014 (``vendor_id``, ``pickup_datetime``, ``pickup_longitude``, ``rate_code``, …,
  payments ``CSH``/``CAS``/``CRD``/``CRE``/``NOC``/``DIS``/``UNK``); 2014 headers with a space
  after every comma, 2010-2013 CSVs with a blank line after the header;
- yellow 2015-01 to 2016-06 (``VendorID``, ``tpep_…``, coordinates, ``RateCodeID``, from 2016
  ``RatecodeID``, ``improvement_surcharge``);
- green 2013-08 to 2016-06 (``Lpep_dropoff_datetime``, ``Pickup_longitude``, …, ``Ehail_fee``
  all null, ``improvement_surcharge`` from 2015); 2013-2014 CSV rows end in two commas the
  header does not have;
- fhv: 2015-2016 ``Dispatching_base_num, Pickup_date, locationID``; 2017-01..06 adds
  ``DropOff_datetime, PUlocationID, DOlocationID``; 2017-07.. ``SR_Flag``; 2018 both
  ``Dispatching_base_number`` and ``Dispatching_base_num``; 2019.. the lower-case header; the
  Parquet re-issue ``dropOff_datetime`` and ``Affiliated_base_number``;
- BigQuery exports: ``pickup_location_id``, ``rate_code``, ``imp_surcharge``, ids as text,
  timestamps written with ``+00:00`` (Parquet: UTC timestamps).

Coordinates lie inside the trip's real zone polygon (points drawn once per zone by rejection
against ``zone_points.locate``); Unknown (264) gets 0/0, Outside of NYC (265) a point beyond
every zone, and about 1 % of rows a 0/0 or far-away point, as the meters wrote them. In
Parquet, all-null columns have Arrow's null type, as some re-issued files do.
"""

from __future__ import annotations

import functools
import gzip
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.trips.months import Month
from ingestion.trips.zone_points import load_polygons, locate

ARCHIVE_ERAS = ("archive", "bigquery")
POOL_POINTS = 64
# Points meters wrote far from any zone: New Jersey, Westchester, latitude and longitude
# swapped, Los Angeles.
FAR_AWAY = np.array([(-74.62, 40.91), (-73.80, 41.25), (40.75, -73.98), (-118.24, 34.05)])
ZERO_SHARE, FAR_SHARE, NULL_SHARE = 0.008, 0.003, 0.002
_MICROS = 1_000_000


@dataclass(frozen=True)
class Layout:
    """How one file is written: its era, and the quirks of its CSV text."""

    era: str  # y2009, y2010, y2015, g2013, fhv2015, fhv2017, fhv2017sr, fhv2018, fhv2019,
    # fhv_parquet, bigquery, modern
    spaced_header: bool = False
    blank_after_header: bool = False
    trailing_commas: int = 0
    timestamp_suffix: str = ""


def layout(kind: str, month: Month, era: str, fmt: str) -> Layout:
    """The layout the TLC (or BigQuery) published ``kind`` of ``month`` in."""
    csv = fmt != "parquet"
    if era == "bigquery" and kind in ("yellow", "green"):
        return Layout("bigquery", timestamp_suffix="+00:00" if csv else "")
    if kind == "fhv":
        if not csv:
            return Layout("fhv_parquet")
        if month.year <= 2016:
            return Layout("fhv2015")
        if month.year == 2017:
            return Layout("fhv2017" if month.month <= 6 else "fhv2017sr")
        return Layout("fhv2018" if month.year == 2018 else "fhv2019")
    if kind == "yellow" and month <= Month(2016, 6):
        if month.year <= 2009:
            return Layout("y2009")
        if month.year <= 2014:
            return Layout(
                "y2010",
                spaced_header=csv and month.year == 2014,
                blank_after_header=csv and month.year <= 2013,
            )
        return Layout("y2015")
    if kind == "green" and month <= Month(2016, 6):
        return Layout("g2013", trailing_commas=2 if csv and month.year <= 2014 else 0)
    return Layout("modern")


@functools.cache
def _zone_points() -> dict[int, np.ndarray]:
    """For every LocationID with a polygon, POOL_POINTS (lon, lat) points inside it."""
    polygons = load_polygons()
    ids = polygons.location_ids
    rng = np.random.default_rng(2263)
    boxes: dict[int, tuple[float, float, float, float]] = {}
    for ring, location_id in enumerate(polygons.ring_location_id):
        start, end = polygons.ring_offsets[ring], polygons.ring_offsets[ring + 1]
        lon, lat = polygons.lon[start:end], polygons.lat[start:end]
        x0, x1, y0, y1 = boxes.get(int(location_id), (180.0, -180.0, 90.0, -90.0))
        boxes[int(location_id)] = (
            min(x0, lon.min()),
            max(x1, lon.max()),
            min(y0, lat.min()),
            max(y1, lat.max()),
        )
    pools: dict[int, list[np.ndarray]] = {int(i): [] for i in ids}
    for _ in range(400):
        short = [i for i, found in pools.items() if sum(len(f) for f in found) < POOL_POINTS]
        if not short:
            break
        box = np.array([boxes[i] for i in short])
        tries = 256
        lon = rng.uniform(box[:, 0:1], box[:, 1:2], (len(short), tries)).ravel()
        lat = rng.uniform(box[:, 2:3], box[:, 3:4], (len(short), tries)).ravel()
        found = locate(lon, lat).location_id.reshape(len(short), tries)
        for row, location_id in enumerate(short):
            inside = found[row] == location_id
            points = np.column_stack(
                [
                    lon.reshape(len(short), tries)[row][inside],
                    lat.reshape(len(short), tries)[row][inside],
                ]
            )
            pools[location_id].append(points)
    return {i: np.concatenate(found)[:POOL_POINTS] for i, found in pools.items()}


def coordinates(zones: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A (lon, lat) for each zone id: a point inside its polygon, 0/0 for Unknown, far away
    for Outside of NYC, and a share of 0/0, far-away and missing (NaN) points."""
    pools = _zone_points()
    n = len(zones)
    lon, lat = np.zeros(n), np.zeros(n)
    pick = rng.integers(0, POOL_POINTS, n)
    stand_in = {57: 56, 104: 103, 105: 103}  # zones of the lookup without a polygon
    for zone in np.unique(zones):
        rows = zones == zone
        pool = pools.get(stand_in.get(int(zone), int(zone)))
        if pool is not None:
            lon[rows], lat[rows] = pool[pick[rows] % len(pool)].T
        elif zone == 265:
            far = FAR_AWAY[pick[rows] % 2]
            lon[rows], lat[rows] = far.T
    u = rng.random(n)
    lon[u < ZERO_SHARE] = lat[u < ZERO_SHARE] = 0.0
    far = (u >= ZERO_SHARE) & (u < ZERO_SHARE + FAR_SHARE)
    lon[far], lat[far] = FAR_AWAY[pick[far] % len(FAR_AWAY)].T
    missing = (u >= ZERO_SHARE + FAR_SHARE) & (u < ZERO_SHARE + FAR_SHARE + NULL_SHARE)
    lon[missing] = lat[missing] = np.nan
    return lon.round(6), lat.round(6)


def _choice(
    rng: np.random.Generator,
    options: dict[int, tuple[str, ...]],
    codes: np.ndarray,
    default: tuple[str, ...],
) -> np.ndarray:
    """Each code's text, one of its spellings at random."""
    out = np.empty(len(codes), dtype=object)
    spelling = rng.integers(0, 1 << 30, len(codes))
    for code in np.unique(codes):
        rows = codes == code
        texts = options.get(int(code), default)
        out[rows] = np.asarray(texts, dtype=object)[spelling[rows] % len(texts)]
    return out


_PAY_2009 = {1: ("CREDIT", "Credit"), 2: ("CASH", "Cash"), 3: ("No Charge",), 4: ("Dispute",)}
_PAY_2010 = {1: ("CRD", "CRE"), 2: ("CSH", "CAS"), 3: ("NOC",), 4: ("DIS",), 5: ("UNK",)}


def _coordinates_of(d: dict[str, Any], rng: np.random.Generator) -> dict[str, pa.Array]:
    pu_lon, pu_lat = coordinates(d["pu"], rng)
    do_lon, do_lat = coordinates(d["do"], rng)

    def column(values: np.ndarray) -> pa.Array:
        return pa.array(values, mask=np.isnan(values))

    return {
        "pu_lon": column(pu_lon),
        "pu_lat": column(pu_lat),
        "do_lon": column(do_lon),
        "do_lat": column(do_lat),
    }


def _stamps(micros: np.ndarray, tz: str | None = None) -> pa.Array:
    return pa.array(micros, type=pa.timestamp("us", tz=tz))


def _money(d: dict[str, Any]) -> dict[str, np.ndarray]:
    sign = d["sign"]
    fare = (d["fare"] * sign).round(2)
    extra = (d["extra"] * sign).round(2)
    mta = 0.5 * sign
    improvement = 0.3 * sign
    total = (fare + extra + mta + d["tip"] + d["tolls"] + improvement).round(2)
    return {"fare": fare, "extra": extra, "mta": mta, "improvement": improvement, "total": total}


def batch(
    layout_: Layout, kind: str, d: dict[str, Any], rng: np.random.Generator, month: Month, fmt: str
) -> pa.RecordBatch:
    """One chunk of trips ``d`` (the generator's dirty draws) in the file's era."""
    era = layout_.era
    if era.startswith("fhv"):
        return _fhv(era, d, rng)
    n = len(d["sign"])
    nulls = d["nulls"]
    parquet = fmt == "parquet"
    money = _money(d)
    passengers = pa.array(d["passengers"].astype(np.int64), mask=nulls)
    distance = pa.array(d["distance"])
    ratecode = pa.array(d["ratecode"].astype(np.int64), mask=nulls)
    payment_codes = np.where(d["payment"] == 0, 2, d["payment"])
    columns: dict[str, pa.Array]
    if era == "bigquery":
        tz = "UTC" if parquet else None
        columns = {
            "vendor_id": pa.array(d["vendor"].astype(str)),
            "pickup_datetime": _stamps(d["pickup"], tz),
            "dropoff_datetime": _stamps(d["dropoff"], tz),
            "passenger_count": passengers,
            "trip_distance": distance,
            "rate_code": pa.array(np.char.add(d["ratecode"].astype(str), ".0"), mask=nulls),
            "store_and_fwd_flag": pa.array(np.where(d["store_flag"], "Y", "N"), mask=nulls),
            "payment_type": pa.array(payment_codes.astype(str)),
            "fare_amount": pa.array(money["fare"]),
            "extra": pa.array(money["extra"]),
            "mta_tax": pa.array(money["mta"]),
            "tip_amount": pa.array(d["tip"]),
            "tolls_amount": pa.array(d["tolls"]),
            "imp_surcharge": pa.array(money["improvement"]),
            "total_amount": pa.array(money["total"]),
            "pickup_location_id": pa.array(d["pu"].astype(str)),
            "dropoff_location_id": pa.array(d["do"].astype(str)),
            "data_file_year": pa.array(np.full(n, month.year)),
            "data_file_month": pa.array(np.full(n, month.month)),
        }
        return pa.RecordBatch.from_pydict(columns)
    xy = _coordinates_of(d, rng)
    all_null = pa.nulls(n) if parquet else pa.nulls(n, pa.float64())
    if era == "y2009":
        vendor = _choice(rng, {1: ("CMT",), 2: ("VTS",)}, d["vendor"], ("DDS",))
        flag = pa.array(np.where(d["store_flag"], 1.0, 0.0), mask=rng.random(n) < 0.7)
        columns = {
            "vendor_name": pa.array(vendor, pa.string()),
            "Trip_Pickup_DateTime": _stamps(d["pickup"]),
            "Trip_Dropoff_DateTime": _stamps(d["dropoff"]),
            "Passenger_Count": pa.array(d["passengers"].astype(np.int64)),
            "Trip_Distance": distance,
            "Start_Lon": xy["pu_lon"],
            "Start_Lat": xy["pu_lat"],
            "Rate_Code": all_null,
            "store_and_forward": flag
            if parquet
            else pa.array(np.where(d["store_flag"], "1", "0"), mask=rng.random(n) < 0.7),
            "End_Lon": xy["do_lon"],
            "End_Lat": xy["do_lat"],
            "Payment_Type": pa.array(
                _choice(rng, _PAY_2009, payment_codes, ("Cash",)), pa.string()
            ),
            "Fare_Amt": pa.array(money["fare"]),
            "surcharge": pa.array(money["extra"]),
            "mta_tax": all_null,
            "Tip_Amt": pa.array(d["tip"]),
            "Tolls_Amt": pa.array(d["tolls"]),
            "Total_Amt": pa.array((money["total"] - money["mta"] - money["improvement"]).round(2)),
        }
    elif era == "y2010":
        vendor = _choice(rng, {1: ("CMT",)}, d["vendor"], ("VTS",))
        columns = {
            "vendor_id": pa.array(vendor, pa.string()),
            "pickup_datetime": _stamps(d["pickup"]),
            "dropoff_datetime": _stamps(d["dropoff"]),
            "passenger_count": passengers,
            "trip_distance": distance,
            "pickup_longitude": xy["pu_lon"],
            "pickup_latitude": xy["pu_lat"],
            "rate_code": ratecode,
            "store_and_fwd_flag": pa.array(
                np.where(d["store_flag"], "Y", "N"), mask=rng.random(n) < 0.5
            ),
            "dropoff_longitude": xy["do_lon"],
            "dropoff_latitude": xy["do_lat"],
            "payment_type": pa.array(_choice(rng, _PAY_2010, payment_codes, ("UNK",)), pa.string()),
            "fare_amount": pa.array(money["fare"]),
            "surcharge": pa.array(money["extra"]),
            "mta_tax": pa.array(money["mta"]),
            "tip_amount": pa.array(d["tip"]),
            "tolls_amount": pa.array(d["tolls"]),
            "total_amount": pa.array((money["total"] - money["improvement"]).round(2)),
        }
    elif era == "y2015":
        columns = {
            "VendorID": pa.array(np.where(d["vendor"] == 1, 1, 2).astype(np.int64)),
            "tpep_pickup_datetime": _stamps(d["pickup"]),
            "tpep_dropoff_datetime": _stamps(d["dropoff"]),
            "passenger_count": passengers,
            "trip_distance": distance,
            "pickup_longitude": xy["pu_lon"],
            "pickup_latitude": xy["pu_lat"],
            "RateCodeID" if month.year == 2015 else "RatecodeID": ratecode,
            "store_and_fwd_flag": pa.array(np.where(d["store_flag"], "Y", "N"), mask=nulls),
            "dropoff_longitude": xy["do_lon"],
            "dropoff_latitude": xy["do_lat"],
            "payment_type": pa.array(payment_codes.astype(np.int64)),
            "fare_amount": pa.array(money["fare"]),
            "extra": pa.array(money["extra"]),
            "mta_tax": pa.array(money["mta"]),
            "tip_amount": pa.array(d["tip"]),
            "tolls_amount": pa.array(d["tolls"]),
            "improvement_surcharge": pa.array(money["improvement"]),
            "total_amount": pa.array(money["total"]),
        }
    elif era == "g2013":
        columns = {
            "VendorID": pa.array(np.where(d["vendor"] == 1, 1, 2).astype(np.int64)),
            "lpep_pickup_datetime": _stamps(d["pickup"]),
            "Lpep_dropoff_datetime": _stamps(d["dropoff"]),
            "Store_and_fwd_flag": pa.array(np.where(d["store_flag"], "Y", "N")),
            "RateCodeID": pa.array(d["ratecode"].astype(np.int64)),
            "Pickup_longitude": xy["pu_lon"],
            "Pickup_latitude": xy["pu_lat"],
            "Dropoff_longitude": xy["do_lon"],
            "Dropoff_latitude": xy["do_lat"],
            "Passenger_count": pa.array(d["passengers"].astype(np.int64)),
            "Trip_distance": distance,
            "Fare_amount": pa.array(money["fare"]),
            "Extra": pa.array(money["extra"]),
            "MTA_tax": pa.array(money["mta"]),
            "Tip_amount": pa.array(d["tip"]),
            "Tolls_amount": pa.array(d["tolls"]),
            "Ehail_fee": all_null,
        }
        if month.year >= 2015:
            columns["improvement_surcharge"] = pa.array(money["improvement"])
        columns["Total_amount"] = pa.array(money["total"])
        columns["Payment_type"] = pa.array(payment_codes.astype(np.int64))
        columns["Trip_type"] = pa.array(np.where(d["ratecode"] == 5, 2, 1).astype(np.int64))
    else:
        raise ValueError(f"no era {era!r} for {kind}")
    if layout_.trailing_commas:
        for i in range(layout_.trailing_commas):
            columns[f"_trailing_{i}"] = pa.nulls(n, pa.string())
    return pa.RecordBatch.from_pydict(columns)


def _fhv(era: str, d: dict[str, Any], rng: np.random.Generator) -> pa.RecordBatch:
    n = len(d["sign"])
    base = pa.array(np.char.add("B0", (rng.integers(1000, 3500, n)).astype(str)))
    affiliated = pa.array(
        np.char.add("B0", (rng.integers(1000, 3500, n)).astype(str)), mask=rng.random(n) < 0.3
    )
    unknown = rng.random(n) < 0.15
    pu = pa.array(d["pu"].astype(np.int64), mask=unknown)
    do = pa.array(d["do"].astype(np.int64), mask=unknown | (rng.random(n) < 0.05))
    shared = pa.array(np.ones(n, dtype=np.int64), mask=rng.random(n) > 0.05)
    pickup, dropoff = _stamps(d["pickup"]), _stamps(d["dropoff"])
    if era == "fhv2015":
        return pa.RecordBatch.from_pydict(
            {"Dispatching_base_num": base, "Pickup_date": pickup, "locationID": pu}
        )
    columns: dict[str, pa.Array] = {
        "Dispatching_base_num": base,
        "Pickup_DateTime": pickup,
        "DropOff_datetime": dropoff,
        "PUlocationID": pu,
        "DOlocationID": do,
    }
    if era == "fhv2017sr":
        columns["SR_Flag"] = shared
    elif era == "fhv2018":
        columns = {
            "Pickup_DateTime": pickup,
            "DropOff_datetime": dropoff,
            "PUlocationID": pu,
            "DOlocationID": do,
            "SR_Flag": shared,
            "Dispatching_base_number": base,
            "Dispatching_base_num": base,
        }
    elif era == "fhv2019":
        columns = {
            "dispatching_base_num": base,
            "pickup_datetime": pickup,
            "dropoff_datetime": dropoff,
            "PULocationID": pu,
            "DOLocationID": do,
            "SR_Flag": shared,
        }
    elif era == "fhv_parquet":
        columns = {
            "dispatching_base_num": base,
            "pickup_datetime": pickup,
            "dropOff_datetime": dropoff,
            "PUlocationID": pu,
            "DOlocationID": do,
            "SR_Flag": pa.nulls(n),
            "Affiliated_base_number": affiliated,
        }
    return pa.RecordBatch.from_pydict(columns)


def write(
    target: Path,
    layout_: Layout,
    fmt: str,
    schema: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Write ``batches`` as ``target`` in its era's layout, one batch in memory at a time."""
    if fmt == "parquet":
        stamped = pa.schema(
            [
                f.with_type(pa.timestamp("ns", tz=f.type.tz))
                if pa.types.is_timestamp(f.type)
                else f
                for f in schema
            ]
        )
        with pq.ParquetWriter(target, stamped, compression="zstd") as writer:
            for item in batches:
                writer.write_batch(item.cast(stamped), row_group_size=122_880)
        return
    names = [n for n in schema.names if not n.startswith("_trailing_")]
    header = (", " if layout_.spaced_header else ",").join(names) + "\n"
    if layout_.blank_after_header:
        header += "\n"
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    con.register("era_trips", reader)
    stamp = "%Y-%m-%d %H:%M:%S" + layout_.timestamp_suffix
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        body = Path(work) / "body.csv"
        con.execute(
            f"copy (select * from era_trips) to '{body}' "
            f"(format csv, header false, timestampformat '{stamp}')"
        )
        con.unregister("era_trips")
        opener: Any = gzip.open if fmt == "csv.gz" else open
        with opener(target, "wb") as out, body.open("rb") as source:
            out.write(header.encode())
            shutil.copyfileobj(source, out, 8 << 20)
