"""The two ways bench times things: repeated calls (seconds each), and items per second over a fixed time."""
import statistics
import time
from collections.abc import Callable


def call_seconds(run: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of each of `repeats` calls of `run`, after `warmup` calls that are not timed."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return times


def median_seconds(run: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    return statistics.median(call_seconds(run, repeats, warmup))


def per_second(run: Callable[[], object], items: int, seconds: float) -> float:
    """Items per second: `run` (which handles `items` at a time) called again and again for `seconds`, after one warm-up."""
    run()
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        run()
        done += items
    return done / (time.perf_counter() - began)
