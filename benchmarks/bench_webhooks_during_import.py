"""Webhook latency while a big CSV import runs, through the real server on loopback.

A ``voisins serve`` process (uvicorn, dispatcher, scheduler; ``api.serve.serve``) runs on a
temporary SQLite file with its Telegram and Twilio APIs faked on loopback (tests/fakes). This
process fires signed SMS webhooks and Telegram updates at it (``JOIN VOISINS`` / ``/start``
from new numbers and chats: each one writes an identity, a conversation state and replies),
first alone, then while a ~50 MB canonical CSV is POSTed to the readings import of the same
server. Prints the latency percentiles of both phases and the import's duration.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_webhooks_during_import.py [--megabytes 50]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_csv_import import SENSORS, write_canonical

from core.communities import add_household, create_community
from core.db import make_engine, migrate, session_scope
from core.demo import seed_demo
from meters.store import add_meter
from tests.api.helpers import sms_form, telegram_text, twilio_signature
from tests.bot.channels.conftest import TELEGRAM_SECRET, settings_for
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

ADMIN_TOKEN = "bench-admin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_child(database_url: str, port: int, telegram_url: str, twilio_url: str) -> None:
    """The server process: ``voisins serve`` with settings pointing at the fakes."""
    from api.serve import serve

    telegram, twilio = FakeTelegram(), FakeTwilio()
    settings = settings_for(telegram, twilio, database_url=database_url,
                            admin_token=ADMIN_TOKEN, telegram_api_url=telegram_url,
                            twilio_api_url=twilio_url)
    serve("127.0.0.1", port, settings=settings)


class Firing:
    """Webhooks at a steady rate from a few threads; latencies per phase."""

    def __init__(self, base: str, rate: float) -> None:
        self.base, self.rate = base, rate
        self.phase = "idle"
        self.latencies: dict[str, list[float]] = {"alone": [], "during import": []}
        self.failures: list[str] = []
        self.stop = threading.Event()
        self._counter = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _one(self, client: httpx.Client) -> None:
        number = self._next()
        phase = self.phase
        started = time.perf_counter()
        if number % 2:
            form = sms_form("JOIN VOISINS", f"SMbench{number:08d}",
                            sender=f"+3247{number:07d}")
            response = client.post(
                "/webhooks/twilio", data=form,
                headers={"X-Twilio-Signature": twilio_signature("/webhooks/twilio", form)})
        else:
            response = client.post(
                "/webhooks/telegram", json=telegram_text(10_000_000 + number, "/start VOISINS",
                                                         chat_id=900_000_000 + number),
                headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            self.failures.append(f"{response.status_code} {response.text[:80]}")
        if phase in self.latencies:
            self.latencies[phase].append(elapsed)

    def run(self, threads: int = 4) -> list[threading.Thread]:
        interval = threads / self.rate

        def worker() -> None:
            with httpx.Client(base_url=self.base, timeout=60) as client:
                next_at = time.perf_counter()
                while not self.stop.is_set():
                    self._one(client)
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.perf_counter()))

        workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for thread in workers:
            thread.start()
        return workers


def percentiles(values: list[float]) -> str:
    if not values:
        return "no requests"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"n={len(values)}, p50 {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--rate", type=float, default=10.0, help="webhooks per second")
    parser.add_argument("--alone-seconds", type=float, default=10.0)
    parser.add_argument("--imports", type=int, default=1, help="imports at once")
    parser.add_argument("--import-via", choices=["api", "cli"], default="api",
                        help="POST to the server (one process) or `voisins meters import` "
                             "(another process: only the database is shared)")
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve[0], int(args.serve[1]), args.serve[2], args.serve[3])
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    database_url = f"sqlite:///{folder / 'voisins.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        seed_demo(session)
        community = create_community(session, "bench", "Bench")
        for i in range(SENSORS):
            add_meter(session, add_household(session, community, f"B{i:02d}"),
                      f"sensor-{i:02d}")
    engine.dispose()
    csv = folder / "readings.csv"
    write_canonical(csv, int(args.megabytes * 1e6 / 42), "iso")
    port = free_port()
    with FakeTelegram() as telegram, FakeTwilio() as twilio:
        server = subprocess.Popen([sys.executable, __file__, "--serve", database_url,
                                   str(port), telegram.api_url, twilio.api_url])
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/docs", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            firing = Firing(base, args.rate)
            workers = firing.run()
            time.sleep(1.0)  # connections up, first answers out of the way
            firing.phase = "alone"
            time.sleep(args.alone_seconds)
            firing.phase = "during import"
            started = time.perf_counter()
            outcomes: list[str] = []

            def one_import() -> None:
                if args.import_via == "api":
                    with csv.open("rb") as body:
                        response = httpx.post(
                            f"{base}/api/v1/communities/bench/readings", content=body.read(),
                            timeout=600, headers={"Content-Type": "text/csv",
                                                  "Authorization": f"Bearer {ADMIN_TOKEN}"})
                    summary = response.json()
                    outcomes.append(f"{summary['accepted']:,} readings accepted, "
                                    f"{summary['slots_written']:,} slots "
                                    f"(HTTP {response.status_code})")
                else:
                    done = subprocess.run(
                        [str(Path(sys.executable).parent / "voisins"), "meters", "import",
                         str(csv), "--community", "bench", "--url", database_url],
                        capture_output=True, text=True, check=True)
                    outcomes.append(done.stdout.strip().splitlines()[-1])

            importers = [threading.Thread(target=one_import) for _ in range(args.imports)]
            for importer in importers:
                importer.start()
            for importer in importers:
                importer.join()
            outcome = "; ".join(outcomes)
            took = time.perf_counter() - started
            firing.phase = "after"
            firing.stop.set()
            for thread in workers:
                thread.join(timeout=60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{args.imports} import(s) via {args.import_via} at once: "
          f"{csv.stat().st_size / 1e6:.1f} MB each, {took:.1f} s; {outcome}")
    shutil.rmtree(folder, ignore_errors=True)
    print(f"webhooks at {args.rate:.0f}/s (SMS and Telegram, each a new contact):")
    for phase, values in firing.latencies.items():
        print(f"  {phase:14s} {percentiles(values)}")
    print(f"  non-200 answers: {len(firing.failures)} {firing.failures[:3]}")


if __name__ == "__main__":
    main()
