#!/usr/bin/env python3
"""Verdicts of prometheus_client's strict OpenMetrics parser on many texts.

Reads a JSON object {"name": "exposition", ...} on stdin (UTF-8) and prints
one JSON object {"parser": "prometheus_client X.Y.Z", "verdicts": {"name":
{"ok": true, "families": N} | {"ok": false, "error": "..."}}} (ASCII).
Exit status 0 when every text was judged, 2 when prometheus_client is not
installed.
"""

import json
import sys


def main() -> int:
    try:
        import prometheus_client
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    except ImportError as error:
        print(f"prometheus_client is not installed: {error}", file=sys.stderr)
        return 2
    from importlib.metadata import version

    cases = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    verdicts = {}
    for name, text in cases.items():
        try:
            families = list(text_string_to_metric_families(text))
            verdicts[name] = {"ok": True, "families": len(families)}
        except Exception as error:  # the parser raises ValueError and others
            verdicts[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    json.dump(
        {"parser": f"prometheus_client {version('prometheus_client')}", "verdicts": verdicts},
        sys.stdout,
        ensure_ascii=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
