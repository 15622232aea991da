"""A throwaway PostgreSQL server on 127.0.0.1 for the tests and the benchmarks.

:func:`throwaway_cluster` runs Debian's PostgreSQL server binaries (``initdb``, ``pg_ctl``,
``postgres``) on a fresh cluster in a temporary folder, with a free port, trust
authentication for the role ``saraban`` and a database ``saraban``, and yields its URL;
on leaving, the server is stopped and the folder removed, even when the body raised. As
root the server runs as Debian's ``postgres`` system user, since PostgreSQL refuses to run
as root. Durability is switched off (``fsync``, ``synchronous_commit``,
``full_page_writes``): a crash loses the cluster, which nobody keeps anyway.
:func:`fresh_database` and :func:`drop_database` give each test a database of its own on
one server.

Does not: install PostgreSQL (``scripts/install-postgresql.sh``, run by ``make test``),
listen on any address but 127.0.0.1 (and a socket in its own folder), ask for a password,
or keep anything after it stops.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg import sql

ROLE = "saraban"
DATABASE = "saraban"
SYSTEM_USER = "postgres"
"""The unprivileged user Debian's package creates; the server runs as it under root."""
START_TIMEOUT = 60
START_ATTEMPTS = 3
"""A free port may be taken by another process before the server binds it."""
SERVER_SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off -c max_connections=200"
)


class ServerNotInstalled(RuntimeError):
    """PostgreSQL's server binaries are not on this machine."""


def server_bindir() -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``: ``pg_config --bindir`` when
    it holds them, else the newest ``/usr/lib/postgresql/*/bin``."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        bindir = Path(done.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if not candidates:
        raise ServerNotInstalled(
            "PostgreSQL's server is not installed: make test installs it "
            "(apt-get install postgresql)"
        )
    return max(candidates, key=_version)


def _version(bindir: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", bindir.parent.name))


def _server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(
            f"as root the server runs as the {SYSTEM_USER!r} system user, and there is none "
            "(Debian's postgresql package creates it)"
        ) from None


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` as it must be run: as ``postgres`` under root, else as it is."""
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser"):
        return ["runuser", "-u", SYSTEM_USER, "--", *command]
    if shutil.which("setpriv"):
        user = _server_user()
        return [
            "setpriv",
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--init-groups",
            "--",
            *command,
        ]
    return ["su", SYSTEM_USER, "-s", "/bin/sh", "-c", shlex.join(command)]


PORTS = range(20_000, 30_000)
"""Where a server's port is drawn: below the kernel's ephemeral ports (32768 and up), which
the hub and node processes of the tests take, so a node restarted on its port never finds
a database server there."""


def _free_port() -> int:
    for _ in range(100):
        port = random.choice(PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for PostgreSQL in 20000-29999")


def _log_tail(folder: Path, lines: int = 20) -> str:
    try:
        text = (folder / "log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


def _with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path="/" + quote(name, safe="")).geturl()


class Cluster:
    """One PostgreSQL cluster in ``folder``: :meth:`start` it, then :meth:`stop` it.

    For the failover tests it can also be stopped dead and started again
    (:meth:`halt`, :meth:`resume`), give a streaming standby of itself (:meth:`standby`),
    and a standby can be promoted (:meth:`promote`)."""

    def __init__(self, folder: Path, bindir: Path, settings: str = SERVER_SETTINGS) -> None:
        self.folder = folder
        self.bindir = bindir
        self.settings = settings
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_server_user([str(self.bindir / tool), *args]),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 30,
        )

    def _initdb(self) -> None:
        base = ["-D", str(self.folder), "-U", ROLE, "-A", "trust", "-E", "UTF8", "--no-sync"]
        for locale in ("C.UTF-8", "C"):
            done = self._run("initdb", *base, f"--locale={locale}")
            if done.returncode == 0:
                return
        raise RuntimeError(f"initdb failed in {self.folder}:\n{done.stdout}{done.stderr}")

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        options = f"-p {self.port} -k {shlex.quote(str(self.folder))} {self.settings}"
        return self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.folder),
            "-l",
            str(self.folder / "log"),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            options,
        )

    def start(self) -> str:
        """Creates the cluster, starts its server and its database; returns the URL."""
        if os.geteuid() == 0:
            user = _server_user()
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._initdb()
        self._serve()
        _create_database(self.url, DATABASE)
        return self.url

    def _serve(self) -> None:
        for _ in range(START_ATTEMPTS):
            self.port = self.port or _free_port()
            done = self._pg_ctl_start()
            if done.returncode == 0:
                return
            self.port = 0
        raise RuntimeError(
            f"PostgreSQL did not start in {self.folder}:\n{done.stdout}{done.stderr}\n"
            f"server log:\n{_log_tail(self.folder)}"
        )

    def halt(self) -> None:
        """Stop the server dead, as a machine that loses power (the folder stays)."""
        self._run("pg_ctl", "stop", "-D", str(self.folder), "-m", "immediate", "-w")

    def resume(self) -> None:
        """Start the halted server again on its port."""
        done = self._pg_ctl_start()
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again:\n{_log_tail(self.folder)}")

    def standby(self, folder: Path) -> Cluster:
        """A hot standby of this server in ``folder`` (empty), following it by streaming
        replication, started on a port of its own."""
        if os.geteuid() == 0:
            user = _server_user()
            os.chown(folder, user.pw_uid, user.pw_gid)
        data = folder / "data"
        done = self._run(
            "pg_basebackup", "-D", str(data), "-R", "-X", "stream", "-c", "fast", "-h", "127.0.0.1",
            "-p", str(self.port), "-U", ROLE,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed:\n{done.stdout}{done.stderr}")
        follower = Cluster(data, self.bindir, self.settings)
        follower._serve()
        return follower

    def promote(self) -> None:
        """Make this standby the primary (it accepts writes from now on)."""
        done = self._run("pg_ctl", "promote", "-D", str(self.folder), "-w")
        if done.returncode != 0:
            raise RuntimeError(f"promotion failed:\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        """Stops the server at once (nothing is kept) and removes the folder."""
        try:
            if (self.folder / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-D", str(self.folder), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


REPLICATED_SETTINGS = SERVER_SETTINGS.replace("full_page_writes=off", "full_page_writes=on")
"""A primary a standby is copied from while it runs needs its full-page writes."""


@contextlib.contextmanager
def throwaway_server(
    root: Path | None = None, settings: str = SERVER_SETTINGS
) -> Iterator[Cluster]:
    """A running server with the database ``saraban``, as its :class:`Cluster`; gone on
    leaving, with every standby made of it in its own folders."""
    bindir = server_bindir()
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="saraban-pg-", dir=root)), bindir, settings)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@contextlib.contextmanager
def throwaway_cluster(root: Path | None = None) -> Iterator[str]:
    """A running server with the database ``saraban``, as its URL; gone on leaving.

    The folder is made under ``root`` (the system's temporary folder by default); as root
    the ``postgres`` user must be able to enter ``root``."""
    bindir = server_bindir()
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="saraban-pg-", dir=root)), bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def _admin_url(url: str) -> str:
    return _with_database(url, "postgres")


def _database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def _create_database(url: str, name: str) -> None:
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fresh_database(url: str, name: str) -> str:
    """Creates the empty database ``name`` on ``url``'s server and returns its URL."""
    _create_database(url, name)
    return _with_database(url, name)


def drop_database(url: str) -> None:
    """Drops ``url``'s database, closing any connection still open to it."""
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(_database_name(url))
            )
        )
