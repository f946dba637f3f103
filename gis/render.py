"""Parcel maps as PNG images, for certificates and the collective overview.

Maps are drawn in the CGCS2000 3-degree Gauss-Kruger zone of the parcels
shown, so shapes are true and the scale bar measures metres. Only
matplotlib's object-oriented API with the Agg canvas is used (never pyplot,
whose global state is not thread-safe under a threaded WSGI server).

Text is set in WenQuanYi Micro Hei, the TrueType font installed with the
registry that its PDF documents embed too, so a map says 北 and its legend is
Chinese on any server, fonts or none.
"""

from __future__ import annotations

import io
import math
import pathlib
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Patch, PathPatch, Rectangle
from matplotlib.path import Path
from numpy.typing import NDArray

from gis.area import to_zone
from gis.crs import zone_epsg

#: The package that installs the font file, and the file inside it.
_FONT_PACKAGE, _FONT_RESOURCE = "paperang_p2_fonts_cjk", "fonts/wqy-microhei.ttc"
#: Faces in the font collection: proportional and monospaced.
CJK_FONT_FACES = {"regular": 0, "mono": 1}
_MAX_COLLECTIVE_LABELS = 300
_TARGET_FACE = "#fbe7a1"
_TARGET_EDGE = "#b22222"
_CONTEXT_FACE = "#e6e6e6"
_CONTEXT_EDGE = "#8c8c8c"
#: A white box behind map furniture, so it stays legible over parcels.
_HALO = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5}


@lru_cache(maxsize=1)
def cjk_font_file() -> pathlib.Path:
    """Locate the Chinese TrueType font (WenQuanYi Micro Hei, Apache-2.0) that maps and PDFs use.

    Returns:
        The path of the font collection (faces in `CJK_FONT_FACES`).

    Raises:
        FileNotFoundError: if the font package is installed without its font file.
    """
    path = pathlib.Path(str(resources.files(_FONT_PACKAGE).joinpath(_FONT_RESOURCE)))
    if not path.is_file():
        raise FileNotFoundError(f"the Chinese font {_FONT_RESOURCE} is missing from {_FONT_PACKAGE}")
    return path


_font_lock = threading.Lock()


@lru_cache(maxsize=1)
def cjk_font() -> font_manager.FontProperties:
    """The map font, registered with matplotlib on first use (its regular face).

    Returns:
        Font properties naming the font file itself, so no other installed
        font can stand in for it.
    """
    path = cjk_font_file()
    with _font_lock:  # addfont appends to matplotlib's process-wide font list
        font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path)


def scale_bar_length_m(map_width_m: float) -> float:
    """Pick a round scale-bar length of at most a quarter of the map width.

    Args:
        map_width_m: width of the visible map in metres (> 0).

    Returns:
        A length of 1, 2 or 5 × 10ⁿ metres (e.g. 50, 100, 200, 500).

    Raises:
        ValueError: if ``map_width_m`` is not a positive finite number.
    """
    if not (map_width_m > 0 and math.isfinite(map_width_m)):
        raise ValueError(f"map width must be positive, got {map_width_m!r}")
    limit = map_width_m / 4
    power = 10.0 ** math.floor(math.log10(limit))
    while power > limit:  # log10 may round up across a decade boundary
        power /= 10
    length = next(step * power for step in (5, 2, 1) if step * power <= limit)
    return float(round(length, 9))


def parcel_map_png(
    targets_4490: Any,
    target_codes: Sequence[str],
    context_4490: Any = (),
    *,
    width_px: int = 900,
    height_px: int = 700,
    dpi: int = 150,
    image_format: str = "png",
) -> bytes:
    """Draw target parcels, labelled, over their grey neighbours.

    Args:
        targets_4490: 1-D array of polygonal geometries in EPSG:4490.
        target_codes: one parcel code per target; the label is its last 5 digits.
        context_4490: neighbouring geometries in EPSG:4490, drawn in grey
            (may be empty); only the part near the targets is visible.
        width_px: image width in pixels.
        height_px: image height in pixels.
        dpi: resolution, which scales line widths and type.
        image_format: ``"png"``, or ``"jpeg"`` for PDFs (embedded as it is,
            without the re-encoding a PNG needs).

    Returns:
        Image bytes of exactly ``width_px`` × ``height_px`` pixels.

    Raises:
        ValueError: if there are no targets, codes do not match targets, or
            the size is not positive.
        GeometryInputError: OUTSIDE_SUPPORTED_AREA if a coordinate cannot be
            transformed.
    """
    targets, codes = _drawable(targets_4490, target_codes)
    return _render(
        targets,
        codes,
        _as_array(context_4490),
        width_px=width_px,
        height_px=height_px,
        dpi=dpi,
        label=True,
        edge_width=1.2,
        image_format=image_format,
    )


#: Village overview colours by right: (face colour, Chinese legend, English legend), drawn in this order.
CATEGORY_STYLES = {
    "contract": ("#f6d55c", "承包地（承包经营权存续）", "contract land, right in force"),
    "homestead": ("#ed553b", "宅基地（使用权存续）", "homestead, right in force"),
    "ended": ("#b0b0b0", "权利已终止", "right ended"),
    "none": ("#ffffff", "未设权利（机动地、自留地等）", "no right (reserve, private plots …)"),
}


def collective_map_png(
    geoms_4490: Any,
    codes: Sequence[str],
    categories: Sequence[str] | None = None,
    *,
    width_px: int = 1400,
    height_px: int = 1000,
    dpi: int = 150,
    max_labels: int = _MAX_COLLECTIVE_LABELS,
) -> bytes:
    """Draw every parcel of a collective, labelled when there are few enough.

    Args:
        geoms_4490: 1-D array of polygonal geometries in EPSG:4490.
        codes: one parcel code per geometry.
        categories: one `CATEGORY_STYLES` key per geometry (its right's type
            and status), coloured and explained in a legend; None draws every
            parcel alike.
        width_px: image width in pixels.
        height_px: image height in pixels.
        dpi: resolution.
        max_labels: above this many parcels, labels would overprint into an
            unreadable smear, so none are drawn.

    Returns:
        PNG bytes of exactly ``width_px`` × ``height_px`` pixels.

    Raises:
        ValueError: if there are no geometries, codes or categories do not
            match, a category is unknown, or the size is not positive.
        GeometryInputError: OUTSIDE_SUPPORTED_AREA if a coordinate cannot be
            transformed.
    """
    if categories is not None:
        if len(categories) != len(codes):
            raise ValueError(f"{len(codes)} codes but {len(categories)} categories")
        unknown = set(categories) - set(CATEGORY_STYLES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}")
        by_code = dict(zip(codes, categories, strict=True))
    geoms, kept_codes = _drawable(geoms_4490, codes)
    return _render(
        geoms,
        kept_codes,
        np.empty(0, dtype=object),
        categories=None if categories is None else np.array([by_code[c] for c in kept_codes]),
        width_px=width_px,
        height_px=height_px,
        dpi=dpi,
        label=len(geoms) <= max_labels,
        edge_width=0.4 if len(geoms) > max_labels else 0.8,
    )


def _as_array(geoms: Any) -> NDArray[np.object_]:
    array: NDArray[np.object_] = np.asarray(geoms, dtype=object).reshape(-1)
    if len(array) == 0:
        return array
    return array[~shapely.is_missing(array) & ~shapely.is_empty(array)]


def _drawable(geoms: Any, codes: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Drop missing and empty geometries together with their codes."""
    array = np.asarray(geoms, dtype=object).reshape(-1)
    if len(array) != len(codes):
        raise ValueError(f"{len(array)} geometries but {len(codes)} codes")
    keep = (
        ~shapely.is_missing(array) & ~shapely.is_empty(array)
        if len(array)
        else np.zeros(0, bool)
    )
    return array[keep], [code for code, kept in zip(codes, keep, strict=True) if kept]


def _render(
    targets_4490: np.ndarray,
    codes: list[str],
    context_4490: np.ndarray,
    *,
    width_px: int,
    height_px: int,
    dpi: int,
    label: bool,
    edge_width: float,
    image_format: str = "png",
    categories: np.ndarray | None = None,
) -> bytes:
    if len(targets_4490) == 0:
        raise ValueError("nothing to draw: no non-empty target geometry")
    if width_px <= 0 or height_px <= 0 or dpi <= 0:
        raise ValueError("width_px, height_px and dpi must be positive")

    lon_min, _, lon_max, _ = shapely.total_bounds(targets_4490)
    epsg = zone_epsg((lon_min + lon_max) / 2)
    targets = to_zone(targets_4490, epsg)
    context = to_zone(context_4490, epsg) if len(context_4490) else context_4490

    xmin, ymin, xmax, ymax = _view_box(
        shapely.total_bounds(targets), width_px / height_px
    )

    # A pixel-exact canvas: figsize in inches × dpi is float, and Agg truncates.
    figure = Figure(
        figsize=((width_px + 0.01) / dpi, (height_px + 0.01) / dpi), dpi=dpi
    )
    FigureCanvasAgg(figure)
    figure.patch.set_facecolor("white")
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_xlim(xmin, xmax)
    axes.set_ylim(ymin, ymax)
    axes.set_aspect("equal", adjustable="datalim")

    if len(context):
        visible = context[
            shapely.intersects(context, shapely.box(xmin, ymin, xmax, ymax))
        ]
        if len(visible):
            _add_fixed(
                axes,
                PathPatch(
                    _compound_path(visible),
                    facecolor=_CONTEXT_FACE,
                    edgecolor=_CONTEXT_EDGE,
                    linewidth=0.6,
                    zorder=1,
                )
            )
    if categories is None:
        _add_fixed(
            axes,
            PathPatch(
                _compound_path(targets),
                facecolor=_TARGET_FACE,
                edgecolor=_TARGET_EDGE,
                linewidth=edge_width,
                zorder=2,
            )
        )
    else:
        _draw_categories(axes, targets, categories, edge_width)
    if label:
        _draw_labels(axes, targets, codes, dpi)
    _draw_scale_bar(axes, xmin, ymin, xmax, ymax)
    _draw_north_arrow(axes)

    buffer = io.BytesIO()
    if image_format == "jpeg":
        figure.savefig(buffer, format="jpeg", dpi=dpi, facecolor="white", pil_kwargs={"quality": 90})
    else:
        figure.savefig(
            buffer, format="png", dpi=dpi, facecolor="white", metadata={"Software": None}
        )
    return buffer.getvalue()


def _draw_categories(axes: Any, geoms: np.ndarray, categories: np.ndarray, edge_width: float) -> None:
    """One path per category in its colour, and a legend naming the categories present."""
    handles = []
    for category, (face, label_zh, _) in CATEGORY_STYLES.items():
        chosen = categories == category
        if not chosen.any():
            continue
        _add_fixed(axes, PathPatch(_compound_path(geoms[chosen]), facecolor=face, edgecolor="#555555",
                                   linewidth=edge_width, zorder=2))
        count = int(chosen.sum())
        handles.append(Patch(facecolor=face, edgecolor="#555555", label=f"{label_zh} ({count})"))
    prop = cjk_font().copy()
    prop.set_size(7)
    axes.legend(handles=handles, loc="upper left", framealpha=0.85, prop=prop)


def _add_fixed(axes: Any, patch: PathPatch) -> None:
    """Add a patch inside the fixed view box.

    ``add_patch`` would walk every vertex in Python to grow the data limits,
    which the explicit limits make pointless; it was a third of a map's time.
    """
    patch.set_transform(axes.transData)
    axes.add_artist(patch)


def _view_box(bounds: np.ndarray, aspect: float) -> tuple[float, float, float, float]:
    """Pad the targets' bounds and widen one side to the image's aspect ratio."""
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    width, height = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    pad = 0.12 * max(width, height) + 5.0
    width, height = width + 2 * pad, height + 2 * pad
    if width / height < aspect:
        width = height * aspect
    else:
        height = width / aspect
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2


def _compound_path(geoms: np.ndarray) -> Path:
    """All rings of all polygons as one Path, holes wound against shells."""
    polygons = shapely.get_parts(shapely.orient_polygons(geoms))
    polygons = polygons[shapely.get_type_id(polygons) == 3]
    rings = shapely.get_rings(polygons)
    coords, ring_index = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    starts = np.flatnonzero(np.r_[True, ring_index[1:] != ring_index[:-1]])
    codes[starts] = Path.MOVETO
    # Each ring repeats its first vertex last; CLOSEPOLY there joins the corner cleanly.
    codes[np.r_[starts[1:] - 1, len(coords) - 1]] = Path.CLOSEPOLY
    return Path(coords, codes)


def _draw_labels(axes: Any, geoms: np.ndarray, codes: list[str], dpi: int) -> None:
    points = shapely.get_coordinates(shapely.point_on_surface(geoms))
    size = 7 * 150 / dpi if dpi > 150 else 7
    for (x, y), code in zip(points, codes, strict=True):
        axes.text(
            x,
            y,
            str(code)[-5:],
            ha="center",
            va="center",
            fontproperties=cjk_font(),
            fontsize=size,
            color="#333333",
            zorder=4,
            clip_on=True,
        )


def _draw_scale_bar(
    axes: Any, xmin: float, ymin: float, xmax: float, ymax: float
) -> None:
    width, height = xmax - xmin, ymax - ymin
    length = scale_bar_length_m(width)
    x0, y0 = xmin + 0.04 * width, ymin + 0.05 * height
    bar_height = 0.012 * height
    # Two halves, black and white, as on survey sheets.
    half = length / 2
    axes.add_patch(
        Rectangle(
            (x0, y0),
            half,
            bar_height,
            facecolor="black",
            edgecolor="black",
            linewidth=0.8,
            zorder=5,
        )
    )
    axes.add_patch(
        Rectangle(
            (x0 + half, y0),
            half,
            bar_height,
            facecolor="white",
            edgecolor="black",
            linewidth=0.8,
            zorder=5,
        )
    )
    shown = f"{length:g}"
    axes.text(
        x0,
        y0 + 2 * bar_height,
        "0",
        ha="center",
        va="bottom",
        fontproperties=cjk_font(),
        fontsize=7,
        zorder=5,
        bbox=_HALO,
    )
    axes.text(
        x0 + length,
        y0 + 2 * bar_height,
        f"{shown} m",
        ha="center",
        va="bottom",
        fontproperties=cjk_font(),
        fontsize=7,
        zorder=5,
        bbox=_HALO,
    )


def _draw_north_arrow(axes: Any) -> None:
    # Grid north of the zone: within a 3-degree zone it differs from true
    # north by under ~1°, below what a certificate map can show.
    axes.add_patch(
        FancyArrow(
            0.93,
            0.80,
            0,
            0.11,
            width=0.008,
            head_width=0.035,
            head_length=0.04,
            length_includes_head=True,
            transform=axes.transAxes,
            color="black",
            zorder=5,
        )
    )
    axes.text(
        0.93,
        0.78,
        "北",
        ha="center",
        va="top",
        fontproperties=cjk_font(),
        fontsize=8,
        transform=axes.transAxes,
        zorder=5,
        bbox=_HALO,
    )
