"""The stable table schema of each TLC file kind, and how source headers map onto it.

TLC headers drift across years: ``Airport_fee`` vs ``airport_fee``, ``RatecodeID`` vs
``Rate_Code``, leading spaces, integer columns written as floats. Every header is matched by
its *key* (lower case, letters and digits only), so all spellings of a column land in one
column of the stable schema. Columns a file lacks load as NULL; columns the schema does not
know are kept under their snake_case name, so nothing a file carries is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingestion.core.errors import SourceError


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    # The seed (``seeds/<codes>.csv``) that maps this column's text codes to today's codes.
    codes: str | None = None

    @property
    def keys(self) -> set[str]:
        return {header_key(self.name), *(header_key(a) for a in self.aliases)}


@dataclass(frozen=True)
class TableSchema:
    kind: str
    table: str
    columns: tuple[Column, ...]
    # Columns a file must have for its header to be recognised as this kind at all; an entry
    # "a|b" is met by either column (a location id, or the coordinates it is derived from).
    required: tuple[str, ...] = ()

    def match(self, header: str) -> Column | None:
        key = header_key(header)
        for column in self.columns:
            if key in column.keys:
                return column
        return None

    def own_name(self, header: str) -> bool:
        """Whether ``header`` is its column's own name rather than an alias: where a file
        has both (fhv 2018: ``Dispatching_base_num`` and ``Dispatching_base_number``), the
        own name wins and the alias is kept as an extra column."""
        column = self.match(header)
        return column is not None and header_key(header) == header_key(column.name)

    def has(self, name: str) -> bool:
        return any(column.name == name for column in self.columns)


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def snake_case(header: str) -> str:
    """The name dlt's snake_case convention would give an unknown column."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", header.strip())
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return text if text and not text[0].isdigit() else f"_{text}"


def _money(name: str, *aliases: str) -> Column:
    return Column(name, "DOUBLE", aliases, "US dollars, as the meter recorded it")


_VENDOR = Column(
    "vendor_id",
    "BIGINT",
    ("VendorID", "vendor_name"),
    "TPEP/LPEP provider code",
    codes="tlc_vendor_codes",
)
_RATECODE = Column("ratecode_id", "BIGINT", ("RatecodeID", "Rate_Code"), "final rate code")
_PU = Column(
    "pu_location_id",
    "BIGINT",
    ("PULocationID", "pickup_location_id"),
    "TLC pickup zone id (from the coordinates in the 2009-2016 files)",
)
_DO = Column(
    "do_location_id",
    "BIGINT",
    ("DOLocationID", "dropoff_location_id"),
    "TLC dropoff zone id (from the coordinates in the 2009-2016 files)",
)
_PASSENGERS = Column("passenger_count", "BIGINT", ("Passenger_Count",), "driver-entered")
_DISTANCE = Column("trip_distance", "DOUBLE", ("Trip_Distance",), "miles on the meter")
_FLAG = Column(
    "store_and_fwd_flag",
    "VARCHAR",
    ("store_and_forward",),
    "Y = stored, sent later",
    codes="tlc_store_and_fwd_codes",
)
_PAYMENT = Column(
    "payment_type", "BIGINT", ("Payment_Type",), "payment code", codes="tlc_payment_type_codes"
)
_COORDINATES = (
    Column("pickup_longitude", "DOUBLE", ("Start_Lon",), "WGS84 degrees (2009-2016 files)"),
    Column("pickup_latitude", "DOUBLE", ("Start_Lat",), "WGS84 degrees (2009-2016 files)"),
    Column("dropoff_longitude", "DOUBLE", ("End_Lon",), "WGS84 degrees (2009-2016 files)"),
    Column("dropoff_latitude", "DOUBLE", ("End_Lat",), "WGS84 degrees (2009-2016 files)"),
)
_STATUS = (
    "where the zone id came from the coordinates: inside, zero (0/0), outside (in no zone), "
    "missing or not_finite; NULL when the file had zone ids"
)
_ZONE_STATUS = (
    Column("pu_zone_status", "VARCHAR", (), _STATUS),
    Column("do_zone_status", "VARCHAR", (), _STATUS),
)
# (zone id, longitude, latitude, status): the zone columns derived from coordinates.
ZONE_COLUMNS = (
    ("pu_location_id", "pickup_longitude", "pickup_latitude", "pu_zone_status"),
    ("do_location_id", "dropoff_longitude", "dropoff_latitude", "do_zone_status"),
)
# Stable columns no header fills: the reader derives them.
DERIVED = frozenset(status for *_, status in ZONE_COLUMNS)
_ZONE_OR_COORDINATES = "pu_location_id|pickup_longitude"

YELLOW = TableSchema(
    "yellow",
    "yellow_trips",
    (
        _VENDOR,
        Column("tpep_pickup_datetime", "TIMESTAMP", ("Trip_Pickup_DateTime", "pickup_datetime")),
        Column("tpep_dropoff_datetime", "TIMESTAMP", ("Trip_Dropoff_DateTime", "dropoff_datetime")),
        _PASSENGERS,
        _DISTANCE,
        _RATECODE,
        _FLAG,
        _PU,
        _DO,
        _PAYMENT,
        _money("fare_amount", "Fare_Amt"),
        _money("extra", "surcharge"),
        _money("mta_tax"),
        _money("tip_amount", "Tip_Amt"),
        _money("tolls_amount", "Tolls_Amt"),
        _money("improvement_surcharge", "imp_surcharge"),
        _money("total_amount", "Total_Amt"),
        _money("congestion_surcharge"),
        _money("airport_fee", "Airport_fee"),
        _money("cbd_congestion_fee"),
        *_COORDINATES,
        *_ZONE_STATUS,
    ),
    required=("tpep_pickup_datetime", _ZONE_OR_COORDINATES),
)

GREEN = TableSchema(
    "green",
    "green_trips",
    (
        _VENDOR,
        Column("lpep_pickup_datetime", "TIMESTAMP", ("pickup_datetime",)),
        Column("lpep_dropoff_datetime", "TIMESTAMP", ("dropoff_datetime",)),
        _FLAG,
        _RATECODE,
        _PU,
        _DO,
        _PASSENGERS,
        _DISTANCE,
        _money("fare_amount"),
        _money("extra"),
        _money("mta_tax"),
        _money("tip_amount"),
        _money("tolls_amount"),
        _money("ehail_fee"),
        _money("improvement_surcharge", "imp_surcharge"),
        _money("total_amount"),
        _PAYMENT,
        Column("trip_type", "BIGINT", (), "1 street-hail, 2 dispatch"),
        _money("congestion_surcharge"),
        _money("cbd_congestion_fee"),
        *_COORDINATES,
        *_ZONE_STATUS,
    ),
    required=("lpep_pickup_datetime", _ZONE_OR_COORDINATES),
)

FHV = TableSchema(
    "fhv",
    "fhv_trips",
    (
        Column(
            "dispatching_base_num",
            "VARCHAR",
            ("Dispatching_base_number",),
            "TLC license of the base that dispatched the trip",
        ),
        Column("pickup_datetime", "TIMESTAMP", ("Pickup_date",)),
        Column("dropoff_datetime", "TIMESTAMP"),
        Column(
            "pu_location_id",
            "BIGINT",
            ("PUlocationID", "locationID", "pickup_location_id"),
            "TLC pickup zone id",
        ),
        Column(
            "do_location_id",
            "BIGINT",
            ("DOlocationID", "dropoff_location_id"),
            "TLC dropoff zone id",
        ),
        Column("sr_flag", "BIGINT", (), "1 = a shared ride (from 2017-07)"),
        Column("affiliated_base_number", "VARCHAR", (), "the base the vehicle is affiliated with"),
    ),
    required=("pickup_datetime", "dispatching_base_num"),
)

FHVHV = TableSchema(
    "fhvhv",
    "fhvhv_trips",
    (
        Column("hvfhs_license_num", "VARCHAR"),
        Column("dispatching_base_num", "VARCHAR"),
        Column("originating_base_num", "VARCHAR"),
        Column("request_datetime", "TIMESTAMP"),
        Column("on_scene_datetime", "TIMESTAMP"),
        Column("pickup_datetime", "TIMESTAMP"),
        Column("dropoff_datetime", "TIMESTAMP"),
        _PU,
        _DO,
        Column("trip_miles", "DOUBLE"),
        Column("trip_time", "BIGINT", (), "seconds"),
        _money("base_passenger_fare"),
        _money("tolls"),
        _money("bcf"),
        _money("sales_tax"),
        _money("congestion_surcharge"),
        _money("airport_fee"),
        _money("tips"),
        _money("driver_pay"),
        Column("shared_request_flag", "VARCHAR"),
        Column("shared_match_flag", "VARCHAR"),
        Column("access_a_ride_flag", "VARCHAR"),
        Column("wav_request_flag", "VARCHAR"),
        Column("wav_match_flag", "VARCHAR"),
        _money("cbd_congestion_fee"),
    ),
    required=("pickup_datetime", "pu_location_id"),
)

ZONES = TableSchema(
    "zones",
    "taxi_zones",
    (
        Column("location_id", "BIGINT", ("LocationID",)),
        Column("borough", "VARCHAR"),
        Column("zone", "VARCHAR"),
        Column("service_zone", "VARCHAR"),
    ),
    required=("location_id", "borough"),
)

TRIP_SCHEMAS = {schema.kind: schema for schema in (YELLOW, GREEN, FHV, FHVHV)}

# Lineage columns every trip row carries.
SOURCE_FILE_COLUMN = "_source_file"
LOAD_ID_COLUMN = "_dlt_load_id"

_TRIP_FILE = re.compile(
    r"^(?P<kind>yellow|green|fhvhv|fhv)_tripdata_(?P<month>\d{4}-\d{2})\.(?P<fmt>parquet|csv|csv\.gz)$"
)
ZONE_FILE = re.compile(r"^taxi_zone_lookup\.csv$")


@dataclass(frozen=True)
class FileKind:
    schema: TableSchema
    month: str | None
    fmt: str

    def with_month(self, month: str | None) -> FileKind:
        """The same kind and format for another month (``None``: any month)."""
        return FileKind(self.schema, month, self.fmt)

    @property
    def identity(self) -> str:
        """What the file is, whatever its format: ``yellow_tripdata_2024-01``, the zone lookup.

        The same month as Parquet and as CSV is one file to the warehouse, loaded once.
        """
        if self.month is None:
            return "taxi_zone_lookup"
        return f"{self.schema.kind}_tripdata_{self.month}"


def classify(file_name: str) -> FileKind | None:
    """The kind of a TLC file from its name, or ``None`` for files that are not TLC data."""
    if ZONE_FILE.match(file_name):
        return FileKind(ZONES, None, "csv")
    match = _TRIP_FILE.match(file_name)
    if not match:
        return None
    return FileKind(TRIP_SCHEMAS[match["kind"]], match["month"], match["fmt"])


def require_kind(file_name: str) -> FileKind:
    kind = classify(file_name)
    if kind is None:
        raise SourceError(
            f"{file_name} is not a TLC file name (expected e.g. yellow_tripdata_2024-01.parquet)"
        )
    return kind
