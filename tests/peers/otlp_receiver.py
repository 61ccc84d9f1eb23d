#!/usr/bin/env python3
"""A minimal OTLP/HTTP metrics receiver for telltale's tests.

Usage: otlp_receiver.py PORT

Listens on 127.0.0.1:PORT, decodes every metrics request with the official
`opentelemetry-proto` package and keeps what it decoded, for the tests to
read back as JSON.

HTTP API
--------

POST /v1/metrics
    An OTLP/HTTP metrics request: `Content-Type: application/x-protobuf`,
    optionally `Content-Encoding: gzip`. Answers 200 with an empty
    `ExportMetricsServiceResponse`, unless a failure was queued with
    /control (then that status, and a `Retry-After` header if asked), a
    different content type was sent (415) or the body does not decode (400).
    Every request is recorded, whatever the answer.

GET /received
    A JSON list of the requests recorded so far, oldest first. Each is
        {"status": <status answered>, "content_type": ..., "content_encoding": ...,
         "body_bytes": <size as sent>, "error": <why it was rejected, or null>,
         "resource_metrics": [
           {"resource": {<attribute>: <value>, ...},
            "scope_metrics": [
              {"scope": {"name": ..., "version": ...},
               "metrics": [
                 {"name": ..., "description": ..., "unit": ...,
                  "kind": "sum" | "gauge" | "histogram" | "exponential_histogram" | "summary",
                  "temporality": "CUMULATIVE" | "DELTA" | "UNSPECIFIED" | null (gauges),
                  "monotonic": true | false | null (all but sums),
                  "data_points": [ <point>, ... ]}]}]}]}
    A point has "attributes" ({key: value}), "start_time_unix_nano",
    "time_unix_nano", and
      - sum, gauge: "value" and "value_type" ("double" or "int");
      - histogram: "count", "sum" (null when absent), "bucket_counts",
        "explicit_bounds", "min", "max" (null when absent);
      - exponential_histogram: "count", "sum", "scale", "zero_count",
        "zero_threshold", "positive" and "negative" ({"offset", "bucket_counts"}),
        "min", "max".
    Non-finite doubles are the strings "NaN", "+Inf", "-Inf" (JSON has no
    such numbers). Integers are JSON integers.

POST /control?status=503&count=2[&retry_after=1]
    The next `count` metrics requests are answered `status` (after being
    recorded), with `Retry-After: <retry_after>` when given. Queued
    failures add up in order. Answers 200.

POST /reset
    Forgets the recorded requests and queued failures. Answers 200.

GET /ready
    200 "ok" once the server listens.
"""

import gzip
import json
import math
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2

LOCK = threading.Lock()
RECEIVED = []
# Queued failures: a list of (status, retry_after or None), one per request.
FAILURES = []

TEMPORALITY = {
    metrics_pb2.AGGREGATION_TEMPORALITY_UNSPECIFIED: "UNSPECIFIED",
    metrics_pb2.AGGREGATION_TEMPORALITY_DELTA: "DELTA",
    metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE: "CUMULATIVE",
}


class Reject(Exception):
    """A request answered `status` with `message`."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def number(x):
    """A double as JSON can hold it."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return x


def any_value(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "double_value":
        return number(value.double_value)
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(key_values):
    return {kv.key: any_value(kv.value) for kv in key_values}


def optional(point, field):
    return number(getattr(point, field)) if point.HasField(field) else None


def base_point(point):
    return {
        "attributes": attributes(point.attributes),
        "start_time_unix_nano": point.start_time_unix_nano,
        "time_unix_nano": point.time_unix_nano,
    }


def number_point(point):
    out = base_point(point)
    kind = point.WhichOneof("value")
    out["value_type"] = {"as_double": "double", "as_int": "int"}.get(kind)
    if kind == "as_double":
        out["value"] = number(point.as_double)
    elif kind == "as_int":
        out["value"] = point.as_int
    else:
        out["value"] = None
    return out


def histogram_point(point):
    out = base_point(point)
    out.update(
        count=point.count,
        sum=optional(point, "sum"),
        bucket_counts=list(point.bucket_counts),
        explicit_bounds=[number(b) for b in point.explicit_bounds],
        min=optional(point, "min"),
        max=optional(point, "max"),
    )
    return out


def buckets(b):
    return {"offset": b.offset, "bucket_counts": list(b.bucket_counts)}


def exponential_point(point):
    out = base_point(point)
    out.update(
        count=point.count,
        sum=optional(point, "sum"),
        scale=point.scale,
        zero_count=point.zero_count,
        zero_threshold=number(point.zero_threshold),
        positive=buckets(point.positive),
        negative=buckets(point.negative),
        min=optional(point, "min"),
        max=optional(point, "max"),
    )
    return out


def metric(m):
    kind = m.WhichOneof("data")
    out = {
        "name": m.name,
        "description": m.description,
        "unit": m.unit,
        "kind": kind,
        "temporality": None,
        "monotonic": None,
        "data_points": [],
    }
    if kind == "sum":
        out["temporality"] = TEMPORALITY.get(m.sum.aggregation_temporality)
        out["monotonic"] = m.sum.is_monotonic
        out["data_points"] = [number_point(p) for p in m.sum.data_points]
    elif kind == "gauge":
        out["data_points"] = [number_point(p) for p in m.gauge.data_points]
    elif kind == "histogram":
        out["temporality"] = TEMPORALITY.get(m.histogram.aggregation_temporality)
        out["data_points"] = [histogram_point(p) for p in m.histogram.data_points]
    elif kind == "exponential_histogram":
        eh = m.exponential_histogram
        out["temporality"] = TEMPORALITY.get(eh.aggregation_temporality)
        out["data_points"] = [exponential_point(p) for p in eh.data_points]
    elif kind == "summary":
        out["data_points"] = [
            dict(base_point(p), count=p.count, sum=number(p.sum))
            for p in m.summary.data_points
        ]
    return out


def decode(body):
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    request.ParseFromString(body)
    return [
        {
            "resource": attributes(rm.resource.attributes),
            "scope_metrics": [
                {
                    "scope": {"name": sm.scope.name, "version": sm.scope.version},
                    "metrics": [metric(m) for m in sm.metrics],
                }
                for sm in rm.scope_metrics
            ],
        }
        for rm in request.resource_metrics
    ]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body=b"", content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/ready":
            self.answer(200, b"ok")
        elif path == "/received":
            with LOCK:
                body = json.dumps(RECEIVED).encode()
            self.answer(200, body, "application/json")
        else:
            self.answer(404, b"not found")

    def do_POST(self):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path == "/v1/metrics":
            self.metrics(body)
        elif url.path == "/control":
            query = parse_qs(url.query)
            try:
                status = int(query["status"][0])
                count = int(query.get("count", ["1"])[0])
                retry_after = query.get("retry_after", [None])[0]
            except (KeyError, ValueError) as e:
                self.answer(400, f"bad control query: {e}".encode())
                return
            with LOCK:
                FAILURES.extend([(status, retry_after)] * count)
            self.answer(200, b"ok")
        elif url.path == "/reset":
            with LOCK:
                RECEIVED.clear()
                FAILURES.clear()
            self.answer(200, b"ok")
        else:
            self.answer(404, b"not found")

    def metrics(self, body):
        content_type = self.headers.get("Content-Type")
        content_encoding = self.headers.get("Content-Encoding")
        record = {
            "status": 200,
            "content_type": content_type,
            "content_encoding": content_encoding,
            "body_bytes": len(body),
            "error": None,
            "resource_metrics": [],
        }
        media = (content_type or "").split(";")[0].strip().lower()
        try:
            if media != "application/x-protobuf":
                raise Reject(415, f"unsupported content type {content_type!r}")
            if content_encoding and content_encoding.lower() == "gzip":
                try:
                    body = gzip.decompress(body)
                except OSError as e:
                    raise Reject(400, f"bad gzip body: {e}") from e
            elif content_encoding and content_encoding.lower() != "identity":
                raise Reject(415, f"unsupported content encoding {content_encoding!r}")
            try:
                record["resource_metrics"] = decode(body)
            except DecodeError as e:
                raise Reject(400, f"cannot decode the request: {e}") from e
        except Reject as e:
            record["status"], record["error"] = e.status, e.message
        headers = []
        with LOCK:
            if record["status"] == 200 and FAILURES:
                status, retry_after = FAILURES.pop(0)
                record["status"] = status
                record["error"] = "queued failure"
                if retry_after is not None:
                    headers.append(("Retry-After", retry_after))
            RECEIVED.append(record)
        if record["status"] == 200:
            response = metrics_service_pb2.ExportMetricsServiceResponse()
            self.answer(200, response.SerializeToString(), "application/x-protobuf", headers)
        else:
            self.answer(record["status"], (record["error"] or "").encode(), headers=headers)

    def log_message(self, format, *args):
        sys.stderr.write("otlp_receiver: " + (format % args) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"otlp_receiver listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
