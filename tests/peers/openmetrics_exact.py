#!/usr/bin/env python3
"""Parse OpenMetrics text with prometheus_client's strict parser, keeping
every character and the order of the labels.

Reads the exposition on stdin as bytes and decodes it as UTF-8 (whatever
the locale); each sample's labels are a list of [name, value] pairs in the
order the parser returns them. Prints one JSON object (ASCII, so the output
encoding does not matter):

    {"parser": "prometheus_client X.Y.Z",
     "families": [{"name", "type", "unit", "help",
                   "samples": [{"name", "labels": [[name, value], ...],
                                "value", "timestamp"}]}]}

Sample values are Python's repr of the float ("3.0", "inf", "nan").
Exit status 0 when the text parsed, 1 with the parser's message on stderr
when it did not, 2 when prometheus_client is not installed, 3 when stdin
is not UTF-8.
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

    try:
        text = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as error:
        print(f"stdin is not UTF-8: {error}", file=sys.stderr)
        return 3

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
                            "labels": [[name, value] for name, value in sample.labels.items()],
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
