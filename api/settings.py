"""Settings, one class per concern, all read from GRIDGOV_* environment variables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GridGovSettings(BaseSettings):
    """The base of every settings class: GRIDGOV_* variables; others in the environment are not
    ours to refuse. A class that reads GRIDGOV_<X>_* sets only its `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")


class DatabaseSettings(GridGovSettings):
    """Where the PostGIS store lives: an explicit URL, or the project-local embedded cluster."""

    database_url: str | None = Field(
        default=None, description="Any PostGIS server; overrides the embedded cluster."
    )
    data_dir: Path = Field(default=Path(".gridgov"), description="Embedded cluster's home.")
    db_port: int = Field(default=54320, ge=1, le=65535)
    db_name: str = "gridgov"
    pool_min: int = Field(default=2, ge=1)
    pool_max: int = Field(default=16, ge=1)
    pool_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a request waits for a connection, then 503."
    )
    statement_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="Longest statement of an HTTP request (ms), then 503 query_timeout; 0 = none.",
    )
    long_statement_timeout_ms: int = Field(
        default=600_000,
        ge=0,
        description="Longest statement of an export (CSV download) and of the CLI (ms); 0 = none.",
    )
    idle_in_transaction_ms: int = Field(
        default=60_000,
        ge=0,
        description="Longest a pooled connection may sit idle inside an open transaction (ms); "
        "then PostgreSQL ends its session, its locks and snapshot go, and the pool replaces it; "
        "the long statement timeout applies to exports and background work; 0 = none.",
    )
    read_database_url: str | None = Field(
        default=None,
        description="A streaming replica for reads that tolerate lag (tiles, OGC, stats, …).",
    )
    read_max_lag_s: float = Field(
        default=1.0, gt=0, description="Replica replay lag above which reads go to the primary."
    )
    read_retry_s: float = Field(
        default=5.0, gt=0, description="After a replica failure, seconds of reads on the primary."
    )


class AssignmentSettings(GridGovSettings):
    """Tolerances of spatial assignment, in metres."""

    nearest_grid_m: float = Field(default=50.0, ge=0, le=10_000)
    near_boundary_m: float = Field(default=10.0, ge=0, le=1_000)


# Areas per page of GET /api/v1/areas, whatever `max_page_size` says (when it says less): a map
# draws every area of a level at once, and a city's grids (10,000 in bench/synthetic.py's
# district) in one request are one round trip, not eleven queued behind the page's other reads
# (/map/stats at 1,000,000 cases: 1.66-1.69 -> 1.29-1.43 s, docs/performance.md, 2026-12-07
# eighth session); the pages ask for this many. Twice the synthetic district: room for a larger
# city's grids.
AREA_PAGE_MAX = 20_000


class ApiSettings(GridGovSettings):
    """HTTP behaviour: who may report without a token, page sizes."""

    public_reporting: bool = Field(
        default=True, description="Allow POST /api/v1/incidents without a token."
    )
    max_page_size: int = Field(default=1000, ge=1, le=10_000)
    default_page_size: int = Field(default=100, ge=1, le=10_000)
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30, description="page login lifetime")
    stream_max_clients: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Open GET /api/v1/stream connections per process, else 503 (they share the "
        "process's one LISTEN connection and hold no database connection of their own).",
    )
    stream_per_user: int = Field(
        default=10, ge=1, le=10_000, description="open streams per user and process, else 429"
    )


class CalendarSettings(GridGovSettings):
    """The working calendar deadlines count on (GRIDGOV_CALENDAR_*)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_CALENDAR_")

    timezone: str = "Asia/Shanghai"
    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5], description="ISO weekdays, 1 = Monday")
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(17, 0)
    holidays: list[dt.date] = Field(default_factory=list)
    extra_workdays: list[dt.date] = Field(default_factory=list, description="调休 make-up days")


class MapSettings(GridGovSettings):
    """Base map for pages: an XYZ tile URL template, or empty for none (intranet default)."""

    basemap_url: str = ""
    basemap_attribution: str = ""
    level_labels: dict[str, str] = Field(
        default_factory=dict,
        description="per-level names on the pages (GRIDGOV_LEVEL_LABELS, JSON), e.g. for rural "
        'areas {"district": "县 County", "street": "乡镇 Township", "community": "村 Village", '
        '"grid": "村民小组 Villager group"}',
    )
    incident_markers: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="the dispatch console draws every incident as a marker up to this many "
        "(GRIDGOV_INCIDENT_MARKERS); beyond it, incidents come from vector tiles when zoomed out "
        "and as markers for the visible area when zoomed in",
    )


class OgcSettings(GridGovSettings):
    """OGC API – Features paging (GRIDGOV_OGC_*); the maximum limit is the standard's 10,000."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_OGC_")

    default_limit: int = Field(default=100, ge=1, le=10_000)


class TileSettings(GridGovSettings):
    """Vector tiles (GRIDGOV_TILES_*): feature cap per tile, in-process cache size, zoom range."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_TILES_")

    max_features: int = Field(default=10_000, ge=1, le=1_000_000)
    cache_size: int = Field(default=4096, ge=0, description="tiles kept in memory; 0 = no cache")
    max_zoom: int = Field(default=22, ge=0, le=24)


class TopologySettings(GridGovSettings):
    """Boundary checks on save: parent containment tolerance (m), ignored overlap noise (m²)."""

    boundary_tolerance_m: float = Field(default=0.5, ge=0, le=100)
    overlap_epsilon_m2: float = Field(default=0.01, ge=0, le=1_000)


class EvaluationSettings(GridGovSettings):
    """综合评价: negative-list (负面清单) thresholds and per-level labels (GRIDGOV_FLAG_*)."""

    flag_on_time_rate_min: float = Field(default=0.8, ge=0, le=1, description="按期处置率 below")
    flag_closing_rate_min: float = Field(default=0.0, ge=0, le=1, description="结案率 below; 0 off")
    flag_rework_rate_max: float = Field(default=1.0, ge=0, le=1, description="返工率 above; 1 off")
    flag_return_rate_max: float = Field(default=1.0, ge=0, le=1, description="退回率 above; 1 off")
    flag_missed_checkins_max: int = Field(
        default=0, ge=0, description="吹哨 check-ins not on time above this are flagged"
    )
    flag_min_due: int = Field(default=1, ge=1, description="cases a rate needs to be judged")
    level_labels: dict[str, str] = Field(
        default_factory=dict,
        description='per-level names, e.g. {"street": "乡镇 Township"} for rural areas',
    )
    # 回访 (issue 18): satisfaction and follow-up rates, judged with at least flag_min_due cases.
    flag_satisfaction_rate_min: float = Field(
        default=0.0, ge=0, le=1, description="满意率 below; 0 off"
    )
    flag_followup_rate_min: float = Field(
        default=0.0, ge=0, le=1, description="回访率 below; 0 off"
    )
    trend_warm_s: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="each app process checks this often whether the large groups' trends need "
        "warming (a new day, or kept buckets forgotten); 0 off (api/services/evaluation/warm.py)",
    )


class EarlyWarningSettings(GridGovSettings):
    """源头治理: likely duplicates on report (GRIDGOV_DUPLICATE_*)."""

    duplicate_radius_m: float = Field(default=50.0, gt=0, le=5_000)
    duplicate_hours: float = Field(default=72.0, gt=0, le=24 * 365)


class LimitSettings(GridGovSettings):
    """Abuse limits (GRIDGOV_*): body size, area geometry size, per-address rates (0 = off)."""

    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="else 413")
    max_polygon_vertices: int = Field(
        default=20_000, ge=4, description="per polygon of an area save (all rings), else 422"
    )
    max_polygon_parts: int = Field(default=1_000, ge=1, description="polygons per area, else 422")
    report_per_minute: float = Field(
        default=30, ge=0, description="reports without a token per client address; 0 = off"
    )
    report_burst: int = Field(default=30, ge=1)
    login_per_minute: float = Field(default=10, ge=0, description="POST /login per address")
    login_burst: int = Field(default=10, ge=1)
    locate_per_minute: float = Field(
        default=600, ge=0, description="GET /api/v1/locate without a token per address; 0 = off"
    )
    locate_burst: int = Field(default=120, ge=1)
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="seconds a connection has to send its request headers (gridgov serve)",
    )


class ConnectionBudgetSettings(GridGovSettings):
    """PostgreSQL connections the service may use, checked against max_connections at start-up.

    Each worker process opens at most `pool_max` request connections plus LISTENERS (the stream
    hub and the tile cache); a reserve is left for operators (psql, migrations, `gridgov` CLI).
    """

    workers: int = Field(
        default=1, ge=1, le=256, description="worker processes (gridgov serve --workers sets it)"
    )
    db_reserve_connections: int = Field(
        default=5, ge=0, le=1000, description="connections left free for operators and the CLI"
    )
    db_budget_check: bool = Field(
        default=True, description="refuse to start when the budget exceeds max_connections"
    )


class HttpSettings(GridGovSettings):
    """Cross-origin access and compression (GRIDGOV_CORS_ORIGINS, GRIDGOV_GZIP_*, _ZSTD_LEVEL)."""

    cors_origins: str = Field(
        default="",
        description="origins allowed to call /ogc, /tiles, /open311 and the public /api/v1 "
        "reads from a browser, comma-separated (https://gis.example.gov.cn), or *; empty = none",
    )
    gzip_min_bytes: int = Field(
        default=1024, ge=0, description="compress bodies from this size when asked; 0 = never"
    )
    gzip_level: int = Field(default=6, ge=1, le=9)
    zstd_level: int = Field(
        default=3, ge=1, le=19, description="zstd's level, for the clients that accept zstd"
    )

    def origins(self) -> list[str]:
        """The allowed origins as a list (empty: CORS off)."""
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]


class PhotoSettings(GridGovSettings):
    """Photos of the case file (GRIDGOV_*): where they are kept and what is accepted."""

    photo_dir: Path | None = Field(
        default=None,
        description="where photo files live (GRIDGOV_PHOTO_DIR); default <data_dir>/photos. "
        "Several app nodes share one directory (a shared volume), see docs/photos.md",
    )
    max_photos: int = Field(default=9, ge=1, le=50, description="photos per upload request")
    max_photo_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="bytes per photo as uploaded, else 413"
    )
    max_photo_pixels: int = Field(
        default=80_000_000, ge=10_000, description="width × height, else 422 (decompression bomb)"
    )
    photo_max_side: int = Field(default=2048, ge=64, le=10_000, description="served longest side")
    thumb_side: int = Field(default=320, ge=32, le=1_000)


class NotifySettings(GridGovSettings):
    """Notifications (GRIDGOV_*): SMTP server, the delivery worker's pace and its retries."""

    smtp_url: str = Field(
        default="",
        description="smtp://[user:password@]host[:port] (smtps:// for TLS, ?starttls=1); "
        "empty: e-mails wait in the outbox",
    )
    smtp_from: str = Field(default="gridgov@localhost", description="sender of e-mails")
    public_url: str = Field(
        default="", description="the site's address for links in messages, e.g. https://gov.example"
    )
    notify_worker: bool = Field(
        default=True, description="run the delivery worker inside each app process"
    )
    notify_poll_s: float = Field(default=2.0, gt=0, le=3600, description="worker's pause")
    notify_batch: int = Field(default=20, ge=1, le=1000, description="deliveries per round")
    notify_timeout_s: float = Field(default=10.0, gt=0, le=120, description="per delivery")
    notify_backoff_s: float = Field(default=30.0, gt=0, description="first retry after this")
    notify_backoff_max_s: float = Field(default=3600.0, gt=0, description="longest retry pause")
    notify_max_attempts: int = Field(default=12, ge=1, le=100, description="then 'dead'")
    notify_due_lookback_h: float = Field(
        default=24.0, gt=0, le=24 * 30, description="cases fallen due this recently are told"
    )


class BasemapSettings(GridGovSettings):
    """GridGov's own base map (GRIDGOV_BASEMAP_*): the Mapnik render processes."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_BASEMAP_")

    python: str = Field(
        default="/usr/bin/python3",
        description="the system Python that Debian's python3-mapnik is built for",
    )
    workers: int = Field(default=2, ge=1, le=32, description="render processes")
    metatile: int = Field(
        default=1, ge=1, le=8, description="render n×n tiles at once (fewer label cuts, more cache)"
    )
    max_zoom: int = Field(default=20, ge=0, le=22)


class FollowupSettings(GridGovSettings):
    """回访 (GRIDGOV_*): what a 不满意 rating does (its thresholds: EvaluationSettings)."""

    reopen_unsatisfied: bool = Field(
        default=False, description="不满意 sends a closed case back to the command centre"
    )


class I18nSettings(GridGovSettings):
    """Language of pages and API messages: zh_CN by default, en on request (docs/i18n.md)."""

    locale: str = Field(
        default="zh_CN", description="default language (GRIDGOV_LOCALE): zh_CN or en"
    )
    pseudo_locale: bool = Field(
        default=False,
        description="accept ?lang=qps, the pseudo-locale tests use to find uncatalogued text",
    )


class PatrolSettings(GridGovSettings):
    """大联勤 joint patrols (GRIDGOV_*): noise limits, coverage buffer, gaps, track retention."""

    patrol_max_accuracy_m: float = Field(
        default=50.0, gt=0, le=10_000, description="fixes less accurate than this are flagged"
    )
    patrol_max_speed_kmh: float = Field(
        default=30.0,
        gt=0,
        le=1_000,
        description="a fix reached faster than this from the previous clean fix is a jump",
    )
    patrol_max_segment_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="two clean fixes further apart in time are not joined (signal lost)",
    )
    patrol_batch_max: int = Field(default=1000, ge=1, le=100_000, description="fixes per batch")
    patrol_fix_every_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="the patrol page keeps a GPS position this often "
        "(or sooner once the officer has moved patrol_fix_min_move_m)",
    )
    patrol_fix_min_move_m: float = Field(
        default=15.0, gt=0, le=1_000, description="the patrol page keeps a position this far away"
    )
    patrol_upload_every_s: float = Field(
        default=30.0,
        ge=5,
        le=50,
        description="the patrol page uploads its queue this often while online "
        "(under the one minute of 'on patrol now')",
    )
    patrol_buffer_m: float = Field(
        default=30.0, gt=0, le=1_000, description="streets this close to a track are covered"
    )
    patrol_cell_m: float = Field(
        default=10.0,
        ge=1,
        le=100,
        description="side of the cells in which coverage periods are united "
        "(larger for grids of more than 262,144 cells)",
    )
    patrol_fold_s: float = Field(
        default=60.0,
        ge=0,
        le=3_600,
        description="each app process folds new fixes into the coverage figures this often "
        "(0: never; then `gridgov patrols fold` must run)",
    )
    patrol_max_gap_days: int = Field(
        default=3, ge=1, le=365, description="grids unpatrolled this long join the negative list"
    )
    track_retention_days: int = Field(
        default=90,
        ge=1,
        le=3_650,
        description="fixes older than this are reduced to daily coverage figures "
        "(gridgov patrols prune)",
    )


class Settings(GridGovSettings):
    """All settings of one GridGov process."""

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    assignment: AssignmentSettings = Field(default_factory=AssignmentSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    map: MapSettings = Field(default_factory=MapSettings)
    ogc: OgcSettings = Field(default_factory=OgcSettings)
    tiles: TileSettings = Field(default_factory=TileSettings)
    topology: TopologySettings = Field(default_factory=TopologySettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    early_warning: EarlyWarningSettings = Field(default_factory=EarlyWarningSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    budget: ConnectionBudgetSettings = Field(default_factory=ConnectionBudgetSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    photos: PhotoSettings = Field(default_factory=PhotoSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    basemap: BasemapSettings = Field(default_factory=BasemapSettings)
    followup: FollowupSettings = Field(default_factory=FollowupSettings)
    i18n: I18nSettings = Field(default_factory=I18nSettings)
    patrols: PatrolSettings = Field(default_factory=PatrolSettings)
