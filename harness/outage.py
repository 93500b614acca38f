"""Waiting out a database outage: an Optuna RDB storage whose calls retry, with backoff, while the server is away.

Workers of a study on PostgreSQL (or MySQL) lose their database when the server restarts, fails over or the network
drops. Optuna's :class:`~optuna.storages.RDBStorage` then raises at the first call, the trial fails and the worker
ends. :class:`PatientRDBStorage` is that storage with every call that reaches the database retried while the error
is a lost or refused connection: after 0.5 s, then twice as long each time up to 30 s, until ``patience`` seconds
have passed since the first failure (``[run] outage_patience``, default 600 s); then the last error is raised.
Errors that are not about the connection (a constraint, a value too long) are raised at once. Connections are
checked before use (SQLAlchemy's ``pool_pre_ping``), so a pooled connection the restart killed is replaced.

Each call is one transaction: a call that failed to connect wrote nothing, so retrying it neither loses nor
duplicates a trial. (A server lost in the instant between a commit and its acknowledgement is the one case a retry
can repeat; it is not detectable from the client.)

Heartbeats go quiet during an outage, for every worker at once. So that the first worker back does not fail the
others' running trials as stale (and re-queue duplicates of them), a storage that has just waited out an outage
reports no stale trials until one grace period plus the longest backoff wait (:data:`LONGEST_WAIT`) has passed since
it came back: another worker's retry may have been sleeping when the server returned, and comes back up to one wait
later (seen: 7.5 s and 15.6 s for two workers of one outage, with a 4 s grace period). By then the live workers have
sent their heartbeats again, and a trial whose worker really died is failed and re-queued as usual.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import optuna

from harness.console import warn

#: Seconds before the first retry; each wait doubles, up to :data:`LONGEST_WAIT`.
FIRST_WAIT = 0.5
LONGEST_WAIT = 30.0
#: Default seconds a call keeps retrying from its first failure (``[run] outage_patience``).
PATIENCE = 600.0

#: Phrases of the errors drivers raise for a connection that is lost, refused or not yet possible.
_CONNECTION_PHRASES = (
    "could not connect", "connection refused", "server closed the connection", "terminating connection",
    "connection is closed", "connection already closed", "the connection is lost", "lost connection",
    "can't connect", "no connection to the server", "the database system is starting up",
    "the database system is shutting down", "the database system is in recovery mode", "connection timed out",
    "server has gone away", "consuming input failed", "ssl syscall error", "connection reset",
)

#: The storage calls that reach the database: every public method of Optuna's storage and heartbeat interfaces that
#: reads or writes, and the private ones Optuna's own trial cache (``_CachedStorage``) calls on it.
_CALLS = (
    "_create_new_trial", "_get_best_trial_id", "_get_trials", "_set_trial_param",
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr", "get_study_id_from_name",
    "get_study_name_from_id", "get_study_directions", "get_study_user_attrs", "get_study_system_attrs",
    "get_all_studies", "create_new_trial", "set_trial_param", "get_trial_param", "get_trial_params",
    "set_trial_state_values", "set_trial_intermediate_value", "set_trial_user_attr", "set_trial_system_attr",
    "get_trial_user_attrs", "get_trial_system_attrs", "get_trial_id_from_study_id_trial_number",
    "get_trial_number_from_id", "get_n_trials", "get_trial", "get_all_trials", "get_best_trial", "record_heartbeat",
)


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a lost, refused or not-yet-possible connection."""
    from sqlalchemy.exc import DBAPIError

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if any(phrase in str(exc).lower() for phrase in _CONNECTION_PHRASES):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class PatientRDBStorage(optuna.storages.RDBStorage):
    """:class:`~optuna.storages.RDBStorage` whose database calls wait out an outage (see the module docstring).

    Args:
        url, engine_kwargs, **kwargs: As for ``RDBStorage`` (``pool_pre_ping`` is on for a database server unless
            ``engine_kwargs`` says otherwise). Opening the storage does not wait: a database that cannot be reached
            at the start is a wrong URL or a server that is down, said at once.
        patience: Seconds each later call keeps retrying after its first connection error before raising it.

    Attributes:
        outages: How many outages this storage has waited out (a call that failed at least once, then succeeded).
        waited: Seconds spent waiting in them.
    """

    def __init__(self, url: str, engine_kwargs: dict[str, Any] | None = None, *, patience: float = PATIENCE,
                 **kwargs: Any):
        self.patience = 0.0
        self._calls = threading.local()  # the heartbeat thread calls too
        self.outages = 0
        self.waited = 0.0
        self._back_at = -float("inf")  # time.monotonic() when the last outage ended
        ping = {} if url.startswith("sqlite") else {"pool_pre_ping": True}  # a file has no connection to lose
        super().__init__(url, engine_kwargs={**ping, **(engine_kwargs or {})}, **kwargs)
        self.patience = patience

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("_calls", None)  # a thread-local does not pickle
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._calls = threading.local()

    def _patiently(self, call):
        """``call()``, retried with backoff while it fails for a lost connection, for up to :attr:`patience` s. A call
        made from within another (a public method calling a private one) is retried by the outer one only."""
        if getattr(self._calls, "depth", 0):
            return call()
        self._calls.depth = 1
        try:
            return self._wait_out(call)
        finally:
            self._calls.depth = 0

    def _wait_out(self, call):
        start = time.monotonic()
        wait = FIRST_WAIT
        failed = False
        while True:
            try:
                result = call()
            except Exception as exc:
                if not is_connection_error(exc) or time.monotonic() - start + wait > self.patience:
                    raise
                if not failed:
                    reason = str(getattr(exc, "orig", None) or exc.__cause__ or exc).strip().splitlines()[0][:200]
                    warn(f"storage: the database cannot be reached ({reason}); retrying for up to "
                         f"{self.patience:g} s")
                failed = True
                time.sleep(wait)
                wait = min(2 * wait, LONGEST_WAIT)
                continue
            if failed:
                self.outages += 1
                self.waited += time.monotonic() - start
                self._back_at = time.monotonic()
                warn(f"storage: the database is back after {time.monotonic() - start:.1f} s")
            return result

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        """The running trials whose heartbeat is older than the grace period, except within one grace period plus
        :data:`LONGEST_WAIT` after this storage waited out an outage (every worker's heartbeat was silenced by it, not
        only dead ones', and each worker's backoff brings it back at its own time, up to one wait after the server)."""
        grace = self.grace_period if self.grace_period is not None else 0
        if time.monotonic() - self._back_at < grace + LONGEST_WAIT:
            return []
        return self._patiently(lambda: super(PatientRDBStorage, self)._get_stale_trial_ids(study_id))


def _retried(name: str):
    base = getattr(optuna.storages.RDBStorage, name)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        return self._patiently(lambda: base(self, *args, **kwargs))

    call.__name__ = name
    call.__doc__ = base.__doc__
    return call


for _name in _CALLS:
    setattr(PatientRDBStorage, _name, _retried(_name))
