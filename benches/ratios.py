#!/usr/bin/env python3
"""Prints the ratios of telltale's hot-path benches to their baselines from
criterion's results (target/criterion/<group>/<bench>/new/estimates.json).

Usage: cargo bench -p telltale-benches && python3 benches/ratios.py [target-dir]
"""
import json
import os
import sys

TARGET = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "target")

# (group, bench, baseline bench, target ratio)
RATIOS = [
    ("instrumented_fn", "telltale_timed", "clock_reads_plus_add", 1.5),
    ("instrumented_err_fn", "telltale_tracked", "clock_reads_plus_add", 1.5),
    ("counter_inc", "telltale_counter", "atomic_fetch_add", 1.5),
    ("histogram_record", "telltale_histogram", "atomic_fetch_add", None),
    ("timed_threads", "2_threads_per_thread", "1_thread", 1.3),
    ("family_inc", "dense_family", "unlabeled_counter", 1.5),
    ("family_inc", "dense_family_cached_handle", "unlabeled_counter", None),
    ("family_inc", "hashed_family_2_strings", "unlabeled_counter", None),
    ("family_inc", "dynamic_2_labels", "unlabeled_counter", None),
]


def ns(group, bench):
    path = os.path.join(TARGET, "criterion", group, bench, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def main():
    failed = 0
    print(f"{'group':<22}{'bench':<24}{'ns':>9}{'baseline ns':>13}{'ratio':>8}{'target':>8}")
    for group, bench, base, target in RATIOS:
        a, b = ns(group, bench), ns(group, base)
        ratio = a / b
        mark = "" if target is None else ("ok" if ratio <= target else "MISSED")
        failed += mark == "MISSED"
        t = "-" if target is None else f"{target:.1f}"
        print(f"{group:<22}{bench:<24}{a:>9.2f}{b:>13.2f}{ratio:>8.2f}{t:>8} {mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
