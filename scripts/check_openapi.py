#!/usr/bin/env python3
"""Checks docs/openapi.yaml against the code and against real traffic.

1. The document is valid OpenAPI; its examples (and the JSON blocks of docs/protocol.md marked `schema=Name`)
   validate against their schemas; its limits, defaults and status table agree with the Rust sources.
2. The real SDK (`footfall track` + `footfall flush`) uploads to a capture server on 127.0.0.1: every request
   must match the documented method, path, headers and body schema, and carry no undocumented field or header.
3. The reference collector (`footfall collector serve`) answers each documented case with the documented
   status, headers and body schema.

Exits non-zero with a message naming the mismatch. Needs: openapi-spec-validator, jsonschema, pyyaml and the
built CLI (`cargo build -p footfall-cli`; override the binary with FOOTFALL_BIN).
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "docs" / "openapi.yaml"
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
BASE_URI = "urn:footfall:openapi"
BATCH = ("/v1/batch", "post")
ACTIONS = {"deliver", "bisect", "split", "retry", "pause"}
VERDICT_ACTION = {"Delivered": "deliver", "Rejected": "bisect", "TooLarge": "split", "Retry": "retry", "Pause": "pause"}
RESERVED = {
    ("/v1/config", "get"),
    ("/v1/consent-records", "post"),
    ("/v1/rights/deletion", "post"),
    ("/v1/wallet/changes", "get"),
    ("/v1/wallet/redemptions", "post"),
    ("/v1/proximity/registry", "get"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
API_KEY = "k"
PROPS = {"sku": "4901234567894", "price": 1980}
EVENT_NAME = "product_viewed"
TRACK_COUNT = 3
PROCESS_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 30

try:
    import yaml
    from jsonschema import Draft202012Validator
    from openapi_spec_validator import validate as validate_openapi
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit(
        f"check_openapi: missing Python package ({e}); run: python3 -m pip install openapi-spec-validator jsonschema pyyaml"
    )


class CheckFailed(Exception):
    pass


def fail(message: str):
    raise CheckFailed(message)


SUMMARY: list[str] = []


def passed(line: str) -> None:
    SUMMARY.append(line)
    print(f"  ok  {line}", flush=True)


# --------------------------------------------------------------------------------------------- spec helpers


def pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def pointer_parts(json_pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in json_pointer[1:].split("/")]


def target_pointer(node, *fallback: str) -> str:
    """JSON pointer of what `node` stands for: its `$ref` target, or the place it sits at (`fallback` parts)."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        return node["$ref"][1:]
    return pointer(*fallback)


def resolve(doc: dict, node):
    """Follows local `$ref`s (components/responses, headers, parameters) until a concrete object."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            fail(f"openapi.yaml: cannot follow $ref {ref!r}")
        seen.add(ref)
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                fail(f"openapi.yaml: dangling $ref {ref!r}")
            node = node[part]
    return node


def strict_copy(doc: dict) -> dict:
    """The document with `additionalProperties: false` wherever `x-footfall-exhaustive: true`: what the SDK may send."""
    doc = copy.deepcopy(doc)

    def walk(node):
        if isinstance(node, dict):
            if node.get("x-footfall-exhaustive") is True:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return doc


class Schemas:
    """JSON Schema validators over the loaded document, `$ref`s resolved within it."""

    def __init__(self, doc: dict):
        self.doc = doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(BASE_URI, resource)

    def validator(self, json_pointer: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": f"{BASE_URI}#{json_pointer}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def errors(self, json_pointer: str, instance) -> list[str]:
        out = []
        for error in sorted(self.validator(json_pointer).iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            out.append(f"{where}: {error.message}")
        return out

    def check(self, json_pointer: str, instance, what: str) -> None:
        errors = self.errors(json_pointer, instance)
        if errors:
            fail(f"{what} does not match {json_pointer} in openapi.yaml:\n    " + "\n    ".join(errors[:15]))


def batch_op(doc: dict) -> dict:
    return doc["paths"][BATCH[0]][BATCH[1]]


def message_errors(schemas: Schemas, doc: dict, body) -> list[str]:
    """Precise per-message errors (oneOf hides them), dispatched through the documented discriminator."""
    mapping = doc["components"]["schemas"]["Message"]["discriminator"]["mapping"]
    out = []
    for i, message in enumerate(body.get("batch", []) if isinstance(body, dict) else []):
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in mapping:
            out.append(f"$.batch[{i}].type: {kind!r} is not one of {sorted(mapping)}")
            continue
        for e in schemas.errors(mapping[kind][1:], message):
            out.append(f"$.batch[{i}]{e[1:]}")
    return out


def check_batch_body(strict: Schemas, doc: dict, body, what: str) -> None:
    schema_ptr = pointer("paths", BATCH[0], BATCH[1], "requestBody", "content", "application/json", "schema")
    errors = strict.errors(schema_ptr, body)
    if errors:
        detail = message_errors(strict, doc, body) or errors
        fail(f"{what} does not match the documented request body (undocumented fields count):\n    " + "\n    ".join(detail[:15]))
    for i, message in enumerate(body["batch"]):
        check_v7_time(message["messageId"], message["timestamp"], f"{what}: $.batch[{i}]")


def epoch_ms(rfc3339: str) -> int:
    return round(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def check_v7_time(message_id: str, timestamp: str, what: str) -> None:
    """protocol.md: a messageId is a UUIDv7 whose first 48 bits are the event time in ms."""
    id_ms = int(message_id.replace("-", "")[:12], 16)
    if id_ms != epoch_ms(timestamp):
        fail(f"{what}: messageId {message_id} encodes {id_ms} ms but timestamp {timestamp} is {epoch_ms(timestamp)} ms")


def response_for(doc: dict, path: str, method: str, status: int) -> tuple[str, str, dict]:
    """(operation method, response key, response) documenting `status` for `method path`. A method the path does
    not have is documented by the path's `405` response."""
    item = doc["paths"].get(path)
    if item is None:
        fail(f"openapi.yaml does not document the path {path}")
    if method not in item:
        owners = [m for m in item if m in HTTP_METHODS and "405" in item[m].get("responses", {})]
        if status != 405 or not owners:
            fail(f"{method.upper()} {path} answered {status}; openapi.yaml documents no {method.upper()} there, nor a 405 for it")
        return owners[0], "405", resolve(doc, item[owners[0]]["responses"]["405"])
    responses = item[method]["responses"]
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            return method, key, resolve(doc, responses[key])
    fail(f"openapi.yaml documents no response for {method.upper()} {path} -> {status} (and no default)")


# --------------------------------------------------------------------------------------------- step 1: the document


def load_spec() -> dict:
    try:
        doc = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        fail(f"cannot read {SPEC_PATH}: {e}")

    def json_only(node, where):
        # YAML turns unquoted dates into datetime objects and `on` into True; a JSON document must not hold them.
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    fail(f"openapi.yaml: non-string key {k!r} at {where} (quote it)")
                json_only(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                json_only(v, f"{where}/{i}")
        elif not (node is None or isinstance(node, (str, int, float, bool))):
            fail(f"openapi.yaml: value at {where} is a YAML {type(node).__name__}, not JSON (quote it)")

    json_only(doc, "#")
    return doc


def check_document(doc: dict, schemas: Schemas, strict: Schemas) -> None:
    try:
        validate_openapi(doc)
    except Exception as e:  # the validator raises its own exception types across versions
        fail(f"openapi.yaml is not a valid OpenAPI document: {e}")
    passed(f"openapi.yaml is valid OpenAPI {doc.get('openapi')} (openapi-spec-validator)")

    operations = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                operations[(path, method)] = op.get("x-footfall-status")
    stable = {k for k, v in operations.items() if v == "stable"}
    reserved = {k for k, v in operations.items() if v == "reserved"}
    unknown = {k: v for k, v in operations.items() if v not in ("stable", "reserved", "reference-collector-only")}
    if unknown:
        fail(f"operations without a valid x-footfall-status: {unknown}")
    if stable != {BATCH}:
        fail(f"the SDK sends exactly POST /v1/batch today; x-footfall-status: stable is on {sorted(stable)}")
    if reserved != RESERVED:
        fail(f"reserved endpoints differ: missing {sorted(RESERVED - reserved)}, unexpected {sorted(reserved - RESERVED)}")
    for path, method in reserved:
        op = doc["paths"][path][method]
        if "reserved" not in op.get("summary", "").lower() or "not yet sent by the sdk" not in op.get("description", "").lower():
            fail(f"{method.upper()} {path}: summary and description must say it is reserved, not yet sent by the SDK")
    if ("/healthz", "get") not in operations:
        fail("GET /healthz of the reference collector is not documented")
    passed(f"operations: POST /v1/batch stable, {len(reserved)} reserved, GET /healthz collector-only")

    for key, response in batch_op(doc)["responses"].items():
        action = resolve(doc, response).get("x-footfall-sdk-action")
        if action not in ACTIONS:
            fail(f"POST /v1/batch response {key}: x-footfall-sdk-action {action!r} is not one of {sorted(ACTIONS)}")
    schemes = doc["components"]["securitySchemes"]
    if schemes.get("basicAuth", {}).get("type") != "http" or schemes["basicAuth"].get("scheme") != "basic":
        fail("securitySchemes.basicAuth must be HTTP basic")
    if {"basicAuth": []} not in (batch_op(doc).get("security") or doc.get("security") or []):
        fail("POST /v1/batch must require basicAuth")

    # Every example in the document validates against the schema next to it (request bodies strictly).
    count = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            bodies = [("requestBody", op.get("requestBody"))]
            bodies += [(f"responses/{k}", resolve(doc, r)) for k, r in op.get("responses", {}).items()]
            for where, holder in bodies:
                for media, content in ((holder or {}).get("content") or {}).items():
                    examples = [(n, resolve(doc, e).get("value")) for n, e in (content.get("examples") or {}).items()]
                    if "example" in content:
                        examples.append(("example", content["example"]))
                    base = ("paths", path, method) + tuple(where.split("/"))
                    for name, value in examples:
                        what = f"example {name!r} of {method.upper()} {path} {where}"
                        if (path, method) == BATCH and where == "requestBody":
                            check_batch_body(strict, doc, value, what)
                        else:
                            schemas.check(pointer(*base, "content", media, "schema"), value, what)
                        count += 1
    for name, schema in doc["components"]["schemas"].items():
        for i, value in enumerate(schema.get("examples", [])):
            schemas.check(pointer("components", "schemas", name), value, f"components.schemas.{name}.examples[{i}]")
            count += 1
    for name, header in doc["components"].get("headers", {}).items():
        for ex_name, ex in (header.get("examples") or {}).items():
            schemas.check(pointer("components", "headers", name, "schema"), ex["value"], f"header {name} example {ex_name}")
            count += 1
    passed(f"{count} examples in openapi.yaml validate against their schemas")

    # JSON blocks of protocol.md marked ```json schema=Name validate against components.schemas.Name.
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    blocks = re.findall(r"^```json[ \t]+schema=(\w+)[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    if not blocks:
        fail("docs/protocol.md has no ```json schema=Name blocks to check against openapi.yaml")
    for name, block in blocks:
        try:
            value = json.loads(block)
        except json.JSONDecodeError as e:
            fail(f"protocol.md: the ```json schema={name} block is not valid JSON: {e}")
        if name == "BatchRequest":
            check_batch_body(strict, doc, value, f"protocol.md block schema={name}")
        else:
            (strict if name in ("TrackMessage", "IdentifyMessage") else schemas).check(
                pointer("components", "schemas", name), value, f"protocol.md block schema={name}"
            )
    passed(f"{len(blocks)} JSON examples in protocol.md validate against openapi.yaml")


# --------------------------------------------------------------------------------------------- step 1b: the sources


def source(rel: str) -> str:
    try:
        return (ROOT / rel).read_text(encoding="utf-8")
    except OSError as e:
        fail(f"cannot read {rel}: {e}")


def rust_const(text: str, name: str, rel: str):
    m = re.search(rf"\bconst {name}: [^=]+= ([^;]+);", text)
    if not m:
        fail(f"{rel}: constant {name} not found (update check_openapi.py if it moved)")
    return literal(m.group(1).strip(), f"{rel} {name}")


def literal(expr: str, what: str):
    if expr.startswith('"') and expr.endswith('"'):
        return expr[1:-1]
    m = re.fullmatch(r"(?:Duration::from_secs\()?([0-9_ *]+)\)?", expr)
    if not m:
        fail(f"{what}: cannot read {expr!r} as a number (update check_openapi.py)")
    value = 1
    for factor in m.group(1).split("*"):
        value *= int(factor.strip().replace("_", ""))
    return value


def rust_field_default(text: str, struct: str, field: str, rel: str):
    """`field: value,` inside `impl Default for struct { ... }`."""
    block = re.search(rf"^impl Default for {struct} \{{(.*?)^\}}", text, flags=re.S | re.M)
    m = block and re.search(rf"^\s*{field}: ([^,\n]+),", block.group(1), flags=re.M)
    if not m:
        fail(f"{rel}: default of {struct}::{field} not found (update check_openapi.py if it moved)")
    return literal(m.group(1).strip(), f"{rel} {field}")


def policy_table(rel: str = "core/src/sync/policy.rs"):
    """The status table from `classify()` in policy.rs, as a function status -> action."""
    text = source(rel)
    # From `match status {` to its catch-all arm.
    m = re.search(r"match status \{(.*?^\s*_\s*=>[^\n]*)", text, flags=re.S | re.M)
    if not m:
        fail(f"{rel}: `match status {{ ... _ => ... }}` not found in classify() (update check_openapi.py)")
    arms = []
    for pattern, verdict in re.findall(r"^\s*([0-9_ |.=]+?)\s*=>\s*Verdict::(\w+)", m.group(1), flags=re.M):
        if verdict not in VERDICT_ACTION:
            fail(f"{rel}: unknown verdict {verdict}")
        ranges = []
        for alt in pattern.split("|"):
            alt = alt.strip()
            if alt == "_":
                ranges.append((0, 10_000))
            elif "..=" in alt:
                lo, hi = alt.split("..=")
                ranges.append((int(lo), int(hi)))
            else:
                ranges.append((int(alt), int(alt)))
        arms.append((ranges, VERDICT_ACTION[verdict]))
    if not re.search(r"^\s*_\s*=>\s*Verdict::Pause", m.group(1), flags=re.M):
        fail(f"{rel}: the status table no longer ends in `_ => Verdict::Pause`; update protocol.md and openapi.yaml")
    arms.append(([(0, 10_000)], "pause"))
    if not re.search(r"Err\(\w+\)\s*=>\s*return Verdict::Retry", text):
        fail(f"{rel}: transport errors are no longer retried; update protocol.md and openapi.yaml")
    if len(arms) < 5:
        fail(f"{rel}: could not read the status table (found {len(arms)} arms)")

    def action(status: int) -> str:
        for ranges, act in arms:
            if any(lo <= status <= hi for lo, hi in ranges):
                return act
        return "pause"

    return action


def check_sources(doc: dict) -> None:
    op = batch_op(doc)
    comp = doc["components"]
    schemas = comp["schemas"]
    mismatches = []

    def same(doc_value, code_value, what):
        if doc_value != code_value:
            mismatches.append(f"{what}: openapi.yaml says {doc_value!r}, the code says {code_value!r}")

    rel = "core/src/sync/policy.rs"
    action = policy_table(rel)
    responses = op["responses"]
    explicit = {int(k) for k in responses if k.isdigit()}
    ranges = {int(k[0]) for k in responses if re.fullmatch(r"[1-5]XX", k)}
    for status in range(100, 600):
        if status in explicit:
            key = str(status)
        elif status // 100 in ranges:
            key = f"{status // 100}XX"
        else:
            key = "default"
        documented = resolve(doc, responses[key]).get("x-footfall-sdk-action")
        if documented != action(status):
            mismatches.append(f"status {status}: openapi.yaml response {key!r} says {documented}, {rel} does {action(status)}")
    same(schemas["ErrorResponse"]["x-footfall-max-reason-chars"], rust_const(source(rel), "MAX_REASON_CHARS", rel), "reason truncation (characters)")

    rel = "core/src/config.rs"
    text = source(rel)
    defaults = op["x-footfall-defaults"]
    same(defaults["maxBatchMessages"], rust_field_default(text, "FlushPolicy", "max_batch_events", rel), "max batch messages")
    same(defaults["maxBatchBytesUncompressed"], rust_field_default(text, "FlushPolicy", "max_batch_bytes", rel), "max batch bytes")
    same(defaults["requestTimeoutSeconds"], rust_field_default(text, "RetryPolicy", "request_timeout", rel), "request timeout (s)")
    same(defaults["backoffBaseSeconds"], rust_field_default(text, "RetryPolicy", "base", rel), "backoff base (s)")
    same(defaults["backoffCapSeconds"], rust_field_default(text, "RetryPolicy", "cap", rel), "backoff cap (s)")
    same(defaults["retryAfterMinSeconds"], rust_field_default(text, "RetryPolicy", "min_retry_after", rel), "Retry-After minimum (s)")
    same(defaults["retryAfterMaxSeconds"], rust_field_default(text, "RetryPolicy", "max_retry_after", rel), "Retry-After maximum (s)")

    rel = "core/src/event.rs"
    text = source(rel)
    same(schemas["EventName"]["maxLength"], rust_const(text, "MAX_NAME_CHARS", rel), "event name max characters")
    same(schemas["UserId"]["maxLength"], rust_const(text, "MAX_USER_ID_CHARS", rel), "userId max characters")
    same(schemas["JsonObject"]["x-footfall-max-serialized-bytes"], rust_const(text, "MAX_PROPERTIES_BYTES", rel), "properties max bytes")
    same(schemas["JsonObject"]["x-footfall-max-depth"], rust_const(text, "MAX_DEPTH", rel), "properties max depth")
    same(schemas["Purpose"]["default"], rust_const(text, "DEFAULT_PURPOSE", rel), "default purpose")
    m = re.search(r"purpose\.len\(\) <= (\d+)", text)
    same(schemas["Purpose"]["pattern"], f"^[a-z0-9_-]{{1,{m.group(1) if m else '?'}}}$", "purpose pattern")

    rel = "core/src/sync/wire.rs"
    text = source(rel)
    same(BATCH[0], rust_const(text, "BATCH_PATH", rel), "batch path")
    same(resolve(doc, comp["parameters"]["ProtocolVersion"])["x-footfall-sdk-value"], rust_const(text, "PROTOCOL_VERSION", rel), "protocol version")
    same(schemas["Library"]["properties"]["name"]["const"], rust_const(text, "LIBRARY_NAME", rel), "library name")

    if mismatches:
        fail("openapi.yaml disagrees with the Rust sources:\n    " + "\n    ".join(mismatches[:20]))
    passed("status table (100-599, every row), limits and defaults agree with policy.rs, config.rs, event.rs, wire.rs")


# --------------------------------------------------------------------------------------------- step 2: the SDK


class Capture:
    """A tiny collector that records every request and accepts every batch."""

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = self.headers.get("Content-Length")
                if length is not None:
                    body = self.rfile.read(int(length))
                elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = b""
                with capture.lock:
                    capture.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "version": self.request_version,
                            "headers": list(self.headers.items()),
                            "body": body,
                        }
                    )
                n = 0
                status = 404
                if self.command == "POST" and self.path == BATCH[0]:
                    status = 200
                    try:
                        n = len(json.loads(gzip.decompress(body))["batch"])
                    except Exception:  # judged later, with a proper message
                        n = 0
                answer = (
                    {"accepted": n, "duplicates": 0}
                    if status == 200
                    else {"error": {"code": "not_found", "message": f"no route for {self.path}"}}
                )
                out = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # e.g. the SDK closing a kept-alive connection; what it sent is judged from the records

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def run_cli(binary: Path, *args: str) -> str:
    try:
        proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        fail(f"`footfall {args[0]}` did not finish within {PROCESS_TIMEOUT_S} s")
    if proc.returncode != 0:
        fail(f"`footfall {' '.join(args)}` exited {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def check_sdk_traffic(doc: dict, strict: Schemas, binary: Path) -> None:
    op = batch_op(doc)
    with tempfile.TemporaryDirectory(prefix="footfall-openapi-sdk-") as data_dir, Capture() as capture:
        common = ["--data-dir", data_dir, "--endpoint", capture.url, "--api-key", API_KEY]
        run_cli(binary, "track", *common, "--name", EVENT_NAME, "--props", json.dumps(PROPS), "--count", str(TRACK_COUNT))
        out = run_cli(binary, "flush", *common)
        try:
            report = json.loads(out)
        except json.JSONDecodeError:
            fail(f"`footfall flush` printed {out!r}, not a JSON report")
        if report.get("delivered") != TRACK_COUNT or report.get("pending") != 0:
            fail(f"`footfall flush` reported {report}, expected {TRACK_COUNT} delivered and 0 pending")
        with capture.lock:
            requests = list(capture.requests)
    if not requests:
        fail("the SDK sent no request to the capture server")

    # What the document says the SDK sends.
    header_params = {}
    for i, raw_param in enumerate(op.get("parameters", [])):
        param = resolve(doc, raw_param)
        if param.get("in") == "header":
            header_params[param["name"].lower()] = (param, target_pointer(raw_param, "paths", BATCH[0], BATCH[1], "parameters", str(i)))
    media_types = list(op["requestBody"]["content"])
    transport = {h.lower() for h in op["x-footfall-transport-headers"]["names"]}
    documented = set(header_params) | {"content-type", "authorization"} | transport
    if resolve(doc, doc["components"]["securitySchemes"]["basicAuth"])["scheme"] != "basic":
        fail("the documented security scheme is not HTTP basic")
    expected_auth = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    defaults = op["x-footfall-defaults"]

    messages = []
    for n, req in enumerate(requests, 1):
        what = f"SDK request {n} ({req['method']} {req['path']})"
        if (req["method"].lower(), req["path"]) != (BATCH[1], BATCH[0]):
            fail(f"{what}: the SDK sent a request the document does not describe as sent (only POST {BATCH[0]} is stable)")
        headers: dict[str, str] = {}
        for name, value in req["headers"]:
            if name.lower() in headers:
                fail(f"{what}: header {name} sent twice")
            headers[name.lower()] = value
        undocumented = sorted(set(headers) - documented)
        if undocumented:
            fail(f"{what}: sends headers openapi.yaml does not document: {undocumented}")
        for name, (param, param_ptr) in header_params.items():
            value = headers.get(name)
            if value is None:
                if param.get("required"):
                    fail(f"{what}: header {param['name']} is documented as always sent but is missing")
                continue
            strict.check(param_ptr + "/schema", value, f"{what}: header {param['name']}")
            if "x-footfall-sdk-value" in param and value != param["x-footfall-sdk-value"]:
                fail(f"{what}: header {param['name']} is {value!r}, documented as {param['x-footfall-sdk-value']!r}")
        if headers.get("content-type") not in media_types:
            fail(f"{what}: Content-Type {headers.get('content-type')!r}, documented {media_types}")
        if headers.get("authorization") != expected_auth:
            fail(f"{what}: Authorization {headers.get('authorization')!r}, documented Basic base64(key + ':') = {expected_auth!r}")
        if "content-length" in headers and int(headers["content-length"]) != len(req["body"]):
            fail(f"{what}: Content-Length {headers['content-length']} but {len(req['body'])} body bytes")
        if req["body"][:2] != b"\x1f\x8b":
            fail(f"{what}: the body is not gzip (Content-Encoding: gzip is documented)")
        try:
            raw = gzip.decompress(req["body"])
        except Exception as e:
            fail(f"{what}: the body does not gunzip: {e}")
        if len(raw) > defaults["maxBatchBytesUncompressed"]:
            fail(f"{what}: {len(raw)} uncompressed bytes, over the documented {defaults['maxBatchBytesUncompressed']}")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=lambda c: fail(f"{what}: non-JSON constant {c}"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            fail(f"{what}: the body is not UTF-8 JSON: {e}")
        check_batch_body(strict, doc, body, what)
        if len(body["batch"]) > defaults["maxBatchMessages"]:
            fail(f"{what}: {len(body['batch'])} messages, over the documented {defaults['maxBatchMessages']}")
        ua_version = re.match(r"footfall/(\S+) ", headers["user-agent"]).group(1)
        for m in body["batch"]:
            if m["context"]["library"]["version"] != ua_version:
                fail(f"{what}: User-Agent version {ua_version} differs from context.library.version {m['context']['library']['version']}")
            if epoch_ms(body["sentAt"]) < epoch_ms(m["timestamp"]):
                fail(f"{what}: sentAt {body['sentAt']} is before the timestamp {m['timestamp']} of a message (same clock)")
        messages.extend(body["batch"])

    # Delivery is at-least-once: the `track` process may already have started an upload that its exit abandoned,
    # and `flush` then sends the same messages again. protocol.md: a re-sent message has the same JSON.
    first: dict[str, dict] = {}
    for m in messages:
        if m["messageId"] in first and first[m["messageId"]] != m:
            fail(f"message {m['messageId']} was re-sent with different content:\n    {first[m['messageId']]}\n    {m}")
        first.setdefault(m["messageId"], m)
    resent = len(messages) - len(first)
    messages = list(first.values())

    # What these particular events must look like.
    purpose_default = doc["components"]["schemas"]["Purpose"]["default"]
    if len(messages) != TRACK_COUNT:
        fail(f"the SDK uploaded {len(messages)} distinct messages, {TRACK_COUNT} were tracked")
    seqs = [m["context"]["footfall"]["seq"] for m in messages]
    if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
        fail(f"context.footfall.seq is not strictly increasing in upload order: {seqs}")
    for m in messages:
        if m["type"] != "track" or m["event"] != EVENT_NAME or m["properties"] != PROPS:
            fail(f"uploaded message differs from what was tracked: {m}")
        if m["context"]["footfall"]["purpose"] != purpose_default:
            fail(f"purpose is {m['context']['footfall']['purpose']!r}, documented default {purpose_default!r}")
        if "userId" in m:
            fail("userId is sent although identify() was never called (documented: omitted until identify)")
    if len({(m["anonymousId"], m["context"]["footfall"]["sessionId"]) for m in messages}) != 1:
        fail("one install tracking three events in a row sent different anonymousId/sessionId values")
    passed(
        f"real SDK traffic: {len(requests)} request(s), {len(messages)} messages ({resent} re-sent identically): "
        f"method, path, headers (no undocumented one), gzip, body schema with no undocumented field, seq order, v7 ids"
    )


# --------------------------------------------------------------------------------------------- step 3: the collector


class Collector:
    def __init__(self, binary: Path, db: Path):
        self.binary = binary
        self.db = db
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []

    def __enter__(self):
        self.proc = subprocess.Popen(
            [str(self.binary), "collector", "serve", "--listen", "127.0.0.1:0", "--db", str(self.db), "--api-key", API_KEY],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        return self

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # end of output: the process is gone

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def base_url(self) -> str:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"the collector printed no 'listening on' line within {SERVER_START_TIMEOUT_S} s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=10)
                fail(f"the collector exited ({self.proc.returncode}) before listening: {''.join(self.stderr).strip()}")
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                return m.group(1)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def http(base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except OSError as e:
        fail(f"{method} {path}: no answer from the collector: {e}")


def uuid7(ms: int) -> str:
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def fresh_batch(doc: dict) -> dict:
    """The documented request example with new ids (so a fresh collector has never seen them)."""
    example = batch_op(doc)["requestBody"]["content"]["application/json"]["examples"]["trackAndIdentify"]["value"]
    batch = copy.deepcopy(example)
    for m in batch["batch"]:
        m["messageId"] = uuid7(epoch_ms(m["timestamp"]))
    return batch


def check_collector(doc: dict, schemas: Schemas, binary: Path) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()}
    gz = {**auth, "Content-Type": "application/json", "Content-Encoding": "gzip", "X-Footfall-Protocol": "1"}
    good = fresh_batch(doc)
    n = len(good["batch"])
    good_body = gzip.compress(json.dumps(good).encode())
    plain = fresh_batch(doc)
    bad = copy.deepcopy(plain)
    bad["batch"][0]["timestamp"] = "yesterday"
    too_big = json.dumps({"batch": [], "padding": "x" * (1024 * 1024 + 1)}).encode()

    cases = [
        # name, method, path, body, headers, status, error code or None, extra check
        ("valid gzip batch", "POST", "/v1/batch", good_body, gz, 200, None, {"accepted": n, "duplicates": 0}),
        ("the same batch again", "POST", "/v1/batch", good_body, gz, 200, None, {"accepted": 0, "duplicates": n}),
        ("identity-encoded batch", "POST", "/v1/batch", json.dumps(plain).encode(),
         {**auth, "Content-Type": "application/json"}, 200, None, {"accepted": n, "duplicates": 0}),
        ("batch with an invalid message", "POST", "/v1/batch", gzip.compress(json.dumps(bad).encode()), gz, 400, "invalid_event", None),
        ("non-JSON body", "POST", "/v1/batch", gzip.compress(b"this is not json"), gz, 400, "invalid_batch", None),
        ("no Authorization", "POST", "/v1/batch", good_body, {k: v for k, v in gz.items() if k != "Authorization"}, 401, "unauthorized", None),
        ("wrong API key", "POST", "/v1/batch", good_body,
         {**gz, "Authorization": "Basic " + base64.b64encode(b"nope:").decode()}, 401, "unauthorized", None),
        ("Content-Encoding: br", "POST", "/v1/batch", good_body, {**gz, "Content-Encoding": "br"}, 415, "unsupported_encoding", None),
        ("body over the collector's limit", "POST", "/v1/batch", gzip.compress(too_big), gz, 413, "payload_too_large", None),
        ("GET /v1/batch", "GET", "/v1/batch", None, auth, 405, "method_not_allowed", None),
        ("GET /healthz", "GET", "/healthz", None, {}, 200, None, None),
        ("HEAD /healthz", "HEAD", "/healthz", None, {}, 200, None, None),
    ]
    for path, method in sorted(RESERVED):
        cases.append((f"reserved {method.upper()} {path}", method.upper(), path, b"{}" if method == "post" else None,
                      {**auth, "Content-Type": "application/json"}, 404, "not_found", None))

    with tempfile.TemporaryDirectory(prefix="footfall-openapi-collector-") as tmp, Collector(binary, Path(tmp) / "collector.db") as collector:
        base = collector.base_url()
        for name, method, path, body, headers, status, code, expect in cases:
            got, resp_headers, raw = http(base, method, path, body, headers)
            what = f"collector, {name}: {method} {path} -> {got}"
            if got != status:
                fail(f"{what}, expected {status}; body: {raw[:300]!r}")
            spec_method, key, response = response_for(doc, path, "get" if method == "HEAD" else method.lower(), got)
            raw_response = doc["paths"][path][spec_method]["responses"][key]
            response_ptr = target_pointer(raw_response, "paths", path, spec_method, "responses", key)
            for hname, raw_header in (response.get("headers") or {}).items():
                header = resolve(doc, raw_header)
                value = resp_headers.get(hname)
                if value is None:
                    if header.get("required"):
                        fail(f"{what}: documented header {hname} is missing")
                    continue
                header_ptr = target_pointer(raw_header, *pointer_parts(response_ptr), "headers", hname)
                schemas.check(header_ptr + "/schema", value, f"{what}: header {hname}")
            if method == "HEAD":
                if raw:
                    fail(f"{what}: HEAD answered with a body")
                continue
            content = response.get("content") or {}
            media = (resp_headers.get("Content-Type") or "").split(";")[0].strip()
            if content and media not in content:
                fail(f"{what}: Content-Type {media!r}, documented {sorted(content)} for response {key!r}")
            if media == "application/json":
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError:
                    fail(f"{what}: the body is not JSON: {raw[:200]!r}")
            else:
                value = raw.decode("utf-8", "replace")
            if content:
                schemas.check(response_ptr + pointer("content", media, "schema"), value, f"{what}: body")
            if code is not None:
                if value["error"]["code"] != code:
                    fail(f"{what}: error.code {value['error']['code']!r}, expected {code!r}")
                documented = response.get("x-footfall-reference-codes")
                if documented is not None and code not in documented:
                    fail(f"{what}: error.code {code!r} is not among the documented codes {documented} of response {key!r}")
            if expect is not None:
                for field, want in expect.items():
                    if value.get(field) != want:
                        fail(f"{what}: {field} = {value.get(field)!r}, expected {want!r}")
        if collector.proc.poll() is not None:
            fail(f"the collector died during the checks: {''.join(collector.stderr).strip()}")
    passed(f"reference collector: {len(cases)} requests answered with the documented status, headers and body schema")


# --------------------------------------------------------------------------------------------- main


def main() -> int:
    started = time.monotonic()
    binary = Path(os.environ.get("FOOTFALL_BIN") or ROOT / "target" / "debug" / "footfall")
    print(f"check_openapi: {SPEC_PATH.relative_to(ROOT)} against the code, the SDK ({binary}) and the collector", flush=True)
    try:
        doc = load_spec()
        schemas, strict = Schemas(doc), Schemas(strict_copy(doc))
        check_document(doc, schemas, strict)
        check_sources(doc)
        if not binary.is_file() or not os.access(binary, os.X_OK):
            fail(f"no footfall binary at {binary}: run `cargo build -p footfall-cli` or set FOOTFALL_BIN")
        check_sdk_traffic(doc, strict, binary)
        check_collector(doc, schemas, binary)
    except CheckFailed as e:
        print(f"\ncheck_openapi: FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    except Exception:  # a bug here, or a document shaped unlike what this script reads
        import traceback

        traceback.print_exc()
        print("\ncheck_openapi: FAILED: the checker itself crashed (see the traceback above)", file=sys.stderr, flush=True)
        return 1
    print(f"check_openapi: {len(SUMMARY)} checks passed in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
