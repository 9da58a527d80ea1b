"""A project-local PostgreSQL + PostGIS cluster run with the system's PostgreSQL binaries."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

DB_USER = "gridgov"
# PostgreSQL refuses to run as root; as root we run it as this system user (Debian's default).
SERVICE_USER = "postgres"


class EmbeddedDatabaseError(RuntimeError):
    """A problem with the local cluster, phrased for the person at the terminal."""


def _pg_bindir() -> Path:
    """Locate initdb/pg_ctl: `pg_config --bindir` first, then Debian's /usr/lib/postgresql."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    candidates += [Path(p) for p in versions]
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    raise EmbeddedDatabaseError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them with "
        "`sudo apt-get install postgresql postgresql-15-postgis-3` (Debian 12) or run "
        "`make setup`; "
        "or set GRIDGOV_DATABASE_URL to an existing PostGIS server."
    )


def _postgis_available(bindir: Path) -> bool:
    """True when the PostGIS extension is installed for these binaries."""
    sharedir = None
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0:
            sharedir = Path(out.stdout.strip())
    if sharedir is None:
        sharedir = Path("/usr/share/postgresql") / bindir.parent.name
    return (sharedir / "extension" / "postgis.control").exists()


def _major_version(bindir: Path) -> str:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
    digits = out.stdout.strip().split()[-1]
    return digits.split(".")[0]


@dataclass
class EmbeddedCluster:
    """One cluster: data under `home/pg`, its port on 127.0.0.1 and a unix socket in `home/pg`."""

    home: Path
    port: int = 54320
    dbname: str = "gridgov"
    durable: bool = True  # tests turn fsync off: their clusters are thrown away

    def __post_init__(self) -> None:
        self.home = self.home.expanduser().resolve()
        self._as_root = os.geteuid() == 0

    # -- where things are -------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """The PGDATA directory, relocated when the service user cannot reach `home`."""
        if self._as_root and not self._service_user_can_reach(self.home):
            digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:10]
            return Path("/var/lib/gridgov") / digest / "pg"
        return self.home / "pg"

    @property
    def state_file(self) -> Path:
        return self.home / "db.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgresql.log"

    def _service_user_can_reach(self, path: Path) -> bool:
        """Whether every existing ancestor of `path` is traversable by the service user."""
        try:
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return False
        probe = path
        while not probe.exists():
            probe = probe.parent
        for ancestor in [probe, *probe.parents]:
            st = ancestor.stat()
            if st.st_uid == entry.pw_uid:
                if not st.st_mode & 0o100:
                    return False
            elif not st.st_mode & 0o001:
                if not (st.st_gid == entry.pw_gid and st.st_mode & 0o010):
                    return False
        return True

    # -- commands ---------------------------------------------------------------------------
    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        if self._as_root:
            args = ["runuser", "-u", SERVICE_USER, "--", *args]
        result = subprocess.run(args, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise EmbeddedDatabaseError(
                f"`{' '.join(args)}` failed:\n{result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def _password(self) -> str:
        if self.state_file.exists():
            return str(json.loads(self.state_file.read_text())["password"])
        return ""

    def url(self) -> str:
        """libpq URL of the cluster's database (password from the local state file)."""
        pw = quote(self._password(), safe="")
        return f"postgresql://{DB_USER}:{pw}@127.0.0.1:{self.port}/{self.dbname}"

    def is_running(self) -> bool:
        """Whether postgres runs on this data directory."""
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        bindir = _pg_bindir()
        return (
            self._run(
                [str(bindir / "pg_ctl"), "-D", str(self.data_dir), "status"], False
            ).returncode
            == 0
        )

    def up(self) -> str:
        """Create (first time) and start the cluster, create the database; idempotent."""
        bindir = _pg_bindir()
        if not _postgis_available(bindir):
            major = _major_version(bindir)
            raise EmbeddedDatabaseError(
                f"PostGIS is not installed for PostgreSQL {major}. Install it with "
                f"`sudo apt-get install postgresql-{major}-postgis-3` (or run `make setup`)."
            )
        self.home.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            self._init(bindir)
        if not self.is_running():
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._chown(self.log_file.parent)
            self._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
        self._wait_ready(bindir)
        self._ensure_database()
        return self.url()

    def up_replica(self, primary: EmbeddedCluster) -> str:
        """Create (first time: `pg_basebackup -R` from the running `primary`) and start a hot
        standby streaming from it, on this cluster's own port; returns its URL (read-only).

        The way docs/scaling.md sets a replica up, for the tests and for trying it locally.
        """
        bindir = _pg_bindir()
        self.home.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "PG_VERSION").exists():
            password = primary._password()
            self.state_file.write_text(json.dumps({"password": password, "port": self.port}))
            self.state_file.chmod(0o600)
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            self._chown(self.data_dir.parent)
            source = (
                f"host=127.0.0.1 port={primary.port} user={DB_USER} "
                f"password={password} dbname=postgres"
            )
            # -R writes standby.signal and primary_conninfo; -X stream: WAL of the copy's time
            self._run(
                [str(bindir / "pg_basebackup"), "-d", source, "-D", str(self.data_dir)]
                + ["-R", "-X", "stream", "-c", "fast"]
            )
            conf = [  # the copy carries the primary's port and socket directory: its own instead
                f"port = {self.port}",
                f"unix_socket_directories = '{self.data_dir}'",
                "hot_standby = on",
                # the primary keeps rows a replica query still reads, instead of that query
                # being cancelled by the replay of their vacuum
                "hot_standby_feedback = on",
            ]
            with open(self.data_dir / "postgresql.auto.conf", "a") as fh:
                fh.write("\n".join(conf) + "\n")
        if not self.is_running():
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._chown(self.log_file.parent)
            self._run(
                [str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file)]
                + ["-w", "-t", "60", "start"]
            )
        self._wait_ready(bindir)
        return self.url()

    def down(self) -> bool:
        """Stop the cluster if it runs; returns whether it was running."""
        if not self.is_running():
            return False
        bindir = _pg_bindir()
        self._run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return True

    def destroy(self) -> None:
        """Stop and delete the cluster and its state (tests' throwaway clusters)."""
        self.down()
        shutil.rmtree(
            self.data_dir.parent if self.data_dir.parent != self.home else self.data_dir,
            ignore_errors=True,
        )
        shutil.rmtree(self.home, ignore_errors=True)

    def status(self) -> dict[str, object]:
        """Where the cluster lives and whether it runs."""
        return {
            "running": self.is_running(),
            "data_dir": str(self.data_dir),
            "port": self.port,
            "socket_dir": str(self.data_dir),
            "database": self.dbname,
            "url": self.url(),
            "log": str(self.log_file),
        }

    # -- internals --------------------------------------------------------------------------
    def _chown(self, path: Path) -> None:
        if self._as_root:
            entry = pwd.getpwnam(SERVICE_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _init(self, bindir: Path) -> None:
        if self._as_root:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError as exc:
                raise EmbeddedDatabaseError(
                    f"Running as root needs the unprivileged system user '{SERVICE_USER}' "
                    "(created by the Debian package `postgresql`)."
                ) from exc
        password = secrets.token_urlsafe(24)
        self.state_file.write_text(json.dumps({"password": password, "port": self.port}))
        self.state_file.chmod(0o600)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        self._chown(self.data_dir.parent)
        self.data_dir.chmod(0o700)
        pwfile = self.data_dir.parent / ".pwfile"
        pwfile.write_text(password + "\n")
        self._chown(pwfile)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    DB_USER,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = [
            f"port = {self.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.data_dir}'",
            "max_connections = 100",
            "shared_buffers = 256MB",
            "work_mem = 32MB",
        ]
        if not self.durable:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data_dir / "postgresql.auto.conf", "a") as fh:
            fh.write("\n".join(conf) + "\n")

    def _wait_ready(self, bindir: Path) -> None:
        for _ in range(100):
            ok = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.1)
        raise EmbeddedDatabaseError(f"PostgreSQL did not accept connections; see {self.log_file}")

    def _ensure_database(self) -> None:
        admin_url = self.url().rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,)
            ).fetchone()
            if found is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
