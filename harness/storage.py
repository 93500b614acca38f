"""Opening Optuna's storage, and storing long series on trials.

Storage URLs:

- any SQLAlchemy URL: ``sqlite:///harness.db`` (the default, in the working directory),
  ``postgresql://user@host/db``, ``mysql+pymysql://...`` (Optuna's RDB storage; several processes and
  machines may share it: Optuna's RDB-based distributed optimisation);
- ``journal:///path/to/file.log`` (or ``journal:relative.log``): Optuna's journal file storage, an
  append-only log with file locks, the alternative to SQLite for many local processes;
- ``grpc://host:port``: an Optuna gRPC storage proxy (``harness storage-proxy``) in front of a database,
  for very many workers.

The default is overridden by the ``HARNESS_STORAGE`` environment variable and then by ``--storage``.
SQLite files are opened with a 60 s busy timeout and in WAL journal mode, so that local worker processes
read while one writes. Checks happen before Optuna touches anything, so a typo never creates a stray
database: the dialect must be known to SQLAlchemy, and for file storages the directory must exist and be
writable (when writing) or the file must exist (when reading). Passwords never appear in messages.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import StorageError

if TYPE_CHECKING:
    import optuna

DEFAULT_STORAGE = "sqlite:///harness.db"
#: Longest JSON text stored in one user attribute; longer series are split over several attributes,
#: which keeps every backend (MySQL's TEXT holds 64 KiB) happy.
CHUNK_CHARS = 60_000


JOURNAL = "journal:"
GRPC = "grpc://"
#: Seconds to wait for a gRPC storage proxy to answer when opening it.
GRPC_READY_SECONDS = 5.0


def display_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages, logs and reports."""
    if url.startswith((JOURNAL, GRPC)):
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a SQLAlchemy URL: nothing to hide that we can find
        return url


def journal_path(url: str) -> Path | None:
    """The log file of a ``journal:`` URL, else ``None``."""
    if not url.startswith(JOURNAL):
        return None
    rest = url[len(JOURNAL):]
    return Path(rest[2:] if rest.startswith("//") else rest)


def storage_url(url: str | None = None) -> str:
    """``url`` if given, else ``$HARNESS_STORAGE``, else :data:`DEFAULT_STORAGE`."""
    return url or os.environ.get("HARNESS_STORAGE") or DEFAULT_STORAGE


def absolute_url(url: str) -> str:
    """``url`` with a relative SQLite or journal path made absolute, for a worker that starts in another folder."""
    journal = journal_path(url)
    if journal is not None:
        return f"{JOURNAL}//{journal.resolve()}"
    path = sqlite_path(url)
    return f"sqlite:///{path.resolve()}" if path is not None else url


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (``None`` for other dialects, in-memory SQLite or what is not a URL)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not a SQLAlchemy URL; check_url says so
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


#: Dialects whose URL must name a database: without one the driver connects to the server's default database
#: (PostgreSQL: the one named like the user), where a study would land unnoticed.
_SERVER_DIALECTS = ("postgresql", "mysql", "mariadb", "mssql", "oracle")


def check_url(url: str, *, write: bool) -> None:
    """Validate ``url`` without connecting to it.

    Raises:
        StorageError: malformed URL (no scheme, a port that is not a number), unknown dialect or missing driver,
            a server database URL without a database name, SQLite without a file (in memory) or with a directory,
            a SQLite directory missing or read-only (``write``), or a SQLite file missing (not ``write``).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = display_url(url)
    if url.startswith(GRPC):
        host, _, port = url[len(GRPC):].partition(":")
        if not host or not port.isdigit():
            raise StorageError(f"storage URL '{shown}': expected grpc://HOST:PORT")
        if not 1 <= int(port) <= 65535:
            raise StorageError(f"storage URL '{shown}': port {port} is not in 1-65535")
        return
    path = journal_path(url)
    if path is None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            hint = f"; did you mean sqlite:///{url}?" if "://" not in url and url.endswith((".db", ".sqlite", ".sqlite3")) else ""
            raise StorageError(f"storage URL '{shown}' is not a SQLAlchemy URL; expected e.g. sqlite:///harness.db, "
                               f"postgresql://user@host/db or journal:///path/file.log{hint}") from None
        except ValueError:  # a port that is not a number
            raise StorageError(f"storage URL '{shown}': the port is not a number; expected e.g. "
                               "postgresql://user@host:5432/db") from None
        try:
            parsed.get_dialect()
        except NoSuchModuleError:
            raise StorageError(f"storage URL '{shown}': unknown database dialect '{parsed.drivername}'; accepted: "
                               "sqlite, postgresql, mysql, mariadb, oracle, mssql (with their SQLAlchemy drivers), "
                               "journal, grpc") from None
        except ImportError as exc:
            raise StorageError(f"storage URL '{shown}': the driver for '{parsed.drivername}' is not installed "
                               f"({exc.name}); pip install it (postgresql: psycopg2-binary)") from None
        backend = parsed.get_backend_name()
        if backend in _SERVER_DIALECTS and not parsed.database:
            raise StorageError(f"storage URL '{shown}' names no database; add it after the host, e.g. "
                               f"{backend}://user@host/harness (the server's default database is never used)")
        if backend == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
            raise StorageError(f"storage URL '{shown}' names no database file (an in-memory SQLite database ends "
                               "with the process that opened it, and each harness process opens its own); expected "
                               "e.g. sqlite:///harness.db")
        path = sqlite_path(url)
    if path is None:
        return
    if path.is_dir() or not path.name or path.name in (".", ".."):
        raise StorageError(f"storage '{shown}': '{path}' is a directory, not a database file; expected e.g. "
                           f"sqlite:///{path / 'harness.db'}")
    if write:
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise StorageError(f"storage '{shown}': directory '{folder}' does not exist")
        target = path if path.exists() else folder
        if not os.access(target, os.W_OK):
            raise StorageError(f"storage '{shown}': '{target}' is not writable")
    elif not path.is_file():
        raise StorageError(f"storage '{shown}': no database file at '{path}'; run `harness run-study` first "
                           "or pass --storage")


def open_storage(
    url: str | None = None, *, write: bool = False, heartbeat: tuple[int, int, int] | None = None, patience: float = 0.0
) -> optuna.storages.BaseStorage:
    """Open the storage at ``url`` (see the module docstring and :func:`storage_url`).

    Args:
        url: Storage URL; default ``$HARNESS_STORAGE`` or ``sqlite:///harness.db``.
        write: Whether the caller will write (a missing SQLite or journal file is then created).
        heartbeat: ``(interval, grace period, max retries)`` in seconds and retries: RDB storages record a
            heartbeat of every running trial; a trial without one for the grace period is marked failed
            and re-queued (Optuna's ``RetryHeartbeatStaleTrialCallback``) by the next trial that starts.
        patience: Seconds each call to an RDB storage, once it is open, keeps retrying while the database server
            cannot be reached (:class:`harness.outage.PatientRDBStorage`); 0 (the default for reading): none.

    Raises:
        StorageError: see :func:`check_url`; or the database cannot be reached.
    """
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

    from harness.outage import PatientRDBStorage

    url = storage_url(url)
    check_url(url, write=write)
    if url.startswith(GRPC):
        host, _, port = url[len(GRPC):].partition(":")
        try:
            with warnings.catch_warnings():  # "experimental" in Optuna: not the user's concern
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                proxy = optuna.storages.GrpcStorageProxy(host=host, port=int(port))
        except ImportError as exc:
            raise StorageError(f"storage '{url}' needs grpcio and protobuf ({exc.name}); pip install 'harness[grpc]'") from None
        try:
            proxy.wait_server_ready(timeout=GRPC_READY_SECONDS)
        except ConnectionError:
            proxy.close()
            raise StorageError(f"storage '{url}': no gRPC storage proxy answers at {host}:{port} within "
                               f"{GRPC_READY_SECONDS:g} s; start one with `harness storage-proxy --port {port}`") from None
        return proxy
    path = journal_path(url)
    if path is not None:
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    engine_kwargs: dict[str, Any] = {}
    if sqlite_path(url) is not None:
        engine_kwargs["connect_args"] = {"timeout": 60}
    extra: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna: not the user's concern
            warnings.simplefilter("ignore")
            if heartbeat is not None:
                interval, grace, retries = heartbeat
                extra = {"heartbeat_interval": interval, "grace_period": grace,
                         "heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(
                             max_retry=retries)}
            try:
                storage = PatientRDBStorage(url, engine_kwargs=engine_kwargs, patience=patience, **extra)
            except (IntegrityError, OperationalError) as exc:
                # another process created the schema of this new database at the same time: SQLite reports a
                # duplicate version row (IntegrityError) or "table ... already exists" (OperationalError)
                if isinstance(exc, OperationalError) and "already exists" not in str(exc):
                    raise
                time.sleep(0.5)
                storage = PatientRDBStorage(url, engine_kwargs=engine_kwargs, patience=patience, **extra)
    except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        cause = exc if isinstance(exc, SQLAlchemyError) else (exc.__cause__ or exc)  # Optuna wraps a failed commit
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise StorageError(f"storage '{display_url(url)}' cannot be opened: {reason}{_capacity_advice(reason)}") from None
    except ImportError as exc:
        missing = getattr(exc.__cause__, "name", None) or "the database driver"
        raise StorageError(f"storage '{display_url(url)}': the database driver is not installed ({missing}); "
                           "pip install 'psycopg[binary]' for PostgreSQL or pymysql for MySQL") from None
    if sqlite_path(url) is not None:
        _sqlite_wal(storage)
    return storage


#: What a database server says when it has no connection left for another client (PostgreSQL, MySQL / MariaDB).
_FULL = ("too many clients", "too many connections")


def _capacity_advice(reason: str) -> str:
    """For a server out of connections: how many a worker holds, and the ways out."""
    if not any(full in reason.lower() for full in _FULL):
        return ""
    return ("; every worker holds 2 connections (benchmarks/scale.py): run fewer workers, raise the server's "
            "max_connections, or put `harness storage-proxy` in front of the database (--storage grpc://HOST:PORT)")


def _sqlite_wal(storage: Any) -> None:
    """Switch a SQLite storage to WAL journal mode (readers do not block the writer); the mode is
    stored in the database file, so every later connection uses it."""
    from sqlalchemy import event, text

    engine = storage.engine
    with engine.connect() as connection:
        connection.execute(text("PRAGMA journal_mode=WAL"))

    @event.listens_for(engine, "connect")
    def _busy_timeout(dbapi_connection, _record):  # noqa: ANN001 - SQLAlchemy's signature
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()


# -- long series on trials ------------------------------------------------------------------------
def put_series(trial: Any, key: str, values: list[Any]) -> None:
    """Store a JSON-able list as user attribute(s) of ``trial``: ``key`` or ``key.0``, ``key.1``, ...

    Non-finite floats are stored as ``null``.
    """
    values = _finite(list(values))
    if len(json.dumps(values, separators=(",", ":"))) <= CHUNK_CHARS:
        trial.set_user_attr(key, values)
        return
    parts = _split(values)
    trial.set_user_attr(f"{key}.parts", len(parts))
    for i, part in enumerate(parts):
        trial.set_user_attr(f"{key}.{i}", part)


def get_series(user_attrs: dict[str, Any], key: str) -> list[Any] | None:
    """Read back a series written by :func:`put_series` (``None`` when absent)."""
    if key in user_attrs:
        return user_attrs[key]
    parts = user_attrs.get(f"{key}.parts")
    if parts is None:
        return None
    out: list[Any] = []
    for i in range(parts):
        out.extend(user_attrs.get(f"{key}.{i}", []))
    return out


# -- stored outputs (predictions and references) --------------------------------------------------
def put_output(owner: Any, key: str, obj: Any) -> int:
    """Store ``obj`` (see :mod:`harness.outputs`) as system attributes ``outputs:<key>.parts``,
    ``outputs:<key>.0``, ... of ``owner``: an ``optuna.Study``, a running ``optuna.Trial`` or a :class:`PendingTrial`.

    Returns:
        Characters stored (the packed size, about 4/3 of the compressed bytes).
    """
    from harness.outputs import PREFIX, pack

    text = pack(obj)
    parts = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
    set_attr, owner_id = _system_attr_setter(owner)
    for i, part in enumerate(parts):
        set_attr(owner_id, f"{PREFIX}{key}.{i}", part)
    set_attr(owner_id, f"{PREFIX}{key}.parts", len(parts))  # written last: its presence marks a complete output
    return len(text)


def get_output(system_attrs: dict[str, Any], key: str) -> Any:
    """The output stored under ``key`` by :func:`put_output` (``None`` when absent or incomplete)."""
    from harness.outputs import PREFIX, unpack

    parts = system_attrs.get(f"{PREFIX}{key}.parts")
    if parts is None:
        return None
    return unpack("".join(system_attrs[f"{PREFIX}{key}.{i}"] for i in range(int(parts))))


def output_keys(system_attrs: dict[str, Any]) -> list[str]:
    """Keys of the complete outputs among ``system_attrs``, sorted."""
    from harness.outputs import PREFIX

    return sorted(k[len(PREFIX):-len(".parts")] for k in system_attrs if k.startswith(PREFIX) and k.endswith(".parts"))


def study_system_attrs(study: Any) -> dict[str, Any]:
    """The system attributes of an ``optuna.Study`` (where :func:`put_output` stores a study's outputs)."""
    return study._storage.get_study_system_attrs(study._study_id)


def trial_system_attrs(trial: Any) -> dict[str, Any]:
    """The system attributes of a trial, running (``optuna.Trial``) or frozen (``FrozenTrial``)."""
    if hasattr(trial, "system_attrs"):
        return trial.system_attrs
    return trial.storage.get_trial_system_attrs(trial._trial_id)


class PendingTrial:
    """A trial's attributes gathered before it exists in the storage: :func:`put_series` and :func:`put_output` write
    into it as into a running trial, and :meth:`add_to` stores it finished, in one write (Optuna's
    ``create_new_trial`` with a template), so a process killed before that leaves no running trial behind.

    Args:
        user_attrs: User attributes to start from.
    """

    def __init__(self, user_attrs: dict[str, Any] | None = None):
        self.user_attrs: dict[str, Any] = dict(user_attrs or {})
        self.system_attrs: dict[str, Any] = {}

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def add_to(self, study: Any, state: Any, value: float | None = None) -> Any:
        """Store the trial in ``study`` with ``state`` (``COMPLETE`` with ``value``, or ``FAIL``); the stored
        ``FrozenTrial`` (with its number)."""
        import optuna

        template = optuna.trial.create_trial(state=state, value=value, user_attrs=self.user_attrs,
                                             system_attrs=self.system_attrs)
        trial_id = study._storage.create_new_trial(study._study_id, template_trial=template)
        return study._storage.get_trial(trial_id)


def _system_attr_setter(owner: Any) -> tuple[Any, int | None]:
    import optuna

    if isinstance(owner, PendingTrial):
        return (lambda _, key, value: owner.system_attrs.__setitem__(key, value)), None
    if isinstance(owner, optuna.Study):
        return owner._storage.set_study_system_attr, owner._study_id
    return owner.storage.set_trial_system_attr, owner._trial_id


def _split(values: list[Any]) -> list[list[Any]]:
    longest = max(len(json.dumps(v, separators=(",", ":"))) for v in values) + 1  # with its comma
    size = max(1, (CHUNK_CHARS - 2) // longest)
    return [values[i : i + size] for i in range(0, len(values), size)]


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (at any depth) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
