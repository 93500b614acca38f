"""Scale by simulation: many concurrent workers with a trivial objective against one PostgreSQL server, directly and
through Optuna's gRPC storage proxy (``harness storage-proxy``).

Each worker is a process (spawn) that opens the storage the way a harness worker does (:func:`harness.storage.open_storage`:
the patient RDB storage for a database URL, ``GrpcStorageProxy`` for ``grpc://``), loads one study, waits at a barrier
with the others, then runs ``--trials`` trials of a trivial objective (one suggested float, one user attribute, random
sampler): what is measured is the storage, not training. Printed and recorded per set-up: trials per second from the
barrier to the last worker's end, each worker's median seconds per trial, and the check that nothing was lost or
duplicated (the study holds exactly workers x trials COMPLETE trials, their numbers are 0..N-1 once each, and the
trial numbers each worker saw are disjoint). PostgreSQL runs in a scratch database on 127.0.0.1:5432, dropped
afterwards; the proxy is one ``harness storage-proxy`` process in front of it.

    python benchmarks/scale.py [--trials 10] [--repeats 3] [--direct 32,48,64] [--proxy 64,128] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import socket
import subprocess
import sys
import threading
import time

import optuna
from _common import median, record
from storage import _drop_postgres, _postgres_url

from harness.storage import open_storage

BARRIER_SECONDS = 600


def _worker(url: str, name: str, trials: int, worker: int, barrier, out) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        storage = open_storage(url, write=True, patience=60.0)
        study = optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=worker))
    except Exception as exc:  # noqa: BLE001 - the failure is the measurement: reported, and the run abandoned
        out.put((worker, None, f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
        barrier.abort()
        return
    try:
        barrier.wait(timeout=BARRIER_SECONDS)
    except threading.BrokenBarrierError:
        out.put((worker, None, "the start barrier broke (another worker failed)"))
        return
    seen: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10.0, 10.0)
        trial.set_user_attr("worker", worker)
        seen.append(trial.number)
        return x * x

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    out.put((worker, time.perf_counter() - start, seen))


def one_run(url: str, admin_url: str, name: str, workers: int, trials: int) -> dict:
    """One set-up: the throughput, each worker's seconds per trial, and the lost / duplicated check."""
    optuna.create_study(study_name=name, storage=open_storage(admin_url, write=True), direction="minimize")
    context = mp.get_context("spawn")
    barrier, out = context.Barrier(workers + 1), context.Queue()
    processes = [context.Process(target=_worker, args=(url, name, trials, w, barrier, out)) for w in range(workers)]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=BARRIER_SECONDS)
    except Exception:  # noqa: BLE001 - a worker could not open the storage: its reason is in the queue
        pass
    start = time.perf_counter()
    results = [out.get(timeout=BARRIER_SECONDS) for _ in processes]
    wall = time.perf_counter() - start
    for process in processes:
        process.join()
    errors = sorted({r[2] for r in results if r[1] is None and "barrier" not in r[2]})
    if errors or any(r[1] is None for r in results):
        errors = errors or ["the start barrier broke"]
        return {"error": f"{sum(r[1] is None for r in results)} of {workers} workers could not open the storage: "
                         f"{errors[0]}"}
    study = optuna.load_study(study_name=name, storage=open_storage(admin_url, write=False))
    numbers = [t.number for t in study.trials if t.state.name == "COMPLETE"]
    seen = [n for r in results for n in r[2]]
    expected = workers * trials
    return {"trials/s": len(numbers) / wall, "per trial": median([r[1] / trials for r in results]),
            "lost": expected - len(numbers), "duplicated": len(seen) - len(set(seen)) + len(numbers) - len(set(numbers)),
            "numbers ok": sorted(numbers) == list(range(expected)) and sorted(seen) == list(range(expected)),
            "all states": len(study.trials)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_proxy(database: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "storage-proxy", "--storage", database, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"grpc://127.0.0.1:{port}"
    open_storage(url, write=True)  # waits until the proxy answers
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per worker")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--direct", default="32,48,64", help="worker counts straight against PostgreSQL")
    parser.add_argument("--proxy", default="64,128", help="worker counts through the gRPC proxy")
    parser.add_argument("--quick", action="store_true", help="8 workers each way, 3 trials, once: checks the script runs")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.repeats, args.direct, args.proxy = 3, 1, "8", "8"
    database = _postgres_url()
    if database is None:
        sys.exit("PostgreSQL is needed on 127.0.0.1:5432")
    proxy, proxy_url = start_proxy(database)
    setups = [("PostgreSQL", int(n)) for n in args.direct.split(",") if n] + \
             [("gRPC proxy -> PostgreSQL", int(n)) for n in args.proxy.split(",") if n]
    results: dict[tuple[str, int], list[dict]] = {}
    try:
        for repeat in range(args.repeats):
            for backend, workers in setups:
                url = database if backend == "PostgreSQL" else proxy_url
                result = one_run(url, database, f"scale-{repeat}-{workers}-{len(backend)}", workers, args.trials)
                results.setdefault((backend, workers), []).append(result)
                print(backend, workers, result, flush=True)
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
        _drop_postgres()
    with __import__("psycopg").connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as conn:
        max_connections = conn.execute("show max_connections").fetchone()[0]
    lines = [f"Each worker a process (spawn) opening the storage as a harness worker does, {args.trials} trials of a "
             "trivial objective (one float, one user attribute, random sampler) after a common barrier; "
             f"PostgreSQL {max_connections} max_connections, a scratch database; the proxy is one `harness "
             f"storage-proxy` process. Median of {args.repeats} interleaved runs.", "",
             "| storage | workers | trials/s (median) | s per trial, one worker (median) | lost | duplicated | runs |",
             "|---|---|---|---|---|---|---|"]
    for (backend, workers), runs in results.items():
        good = [r for r in runs if "error" not in r]
        if not good:
            lines.append(f"| {backend} | {workers} | failed: {runs[0]['error']} | | | | {len(runs)} |")
            continue
        lost = sum(r["lost"] for r in good)
        dup = sum(r["duplicated"] for r in good) + sum(not r["numbers ok"] for r in good)
        lines.append(f"| {backend} | {workers} | {median([r['trials/s'] for r in good]):.1f} | "
                     f"{median([r['per trial'] for r in good]):.3f} | {lost} | {dup} | "
                     f"{', '.join(format(r['trials/s'], '.1f') for r in good)}"
                     + (f" ({len(runs) - len(good)} failed)" if len(good) < len(runs) else "") + " |")
    record("Scale: concurrent workers against one PostgreSQL, directly and through the gRPC proxy", lines)


if __name__ == "__main__":
    main()
