"""Helpers for the PostgreSQL race tests: an app whose pool gives every thread its own
connection, a harness that releases all the threads at one moment while a watcher
records the lowest stock anyone could see, and the check that the stock movements still
add up to the levels.

A job is a callable ``job(start)`` run in its own thread, app context and session: it
prepares what it needs, calls ``start()`` (which takes a connection of its own and waits
at the barrier), then acts and returns a label for its outcome (e.g. ``"ok"`` or
``"out_of_stock"``). Any exception it lets through is an unexpected error.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import func, select, text

from marketplace import create_app
from marketplace.extensions import db
from vendors.models import StockLevel, StockMovement

from .conftest import make_test_config

Job = Callable[[Callable[[], None]], str]


def race_app(database_url: str, tmp_path, connections: int) -> Iterator[Flask]:
    """The suite's app again (its tables are the suite's, created once), with a pool of
    ``connections``; use it as a module-scoped ``app`` fixture: ``yield from race_app(...)``."""
    config = make_test_config(database_url, tmp_path)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": connections, "max_overflow": 0}
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


@dataclass
class RaceResult:
    outcomes: Counter = field(default_factory=Counter)
    errors: list[BaseException] = field(default_factory=list)
    # the lowest on-hand, reserved and available a watcher saw while the jobs ran
    lowest: dict[str, int] = field(
        default_factory=lambda: {"on_hand": 10**9, "reserved": 10**9, "available": 10**9}
    )


def race(app: Flask, jobs: list[Job]) -> RaceResult:
    """Run every job in its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(jobs) + 1)
    result = RaceResult()
    lock = threading.Lock()
    done = threading.Event()

    def start() -> None:
        db.session.execute(text("SELECT 1"))  # hold a connection of its own
        barrier.wait(timeout=30)

    def run(job: Job) -> None:
        with app.app_context():
            outcome = "error"
            try:
                outcome = job(start)
            except BaseException as exc:  # any failure the job did not expect
                with lock:
                    result.errors.append(exc)
            finally:
                db.session.rollback()
                db.session.remove()
            with lock:
                result.outcomes[outcome] += 1

    def watch() -> None:
        with app.app_context():
            while not done.is_set():
                row = db.session.execute(
                    select(
                        func.min(StockLevel.on_hand),
                        func.min(StockLevel.reserved),
                        func.min(StockLevel.on_hand - StockLevel.reserved),
                    )
                ).one()
                db.session.rollback()
                for key, value in zip(result.lowest, row, strict=True):
                    if value is not None:
                        result.lowest[key] = min(result.lowest[key], value)
            db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    watcher = threading.Thread(target=watch)
    for thread in threads:
        thread.start()
    watcher.start()
    barrier.wait(timeout=30)
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    watcher.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a job hung (deadlock?)"
    return result


def assert_ledger_matches_levels() -> None:
    """Per product and location, the movements add up to on-hand and reserved."""
    sums = db.session.execute(
        select(
            StockMovement.product_id,
            StockMovement.location_id,
            func.sum(StockMovement.on_hand_delta),
            func.sum(StockMovement.reserved_delta),
        ).group_by(StockMovement.product_id, StockMovement.location_id)
    ).all()
    levels = {
        (lv.product_id, lv.location_id): (lv.on_hand, lv.reserved)
        for lv in db.session.scalars(select(StockLevel))
    }
    assert {(p, loc): (oh, rs) for p, loc, oh, rs in sums} == levels
