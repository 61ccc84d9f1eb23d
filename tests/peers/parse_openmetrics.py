#!/usr/bin/env python3
"""Parse OpenMetrics text with prometheus_client's strict parser.

Reads the exposition on stdin, parses it with
prometheus_client.openmetrics.parser.text_string_to_metric_families and
prints one JSON object on stdout:

    {"parser": "prometheus_client X.Y.Z",
     "families": [{"name", "type", "unit", "help",
                   "samples": [{"name", "labels", "value", "timestamp"}]}]}

Sample values are strings (Python's repr of the float: "3.0", "inf", "nan")
so that NaN and infinities survive JSON. Exit status 0 when the text parsed,
1 with the parser's message on stderr when it did not, 2 when
prometheus_client is not installed.
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

    text = sys.stdin.read()
    families = []
    try:
        # The parser is a generator: errors surface while iterating.
        for family in text_string_to_metric_families(text):
            families.append(
                {
                    "name": family.name,
                    "type": family.type,
                    "unit": family.unit,
                    "help": family.documentation,
                    "samples": [
                        {
                            "name": sample.name,
                            "labels": dict(sample.labels),
                            "value": repr(float(sample.value)),
                            "timestamp": None if sample.timestamp is None else str(sample.timestamp),
                        }
                        for sample in family.samples
                    ],
                }
            )
    except Exception as error:  # the parser raises ValueError and others
        print(f"OpenMetrics parse error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1

    version = getattr(prometheus_client, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("prometheus_client")
        except Exception:
            version = "unknown"
    json.dump({"parser": f"prometheus_client {version}", "families": families}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
