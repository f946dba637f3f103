"""The in-memory form of an NY/T 2539 land-confirmation package, shared by io.py and qa.py.

NY/T 2539 (农村土地承包经营权确权登记数据库规范) delivers a county's results as a
parcel layer (DK, 地块) and five tables: FBF (发包方, the issuing collectives),
CBF (承包方, households), CBF_JTCY (家庭成员, their members), CBHT (承包合同,
contracts) and CBDKXX (承包地块信息, which parcel is in which contract).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: DK layer fields in the standard's order (docs/rules.md §5).
DK_FIELDS = (
    "BSM", "YSDM", "DKBM", "DKMC", "SYQXZ", "DKLB", "TDLYLX", "DLDJ", "TDYT", "SFJBNT",
    "SCMJ", "SCMJM", "DKDZ", "DKNZ", "DKXZ", "DKBZ", "DKBZXX", "ZJRXM",
)
#: Numeric DK fields; every other field is text.
DK_NUMERIC = frozenset({"BSM", "SCMJ", "SCMJM"})

#: The tables of a package and their fields in the standard's order.
TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "FBF": ("FBFBM", "FBFMC", "FBFFZRXM", "FZRZJLX", "FZRZJHM", "FBFDZ"),
    "CBF": ("CBFBM", "CBFLX", "CBFMC", "CBFZJLX", "CBFZJHM", "CBFDZ", "CBFCYSL"),
    "CBF_JTCY": ("CBFBM", "CYXM", "CYXB", "CYZJLX", "CYZJHM", "YHZGX", "SFGYR"),
    "CBHT": ("CBHTBM", "FBFBM", "CBFBM", "CBFS", "CBQXQ", "CBQXZ", "HTZMJ", "HTZMJM", "CBDKZS", "QDSJ"),
    "CBDKXX": ("DKBM", "FBFBM", "CBFBM", "CBJYQQDFS", "CBHTBM", "HTMJ", "HTMJM", "CBJYQZBM"),
}
#: The fields without which a table cannot be used; the others may be absent.
TABLE_REQUIRED: dict[str, tuple[str, ...]] = {
    "FBF": ("FBFBM", "FBFMC"),
    "CBF": ("CBFBM", "CBFMC"),
    "CBF_JTCY": ("CBFBM", "CYXM", "CYZJHM", "YHZGX"),
    "CBHT": ("CBHTBM", "FBFBM", "CBFBM", "CBQXQ", "CBQXZ"),
    "CBDKXX": ("DKBM", "CBFBM", "CBHTBM"),
}


@dataclass
class Package:
    """A package as read: the DK layer in EPSG:4490 and the tables as text.

    Attributes:
        parcels: GeoDataFrame, one row per DK feature in source order, with a
            column per `DK_FIELDS` entry (text as ``str`` or None; `DK_NUMERIC`
            as float or NaN), a ``row`` column (1-based feature number in the
            source, for messages) and the geometry as MultiPolygon in EPSG:4490
            (None where the source feature had no geometry). The CRS is EPSG:4490.
        tables: table name → DataFrame with the `TABLE_FIELDS` columns as
            ``str`` or None (an absent optional field is a column of None).
            Empty for a plain parcel layer.
        source_epsg: EPSG code of the source layer's CRS.
        layer: where the DK layer came from, relative to the package root
            (e.g. ``"DK.shp"`` or ``"result.gpkg:DK"``).
        encoding: the text encoding the layer was decoded with.
        notes: things the clerk should know that are not problems with the
            data (e.g. "no .cpg: decoded as GBK").
    """

    parcels: Any
    tables: dict[str, Any] = field(default_factory=dict)
    source_epsg: int = 4490
    layer: str = ""
    encoding: str = "UTF-8"
    notes: list[str] = field(default_factory=list)

    @property
    def is_full(self) -> bool:
        """Whether the package has its tables (an NY/T 2539 package) or is a plain parcel layer."""
        return bool(self.tables)
