"""Python prometheus_client's multiprocess mode, timed as telltale's backend
benches time their render: PROCESSES processes each record SERIES counter
series (one per id) into their mmap files, then one collector merges and
renders them all. Prints the median of 20 renders, in milliseconds.

Usage: multiprocess_render.py PROCESSES SERIES
"""

import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time

DIRECTORY = tempfile.mkdtemp(prefix="telltale-bench-pyprom-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = DIRECTORY

from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess  # noqa: E402


def record(series):
    counter = Counter("bench_backend_series", "One series per id.", ["id"])
    for i in range(series):
        counter.labels(str(i)).inc()


def main():
    processes, series = int(sys.argv[1]), int(sys.argv[2])
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=record, args=(series,)) for _ in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        assert w.exitcode == 0
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    text = generate_latest(registry)
    assert text.count(b"bench_backend_series_total{") == series, "every series once"
    times = []
    for _ in range(20):
        start = time.perf_counter()
        generate_latest(registry)
        times.append((time.perf_counter() - start) * 1000)
    shutil.rmtree(DIRECTORY, ignore_errors=True)
    print("python_multiprocess_render_ms", f"{statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
