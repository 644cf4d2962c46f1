"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, serve on 127.0.0.1, delete after.

initdb refuses to run as root, so as root the cluster is owned by the `postgres` user and every
server command goes through `runuser` (or `su`). `stop()`/`start()` let tests kill the server mid-stream.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "postgres"


class ClusterUnavailable(RuntimeError):
    """The machine cannot run a throwaway cluster (binaries or the postgres user are missing)."""


class ServerCommandFailed(RuntimeError):
    """initdb or pg_ctl exited non-zero; the message carries its output and the server log."""


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl/postgres: PATH first, then Debian's versioned layout."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    candidates += [Path("/usr/local/pgsql/bin")]
    for folder in candidates:
        if all((folder / name).exists() for name in SERVER_BINARIES):
            return folder
    raise ClusterUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
        "/usr/lib/postgresql/*/bin; install postgresql to run these tests")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    def __init__(self, bin_dir: Path | None = None):
        self.bin_dir = bin_dir or find_bin_dir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self._owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise ClusterUnavailable(
                    "running as root and there is no `postgres` user to own the test cluster") from None
        # As root, TMPDIR may sit under /root where `postgres` cannot reach it; /tmp always can.
        parent = "/tmp" if self.as_root and os.path.isdir("/tmp") else None
        self.base = Path(tempfile.mkdtemp(prefix="logintel-pg-", dir=parent))
        self.data_dir = self.base / "data"
        self.log_file = self.base / "server.log"
        self.port = 0
        self.running = False
        self._clean: list[str] = []  # emptied databases ready for the next test
        if self.as_root:
            os.chown(self.base, self._owner.pw_uid, self._owner.pw_gid)
        atexit.register(self.destroy)  # a crashed session must not leave a server behind

    # -- lifecycle -----------------------------------------------------------------------------

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")
        # In postgresql.conf rather than on the pg_ctl command line, so a restart keeps them.
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
        }
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# logintel test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        if self.running:
            return
        if not self.port:
            # The port is free when picked but could be taken before postgres binds it: retry.
            last_error: Exception | None = None
            for _ in range(5):
                self.port = free_port()
                try:
                    self._pg_ctl_start()
                    return
                except ServerCommandFailed as exc:
                    last_error = exc
            self.port = 0
            raise ServerCommandFailed(f"could not start PostgreSQL: {last_error}")
        self._pg_ctl_start()  # a restart must keep the port: URLs handed out still point at it

    def _pg_ctl_start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                  "-o", f"-p {self.port}", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        if not self.running:
            return
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Stop the server for the duration of the block; it is serving again afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def destroy(self) -> None:
        """Stop the server (forcefully if needed) and delete every file of the cluster."""
        try:
            # postmaster.pid, not `running`: a start that timed out may still have left a server.
            if (self.data_dir / "postmaster.pid").exists():
                try:
                    self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop")
                except Exception:
                    self._kill_postmaster()
        finally:
            self.running = False
            shutil.rmtree(self.base, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of the postmaster this cluster started
        except ProcessLookupError:
            return
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    # -- databases -----------------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its URL."""
        import psycopg
        from psycopg import sql

        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def acquire_database(self) -> str:
        """The URL of an empty database: a reset one from earlier tests, else a new one."""
        if self._clean:
            return self.url(self._clean.pop())
        return self.create_database()

    def release_database(self, url: str) -> None:
        """Hand back a database from `acquire_database`, emptied for the next test."""
        name = url.rsplit("/", 1)[1]
        try:
            self._empty(name)
        except Exception:
            self.drop_database(name)
            return
        self._clean.append(name)

    def _empty(self, name: str) -> None:
        # CREATE DATABASE copies a template (~0.4 s here); dropping every schema takes ~20 ms.
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(name), autocommit=True, connect_timeout=10) as conn:
            # A connection a test leaked could hold locks the DROPs below would wait on forever.
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE datname = current_database() AND pid <> pg_backend_pid()")
            schemas = [row[0] for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'"
                " AND nspname <> 'information_schema'")]
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
            conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # -- plumbing ------------------------------------------------------------------------------

    def server_log(self, tail: int = 4000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def _run(self, binary: str, *args: str) -> None:
        argv = [str(self.bin_dir / binary), *args]
        if self.as_root:
            argv = _as_user(SUPERUSER, argv)
        # cwd inside the cluster dir: as `postgres`, the caller's cwd (/root) may be unreadable.
        result = subprocess.run(argv, cwd=self.base, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise ServerCommandFailed(
                f"{shlex.join(argv)} exited {result.returncode}\n{result.stdout}{result.stderr}\n"
                f"--- server log ---\n{self.server_log()}")


def _as_user(user: str, argv: list[str]) -> list[str]:
    runuser = shutil.which("runuser") or ("/usr/sbin/runuser" if os.path.exists("/usr/sbin/runuser") else None)
    if runuser:
        return [runuser, "-u", user, "--", *argv]
    return ["su", user, "-s", "/bin/sh", "-c", shlex.join(argv)]


def start_cluster() -> PostgresCluster:
    """A running cluster, or ClusterUnavailable; cleans up after itself if starting fails."""
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        cluster.destroy()
        raise
    return cluster
