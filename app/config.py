"""Settings, read from ``SANQUAN_*`` environment variables when the app is built."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass
class Settings:
    """Every setting of a running registry; README.md lists them with their meaning.

    Each field is read from ``SANQUAN_<FIELD NAME IN CAPITALS>`` by :meth:`from_env`.
    """

    instance: str = "instance"
    database_url: str = ""  #: empty → SQLite file ``<instance>/sanquan.db``
    admin_token: str = ""
    demo: bool = True
    port: int = 5000
    #: 409 PARCEL_OVERLAP above this overlap; smaller ones are accepted as warnings.
    overlap_tolerance_m2: float = 0.5
    #: a parcel larger than this is refused as implausible (PARCEL_IMPLAUSIBLE): a unit or CRS mistake, not land.
    max_parcel_area_m2: float = 10_000_000.0
    #: two parcels closer than this are neighbours for 四至.
    neighbour_tolerance_m: float = 2.0
    #: docs/rules.md §2: Liaoning's homestead area standard is not verified, so it is a setting;
    #: a collective may carry its own (PUT /collectives/{code}/homestead-standard).
    homestead_max_m2: float = 300.0
    #: how many days ahead a right's start may lie (contracts are signed before their round begins).
    right_start_horizon_days: int = 1830
    #: JSON request bodies; larger ones get 413.
    max_body_bytes: int = 16 * 1024 * 1024
    #: uploaded evidence documents (POST /documents only).
    max_document_bytes: int = 50 * 1024 * 1024
    #: uploaded land-confirmation packages (POST /imports only).
    max_import_bytes: int = 1024 * 1024 * 1024
    #: a package may unpack to at most this much (zip bombs are refused).
    max_unpacked_bytes: int = 8 * 1024 * 1024 * 1024
    #: import QA: SCMJ differing from the measured area by more than this fraction is a warning.
    area_tolerance: float = 0.10
    #: days the issuer has to answer a 转让 before silence counts as no objection (司法解释 第十三条).
    issuer_answer_days: int = 30
    #: the web console signs a browser out after this many minutes without a request.
    console_idle_minutes: int = 30
    #: the console maps' basemap, an XYZ/WMTS tile URL with {z}/{x}/{y} (e.g. the county's 天地图 with its key);
    #: empty: parcels on a blank background, and nothing is loaded from another host.
    basemap_url: str = ""
    #: the least number of working days an exchange-desk listing is announced (ANNOUNCEMENT_TOO_SHORT)
    announcement_working_days: int = 10
    #: compliance report: consent this close to a settlement, price below this share of the collective's
    #: median per 亩, and this many exits in one collective within these days are flagged.
    compliance_window_days: int = 90
    compliance_price_ratio: float = 0.5
    compliance_campaign_exits: int = 5
    compliance_campaign_days: int = 30
    #: the deployment's Ed25519 checkpoint key; empty → ``<instance>/ledger-ed25519.pem``, made on first run.
    ledger_key_file: str = ""
    #: the key's name in signed notes and the prefix of every log's origin (``<name>/ledger/<county>``).
    ledger_name: str = "sanquan.local"
    #: a checkpoint is signed when a log passes a multiple of this many entries, or when the last is this old.
    checkpoint_every: int = 1000
    checkpoint_minutes: int = 60
    max_vertices: int = 100_000
    max_parts: int = 10_000
    log_level: str = "INFO"

    @classmethod
    def from_env(cls) -> Settings:
        values: dict[str, Any] = {}  # field name → value of that field's type
        for f in fields(cls):
            raw = os.environ.get(f"SANQUAN_{f.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls, f.name)
            if isinstance(default, bool):
                values[f.name] = raw.strip().lower() not in ("0", "false", "no", "off", "")
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        return cls(**values)

    @property
    def instance_path(self) -> Path:
        return Path(self.instance).resolve()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+pysqlite:///{self.instance_path / 'sanquan.db'}"

    @property
    def ledger_key_path(self) -> Path:
        return (Path(self.ledger_key_file).resolve() if self.ledger_key_file
                else self.instance_path / "ledger-ed25519.pem")

    @property
    def documents_path(self) -> Path:
        return self.instance_path / "documents"

    @property
    def imports_path(self) -> Path:
        return self.instance_path / "imports"
