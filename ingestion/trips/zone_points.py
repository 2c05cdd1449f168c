"""TLC LocationIDs for longitude/latitude points, by exact point-in-polygon on the taxi zones.

The TLC's 2009–2016 yellow and green files record pickups and dropoffs as WGS84 coordinates;
every later file (and every fact in dbt) speaks in LocationIDs. :func:`locate` maps the one to
the other against the official taxi-zone polygons shipped in ``reference/taxi_zones.npz``
(converted from the TLC's shapefile by ``scripts/taxi_zones_to_npz.py``).

**The space.** The shapefile's vertices are transformed once to longitude/latitude; a point
is tested as it was recorded, with no per-point projection. Edges are straight lines between
the transformed vertices; the longest edge is 976 m, and its bend under the projection is far
below a GPS fix's error (ADR 11 has the figures).

**The rule.** A point is inside a zone when a ray from it towards +longitude crosses the
zone's rings an odd number of times (even-odd over every ring of the LocationID, so holes
and the parts of multi-polygon zones need no labels). An edge counts when its lower end is at
or below the point's latitude and its upper end above it (half-open), and it crosses the ray
strictly east of the point. So a point exactly on a border belongs to the zone east of it;
on an east-west border, the zone north of it. Where two neighbours' rings overlap (slivers
under a nanometre wide, where the shapefile's vertices of one border differ in the last
digits), the higher LocationID wins. Every point thus has at most one zone.
:func:`reference_locate` is that rule applied to every edge, one point at a time: the
definition the fast path is tested against.

**The fast path.** A uniform grid over the city. A cell that no edge's bounding box touches
lies wholly inside one zone (or outside all), so its points take that answer by one lookup.
A point in a boundary cell counts crossings only along its own row, from the point to the
next cell that no edge touches, whose answer supplies the parity of everything beyond
(see :class:`ZoneGrid`). Both steps are NumPy over chunks of :data:`CHUNK_POINTS` points, so
memory stays bounded whatever the input's length. The result equals
:func:`reference_locate` bit for bit: every comparison is the same floating-point expression.

**The answer.** A LocationID (the shapefile's own ``LocationID``; its features 57, 104 and 105
carry the ids 56 and 103, so it has 260 ids, not the lookup's 263) or NULL with a status:
:data:`MISSING` (a null input), :data:`NOT_FINITE`, :data:`ZERO` (0/0, the meters' "no fix"),
:data:`OUTSIDE` (in no zone: water, New Jersey, the far ocean).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import duckdb

DATA_FILE: Final = Path(__file__).parent / "reference" / "taxi_zones.npz"
CHUNK_POINTS: Final = 1 << 18
"""Points per NumPy pass: bounds the temporaries (about 50 MB at this size, whatever the
input's length; the answer itself is 5 bytes a point)."""
CELL_DEGREES: Final = 0.00025
"""Grid cell height in degrees of latitude (28 m)."""
CELL_ASPECT: Final = 2.0
"""Cell width over height (cells 56 m wide): a row's runs of boundary cells stay short while
each cell holds few edges that a horizontal line can cross. Chosen by timing 2009-like
pickups against 56 m and 28 m squares and 14 m × 28–56 m cells; change it only with
``python -m bench.zones_bench`` before and after."""

INSIDE: Final = 0
MISSING: Final = 1
NOT_FINITE: Final = 2
ZERO: Final = 3
OUTSIDE: Final = 4
STATUS_NAMES: Final = ("inside", "missing", "not_finite", "zero", "outside")
"""The status codes' names, by code: what a caller stores beside a NULL zone."""

_OUTSIDE_CELL: Final = -1
_BOUNDARY_CELL: Final = -2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ZoneLookup:
    """What :func:`locate` answers: one entry per input point.

    ``location_id`` is 0 where ``status`` is not :data:`INSIDE` (use :meth:`to_arrow` for a
    column with nulls).
    """

    location_id: npt.NDArray[np.int32]
    status: npt.NDArray[np.uint8]

    def to_arrow(self) -> tuple[pa.Int32Array, pa.UInt8Array]:
        """The zone as an Arrow int32 column, null where not inside, and the status codes."""
        n = len(self.status)
        valid = np.packbits(self.status == INSIDE, bitorder="little")
        zone = pa.Array.from_buffers(
            pa.int32(),
            n,
            [pa.py_buffer(valid), pa.py_buffer(np.ascontiguousarray(self.location_id))],
        )
        status = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(self.status)])
        return zone, status


@dataclass(frozen=True)
class Edges:
    """Every non-horizontal ring edge, oriented upwards (``y1 < y2``), with its zone.

    Horizontal edges never cross a horizontal ray under the half-open rule, so they are left
    out of the crossing test; they still mark the cells they touch as boundary cells.
    """

    x1: FloatArray
    y1: FloatArray
    y2: FloatArray
    slope: FloatArray  # (x2 - x1) / (y2 - y1): longitude per degree of latitude
    xmin: FloatArray
    xmax: FloatArray
    zone: npt.NDArray[np.int16]  # index into ``location_ids``

    def crossing_x(self, index: IntArray, y: FloatArray) -> FloatArray:
        """Where edge ``index[i]`` meets latitude ``y[i]``, kept within the edge's extent."""
        x = self.x1[index] + (y - self.y1[index]) * self.slope[index]
        return np.minimum(np.maximum(x, self.xmin[index]), self.xmax[index])


@dataclass(frozen=True)
class Polygons:
    """The zone rings as read from :data:`DATA_FILE`."""

    lon: FloatArray
    lat: FloatArray
    ring_offsets: IntArray
    ring_location_id: npt.NDArray[np.int32]

    @property
    def location_ids(self) -> npt.NDArray[np.int32]:
        """The distinct LocationIDs, ascending; a zone's index is its position here."""
        return np.unique(self.ring_location_id)

    def edges(self) -> tuple[Edges, FloatArray, FloatArray, FloatArray, FloatArray]:
        """The crossing edges, and every edge's bounding box (xmin, xmax, ymin, ymax)."""
        starts = self.ring_offsets[:-1]
        ends = self.ring_offsets[1:]
        counts = ends - starts - 1  # rings are closed: n vertices make n - 1 edges
        first = np.repeat(starts - np.cumsum(np.r_[0, counts[:-1]]), counts)
        a = np.arange(int(counts.sum()), dtype=np.int64) + first
        b = a + 1
        zone_of_ring = np.searchsorted(self.location_ids, self.ring_location_id)
        zone = np.repeat(zone_of_ring, counts).astype(np.int16)
        xa, ya, xb, yb = self.lon[a], self.lat[a], self.lon[b], self.lat[b]
        box = (np.minimum(xa, xb), np.maximum(xa, xb), np.minimum(ya, yb), np.maximum(ya, yb))
        up = ya < yb
        x1 = np.where(up, xa, xb)
        y1 = np.where(up, ya, yb)
        x2 = np.where(up, xb, xa)
        y2 = np.where(up, yb, ya)
        keep = ya != yb
        edges = Edges(
            x1=x1[keep],
            y1=y1[keep],
            y2=y2[keep],
            slope=(x2[keep] - x1[keep]) / (y2[keep] - y1[keep]),
            xmin=box[0][keep],
            xmax=box[1][keep],
            zone=zone[keep],
        )
        return edges, *box


@functools.cache
def load_polygons(path: Path = DATA_FILE) -> Polygons:
    """The shipped taxi-zone rings (read once per process)."""
    with np.load(path, allow_pickle=False) as data:
        return Polygons(
            lon=data["lon"],
            lat=data["lat"],
            ring_offsets=data["ring_offsets"],
            ring_location_id=data["ring_location_id"],
        )


def _cells_of(value: FloatArray, bounds: FloatArray, origin: float, inverse: float) -> IntArray:
    """The cell ``i`` with ``bounds[i] <= value < bounds[i + 1]``, exactly.

    A multiply and floor guesses; one comparison each way corrects a guess that rounding
    put one cell off, so the answer agrees with the bounds the crossing test uses.
    """
    guess = np.floor((value - origin) * inverse)
    guess = np.clip(guess, 0, len(bounds) - 2).astype(np.int64)
    guess -= value < bounds[guess]
    guess += value >= bounds[guess + 1]
    return guess


class ZoneGrid:
    """The grid over the zones and the edges each boundary cell holds.

    Cells are numbered row by row (``row * cols + col``); ``cell_zone`` is a zone index,
    :data:`_OUTSIDE_CELL` or :data:`_BOUNDARY_CELL`. For a boundary cell ``c``, ``run_end[c]``
    is the first cell east of it in its row that no edge touches (a row always ends in such
    a cell: the grid has a margin of empty cells). The edges of cells ``c … run_end[c] - 1``
    are contiguous in ``table`` (``entry_start[c]`` to ``entry_start[run_end[c]]``), each
    with the column bounds of the cell it was filed under (``cell_west``, ``cell_east``).
    A point in cell ``c`` counts a crossing of an entry's edge when the crossing lies east of
    the point and inside that entry's cell's column (so an edge filed under several cells
    counts once); the zone of ``run_end[c]`` tells the parity of everything further east.
    """

    def __init__(
        self, polygons: Polygons, cell_degrees: float = CELL_DEGREES, aspect: float = CELL_ASPECT
    ) -> None:
        self.location_ids = polygons.location_ids
        edges, bx0, bx1, by0, by1 = polygons.edges()
        self.edges = edges
        mid_lat = math.radians(float(polygons.lat.min() + polygons.lat.max()) / 2)
        dx = aspect * cell_degrees / math.cos(mid_lat)
        dy = cell_degrees
        # Two empty cells of margin on every side, so every row starts and ends outside.
        self.x0 = float(polygons.lon.min()) - 2 * dx
        self.y0 = float(polygons.lat.min()) - 2 * dy
        self.cols = math.ceil((float(polygons.lon.max()) - self.x0) / dx) + 3
        self.rows = math.ceil((float(polygons.lat.max()) - self.y0) / dy) + 3
        self.dx, self.dy = dx, dy
        self.inv_dx, self.inv_dy = 1 / dx, 1 / dy
        self.xb: FloatArray = self.x0 + np.arange(self.cols + 1, dtype=np.float64) * dx
        self.yb: FloatArray = self.y0 + np.arange(self.rows + 1, dtype=np.float64) * dy

        # File every edge under each cell its bounding box touches (closed cells).
        # Every edge's box (horizontal edges included) marks cells as boundary cells.
        c0 = self._col_touching(bx0, low=True)
        c1 = self._col_touching(bx1, low=False)
        r0 = self._row_touching(by0, low=True)
        r1 = self._row_touching(by1, low=False)
        boundary = np.zeros(self.rows * self.cols, dtype=bool)
        for cell in self._expand(c0, c1, r0, r1)[1]:
            boundary[cell] = True
        keep = by0 != by1  # the crossing edges, in the order ``edges`` holds them
        edge_parts, cell_parts = self._expand(c0[keep], c1[keep], r0[keep], r1[keep])
        filed_edge, filed_cell = np.concatenate(edge_parts), np.concatenate(cell_parts)
        order = np.argsort(filed_cell, kind="stable")
        entry_edge, entry_cell = filed_edge[order], filed_cell[order]
        entry_col = entry_cell % self.cols
        # The entries' edges copied in entry order, so the crossing test reads them in runs.
        self.table = Edges(
            x1=edges.x1[entry_edge],
            y1=edges.y1[entry_edge],
            y2=edges.y2[entry_edge],
            slope=edges.slope[entry_edge],
            xmin=edges.xmin[entry_edge],
            xmax=edges.xmax[entry_edge],
            zone=edges.zone[entry_edge],
        )
        self.cell_west = self.xb[entry_col]  # each entry's filing cell's column bounds
        self.cell_east = self.xb[entry_col + 1]
        self.entry_start = np.searchsorted(
            entry_cell, np.arange(self.rows * self.cols + 1, dtype=np.int64)
        ).astype(np.int32)

        self.cell_zone = np.full(self.rows * self.cols, _OUTSIDE_CELL, dtype=np.int16)
        self.cell_zone[boundary] = _BOUNDARY_CELL
        self._fill_clear_cells(boundary)
        # run_end: for each cell, the first cell at or east of it that is not a boundary cell.
        index = np.arange(self.rows * self.cols, dtype=np.int64)
        clear = np.where(boundary, np.iinfo(np.int64).max, index)
        self.run_end = np.minimum.accumulate(clear[::-1])[::-1].astype(np.int32)
        # The grid's margin keeps every run inside its own row.
        assert not boundary.reshape(self.rows, self.cols)[:, -1].any()

    def _col_touching(self, x: FloatArray, *, low: bool) -> IntArray:
        col = _cells_of(x, self.xb, self.x0, self.inv_dx)
        if low:  # a box starting exactly on a cell's west side also touches the cell west
            col -= x == self.xb[col]
        return col

    def _row_touching(self, y: FloatArray, *, low: bool) -> IntArray:
        row = _cells_of(y, self.yb, self.y0, self.inv_dy)
        if low:
            row -= y == self.yb[row]
        return row

    def _expand(
        self, c0: IntArray, c1: IntArray, r0: IntArray, r1: IntArray
    ) -> tuple[list[IntArray], list[IntArray]]:
        """(edge index, cell) for every cell in each edge's column and row range."""
        edge_ids: list[IntArray] = []
        cells: list[IntArray] = []
        ids = np.arange(len(c0), dtype=np.int64)
        width = c1 - c0 + 1
        height = r1 - r0 + 1
        for dr in range(int(height.max())):
            for dc in range(int(width.max())):
                hit = (dr < height) & (dc < width)
                edge_ids.append(ids[hit])
                cells.append((r0[hit] + dr) * self.cols + c0[hit] + dc)
        return edge_ids, cells

    def _fill_clear_cells(self, boundary: npt.NDArray[np.bool_]) -> None:
        """The zone of each cell no edge touches: even-odd along its row's centre line."""
        e = self.edges
        centre_y = self.yb[:-1] + (self.yb[1:] - self.yb[:-1]) / 2
        centre_x = self.xb[:-1] + (self.xb[1:] - self.xb[:-1]) / 2
        lo = np.searchsorted(centre_y, e.y1, side="left")  # rows with y1 <= centre < y2
        hi = np.searchsorted(centre_y, e.y2, side="left")
        counts = hi - lo
        edge_index = np.repeat(np.arange(len(e.y1), dtype=np.int64), counts)
        row = np.repeat(lo, counts) + (
            np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        x = e.crossing_x(edge_index, centre_y[row])
        zone = e.zone[edge_index].astype(np.int64)
        # Per zone and row, the sorted crossings pair up: a centre line is inside the zone
        # between crossings 2i and 2i + 1 (even-odd; closed rings cross a line an even
        # number of times under the half-open rule).
        order = np.lexsort((x, row, zone))
        x, row, zone = x[order], row[order], zone[order]
        if (zone[0::2] != zone[1::2]).any() or (row[0::2] != row[1::2]).any():
            raise ValueError("a zone's rings cross a row's centre line an odd number of times")
        first = np.searchsorted(centre_x, x[0::2], side="right")
        last = np.searchsorted(centre_x, x[1::2], side="left")
        counts = last - first
        col = np.repeat(first, counts) + (
            np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        cell = np.repeat(row[0::2], counts) * self.cols + col
        cell_zone = np.repeat(zone[0::2], counts)
        clear = ~boundary[cell]
        cell, cell_zone = cell[clear], cell_zone[clear]
        if len(cell) and np.bincount(cell).max() > 1:
            raise ValueError("taxi zones overlap: a cell no edge touches is inside two zones")
        self.cell_zone[cell] = cell_zone

    def locate(self, lon: FloatArray, lat: FloatArray) -> ZoneLookup:
        """The LocationID and status of each point; NumPy in chunks of CHUNK_POINTS."""
        n = len(lon)
        location_id = np.zeros(n, dtype=np.int32)
        status = np.empty(n, dtype=np.uint8)
        for start in range(0, n, CHUNK_POINTS):
            part = slice(start, min(start + CHUNK_POINTS, n))
            location_id[part], status[part] = self._locate_chunk(lon[part], lat[part])
        return ZoneLookup(location_id, status)

    def _locate_chunk(
        self, lon: FloatArray, lat: FloatArray
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
        finite = np.isfinite(lon) & np.isfinite(lat)
        status = np.where(finite, OUTSIDE, NOT_FINITE).astype(np.uint8)
        status[(lon == 0) & (lat == 0)] = ZERO
        in_grid = (
            finite
            & (lon >= self.xb[0])
            & (lon < self.xb[-1])
            & (lat >= self.yb[0])
            & (lat < self.yb[-1])
        )
        zone = np.full(len(lon), -1, dtype=np.int64)
        points = np.flatnonzero(in_grid)
        x, y = lon[points], lat[points]
        row = _cells_of(y, self.yb, self.y0, self.inv_dy)
        cell: IntArray = row * self.cols + _cells_of(x, self.xb, self.x0, self.inv_dx)
        answer = self.cell_zone[cell].astype(np.int64)
        zone[points] = answer
        hard = answer == _BOUNDARY_CELL
        if hard.any():
            zone[points[hard]] = self._exact(x[hard], y[hard], cell[hard])
        found = zone >= 0
        status[found] = INSIDE
        location_id = np.zeros(len(lon), dtype=np.int32)
        location_id[found] = self.location_ids[zone[found]]
        return location_id, status

    def _exact(self, x: FloatArray, y: FloatArray, cell: IntArray) -> IntArray:
        """Zone index (or -1) of points in boundary cells: crossings along the row's run."""
        end_cell = self.run_end[cell]
        begin = self.entry_start[cell]
        counts = (self.entry_start[end_cell] - begin).astype(np.int64)
        point = np.repeat(np.arange(len(x), dtype=np.int64), counts)
        entry = np.repeat(begin - np.cumsum(counts) + counts, counts) + np.arange(
            int(counts.sum()), dtype=np.int64
        )
        t = self.table
        py = y[point]
        cx = t.crossing_x(entry, py)
        crosses = (t.y1[entry] <= py) & (py < t.y2[entry]) & (cx > x[point])
        crosses &= (cx >= self.cell_west[entry]) & (cx < self.cell_east[entry])
        zones = len(self.location_ids)
        keys = point[crosses] * zones + t.zone[entry[crosses]]
        beyond = self.cell_zone[end_cell].astype(np.int64)
        known = np.flatnonzero(beyond >= 0)
        keys = np.concatenate([keys, known * zones + beyond[known]])
        values, times = np.unique(keys, return_counts=True)
        odd = values[times % 2 == 1]
        result = np.full(len(x), -1, dtype=np.int64)
        # Zones do not overlap (checked when the grid is built); if a point were in two,
        # the higher zone index would win here and in reference_locate alike.
        result[odd // zones] = odd % zones
        return result


@functools.cache
def zone_grid() -> ZoneGrid:
    """The grid over the shipped zones, built once per process (about a second, 35 MB)."""
    return ZoneGrid(load_polygons())


def _as_float64(values: Any) -> tuple[FloatArray, npt.NDArray[np.bool_] | None]:
    """A float64 NumPy array and the nulls of an Arrow input (None for NumPy input)."""
    if isinstance(values, np.ndarray):
        return np.ascontiguousarray(values, dtype=np.float64), None
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        return np.ascontiguousarray(np.asarray(values, dtype=np.float64)), None
    array = pc.cast(values, pa.float64())
    if not array.null_count:
        return array.to_numpy(zero_copy_only=False), None
    nulls = array.is_null().to_numpy(zero_copy_only=False)
    return pc.fill_null(array, math.nan).to_numpy(zero_copy_only=False), nulls


def locate(lon: Any, lat: Any) -> ZoneLookup:
    """The TLC LocationID of each (longitude, latitude) point in WGS84 degrees.

    Args:
        lon: longitudes, a NumPy array or an Arrow (chunked) array of any numeric type;
            Arrow nulls give :data:`MISSING`.
        lat: latitudes, the same length.

    Returns:
        a :class:`ZoneLookup`: the LocationID (0 where none) and a status code per point.
    """
    x, x_nulls = _as_float64(lon)
    y, y_nulls = _as_float64(lat)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"lon and lat must be 1-D of one length, got {x.shape} and {y.shape}")
    result = zone_grid().locate(x, y)
    for nulls in (x_nulls, y_nulls):
        if nulls is not None:
            result.status[nulls] = MISSING
            result.location_id[nulls] = 0
    return result


def reference_locate(
    lon: FloatArray, lat: FloatArray, polygons: Polygons | None = None
) -> npt.NDArray[np.int32]:
    """The rule itself: a ray from each point east across every edge. 0 = in no zone.

    Slow (every edge for every point, in blocks) and independent of the grid; the fast
    path must agree with it on every point. NaN and 0/0 fall out as 0 like any other point
    outside every zone.
    """
    polygons = polygons or load_polygons()
    edges = polygons.edges()[0]
    zones = polygons.location_ids
    out = np.zeros(len(lon), dtype=np.int32)
    edge_index = np.arange(len(edges.y1), dtype=np.int64)
    for i in range(len(lon)):
        px, py = float(lon[i]), float(lat[i])
        spans = edge_index[(edges.y1 <= py) & (py < edges.y2)]
        cx = edges.crossing_x(spans, np.full(len(spans), py))
        crossing_zones = edges.zone[spans[cx > px]]
        odd = np.flatnonzero(np.bincount(crossing_zones, minlength=len(zones)) % 2 == 1)
        if len(odd):
            out[i] = zones[odd[-1]]
    return out


def register_duckdb(connection: duckdb.DuckDBPyConnection, name: str = "tlc_zone") -> None:
    """Make the lookup callable in SQL on ``connection``:

    * ``<name>(lon, lat)``: INTEGER, the LocationID, NULL where none;
    * ``<name>_status(lon, lat)``: UTINYINT, a code of :data:`STATUS_NAMES`;
    * ``<name>_lookup(lon, lat)``: ``STRUCT(location_id INTEGER, status UTINYINT)``, both
      from one lookup (half the work of calling the two above);
    * ``<name>_reason(lon, lat, location_id)``: the status from the coordinates and the
      zone already found, in plain SQL (a temporary macro), so a query that calls
      ``<name>`` once has its flag without a second lookup.

    The first three are vectorised Arrow UDFs: DuckDB hands them 2,048 rows at a time.
    None of them is stored in the database file.
    """
    import duckdb

    try:
        from duckdb.func import FunctionNullHandling, PythonUDFType
    except ImportError:  # DuckDB 1.x (the spatial venv of ADR 11)
        from duckdb.functional import (  # type: ignore[no-redef]
            FunctionNullHandling,
            PythonUDFType,
        )

    def zone(lon: pa.Array, lat: pa.Array) -> pa.Array:
        return locate(lon, lat).to_arrow()[0]

    def status(lon: pa.Array, lat: pa.Array) -> pa.Array:
        return locate(lon, lat).to_arrow()[1]

    def both(lon: pa.Array, lat: pa.Array) -> pa.Array:
        zone, status = locate(lon, lat).to_arrow()
        return pa.StructArray.from_arrays([zone, status], names=["location_id", "status"])

    double = duckdb.sqltype("DOUBLE")
    for fn_name, fn, returns in (
        (name, zone, duckdb.sqltype("INTEGER")),
        (f"{name}_status", status, duckdb.sqltype("UTINYINT")),
        (f"{name}_lookup", both, duckdb.sqltype("STRUCT(location_id INTEGER, status UTINYINT)")),
    ):
        connection.create_function(
            fn_name,
            fn,
            [double, double],
            returns,
            type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=False,
        )
    connection.execute(
        f"""
        create or replace temp macro {name}_reason(lon, lat, location_id) as (
            case
                when lon is null or lat is null then {MISSING}
                when not (isfinite(lon) and isfinite(lat)) then {NOT_FINITE}
                when lon = 0 and lat = 0 then {ZERO}
                when location_id is null then {OUTSIDE}
                else {INSIDE}
            end
        )::utinyint
        """
    )
