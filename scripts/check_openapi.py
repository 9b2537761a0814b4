#!/usr/bin/env python3
"""Checks docs/openapi.yaml against the code and against real traffic.

1. The document is valid OpenAPI; its examples (and the JSON blocks of docs/protocol.md marked `schema=Name`)
   validate against their schemas; its limits, defaults and status table agree with the Rust sources.
   Consent records in examples carry hashes that verify under the documented canonical form; the stable
   operations the SDK sends (`x-footfall-sdk-support: sent`) are exactly those whose path the core names.
   The rules both documents state (openapi.yaml and protocol.md) agree with each other and with the code:
   defaults written in prose (config refresh, Retry-After clamp, certificate wait), the policy refusals
   (`PolicyError`), the lane states (`LaneCondition`), closed consent records and open request bodies, and the
   transport rules (no credentials in the URL, one Authorization header, refused certificates pause, `null`
   counts as absent). Every endpoint protocol.md names is an operation here and the reverse. The wallet
   (protocol.md § The wallet) is checked against its prose: the holder headers, `Date` on its answers, the statuses
   each subsection names, the feed's status handling, `since`/cursor and ETag, the field tables (member, type,
   optional), the tombstone reasons and result statuses, the limits; against `core/src/wallet` (lengths, Base45,
   the display binding, the rotation document); and its examples are real (display bound to its grant, a Base45
   code carrying a served grant). A protocol.md example value that ends in `…` is shortened: it is checked up to
   the ellipsis.
2. The real SDK (`footfall track` + `footfall flush`) uploads to a capture server on 127.0.0.1: every request
   must match the documented method, path, headers and body schema, and carry no undocumented field or header.
3. The reference collector (`footfall collector serve`) answers each documented case with the documented
   status, headers and body schema: batches, the config file with ETag/304 and live edits, consent records
   (sealed here from the documented canonical form, so the document, this script and the collector agree),
   tampered records, records with an unlisted member, a record whose predecessor was never stored, unknown
   members in a batch, deletion requests, injected faults on every endpoint, and `404 not_found` for the reserved
   endpoints and the wallet's, which it does not serve yet.

Exits non-zero with a message naming the mismatch. Needs: openapi-spec-validator, jsonschema, pyyaml and the
built CLI (`cargo build -p footfall-cli`; override the binary with FOOTFALL_BIN).
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import itertools
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
CONFIG = ("/v1/config", "get")
RECORDS = ("/v1/consent-records", "post")
DELETION = ("/v1/rights/deletion", "post")
WALLET_CHANGES = ("/v1/wallet/changes", "get")
WALLET_CLIPS = ("/v1/wallet/clips", "post")
WALLET_REDEMPTIONS = ("/v1/wallet/redemptions", "post")
WALLET = (WALLET_CHANGES, WALLET_CLIPS, WALLET_REDEMPTIONS)  # protocol.md § The wallet
STABLE = {BATCH, CONFIG, RECORDS, DELETION, *WALLET}
# The essential lane: the status table of POST /v1/batch (protocol.md § The essential lane; the wallet sends clips
# and redemptions "in the essential lane").
ESSENTIAL = (RECORDS, DELETION, WALLET_CLIPS, WALLET_REDEMPTIONS)
ACTIONS = {"deliver", "bisect", "split", "retry", "pause"}
CONFIG_ACTIONS = {"apply", "keep"}
# GET /v1/wallet/changes: "Status handling is that of GET /v1/config", plus 410 (start over).
WALLET_FEED_ACTIONS = {"apply", "keep", "start-over"}
# `lands-with-<work>-work`: the description says "lands with the <work> work". An operation the reference
# collector does not serve yet would be named in NOT_SERVED_BY_COLLECTOR (it answers 404 like any other path).
SDK_SUPPORT = {"sent", "lands-with-consent-work"}
NOT_SERVED_BY_COLLECTOR: set = set()
ELLIPSIS = "\u2026"  # protocol.md shortens long example values with a trailing "…"
GENESIS = "0" * 64
VERDICT_ACTION = {"Delivered": "deliver", "Rejected": "bisect", "TooLarge": "split", "Retry": "retry", "Pause": "pause"}
# How both documents name each certificate problem the SDK refuses (CertificateProblem in core/src/sync/transport.rs;
# `Other` is any remaining certificate error and needs no name).
CERTIFICATE_PROBLEMS = {
    "UnknownIssuer": "unknown issuer",
    "Expired": "expired",
    "NotValidYet": "not yet valid",
    "NameMismatch": "name mismatch",
    "CaUsedAsEndEntity": "a CA certificate used as the server's own",
    "Revoked": "revoked",
    "WrongPurpose": "not valid for server authentication",
    "PinMismatch": "a public key the app's pins do not cover",
}
RESERVED = {
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


def record_order(doc: dict) -> list[str]:
    return doc["components"]["schemas"]["ConsentRecord"]["x-footfall-canonical-order"]


def canonical_record(doc: dict, record: dict) -> bytes:
    """The documented canonical JSON of a consent record (openapi.yaml ConsentRecord), `hash` set to ""."""
    ordered = {}
    for key in record_order(doc):
        value = record[key]
        if key == "decisions":
            value = dict(sorted(value.items()))
        elif key == "method":
            value = {"kind": value["kind"], **{k: v for k, v in value.items() if k != "kind"}}
        elif key == "hash":
            value = ""
        ordered[key] = value
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal(doc: dict, record: dict, prev_hash: str) -> dict:
    record = {**record, "prev_hash": prev_hash, "hash": ""}
    record["hash"] = hashlib.sha256(canonical_record(doc, record)).hexdigest()
    return record


def check_record_hashes(doc: dict, body, what: str, from_genesis: bool = False) -> None:
    """Every record of a ConsentRecordBatch verifies, and consecutive records of one subject are linked."""
    records = body.get("records", []) if isinstance(body, dict) else []
    for i, record in enumerate(records):
        want = hashlib.sha256(canonical_record(doc, record)).hexdigest()
        if record["hash"] != want:
            fail(f"{what}: $.records[{i}] ({record['record_id']}) has hash {record['hash']}, the documented canonical form gives {want}")
        if i > 0 and record["subject_id"] == records[i - 1]["subject_id"] and record["prev_hash"] != records[i - 1]["hash"]:
            fail(f"{what}: $.records[{i}].prev_hash is not the hash of the record before it")
    if from_genesis and records and records[0]["prev_hash"] != GENESIS:
        fail(f"{what}: the chain should start from the genesis hash (64 zeros)")


def unelide(value) -> tuple[object, int]:
    """protocol.md shortens long example values (base64url grants, Base45 codes) with a trailing `…`: such a string
    is checked up to the ellipsis (its characters, not its length). Returns the value and how many were shortened."""
    if isinstance(value, str):
        if value.endswith(ELLIPSIS) and value[: -len(ELLIPSIS)] and ELLIPSIS not in value[: -len(ELLIPSIS)]:
            return value[: -len(ELLIPSIS)], 1
        return value, 0
    if isinstance(value, dict):
        out, n = {}, 0
        for k, v in value.items():
            out[k], m = unelide(v)
            n += m
        return out, n
    if isinstance(value, list):
        out, n = [], 0
        for v in value:
            u, m = unelide(v)
            out.append(u)
            n += m
        return out, n
    return value, 0


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


def documented_action(doc: dict, responses: dict, status: int):
    """The x-footfall-sdk-action of the response that documents `status` (exact, then NXX, then default)."""
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            return resolve(doc, responses[key]).get("x-footfall-sdk-action")
    return None


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
    if stable != STABLE:
        fail(f"stable operations differ: missing {sorted(STABLE - stable)}, unexpected {sorted(stable - STABLE)}")
    if reserved != RESERVED:
        fail(f"reserved endpoints differ: missing {sorted(RESERVED - reserved)}, unexpected {sorted(reserved - RESERVED)}")
    for path, method in reserved:
        op = doc["paths"][path][method]
        if "reserved" not in op.get("summary", "").lower() or "not yet sent by the sdk" not in op.get("description", "").lower():
            fail(f"{method.upper()} {path}: summary and description must say it is reserved, not yet sent by the SDK")
    for path, method in sorted(stable):
        op = doc["paths"][path][method]
        support = op.get("x-footfall-sdk-support")
        if support not in SDK_SUPPORT:
            fail(f"{method.upper()} {path}: x-footfall-sdk-support {support!r} is not one of {sorted(SDK_SUPPORT)}")
        work = support[len("lands-with-"):-len("-work")] if support != "sent" else None
        if work and f"lands with the {work} work" not in prose(op.get("description", "")).lower():
            fail(f"{method.upper()} {path}: the SDK does not send it yet, so its description must say it lands with the {work} work")
        if "reserved" in op.get("summary", "").lower():
            fail(f"{method.upper()} {path} is stable but its summary still says reserved")
    if ("/healthz", "get") not in operations:
        fail("GET /healthz of the reference collector is not documented")
    pending: dict[str, list[str]] = {}
    for p, m in sorted(stable):
        support = doc["paths"][p][m]["x-footfall-sdk-support"]
        if support != "sent":
            pending.setdefault(support[len("lands-with-"):-len("-work")], []).append(f"{m.upper()} {p}")
    later = "".join(f"; {', '.join(ops)} landing with the {work} work" for work, ops in sorted(pending.items()))
    passed(f"operations: {len(stable)} stable{later}; {len(reserved)} reserved, GET /healthz collector-only")

    for path, method in sorted(stable):
        allowed = {CONFIG: CONFIG_ACTIONS, WALLET_CHANGES: WALLET_FEED_ACTIONS}.get((path, method), ACTIONS)
        for key, response in doc["paths"][path][method]["responses"].items():
            action = resolve(doc, response).get("x-footfall-sdk-action")
            if action not in allowed:
                fail(f"{method.upper()} {path} response {key}: x-footfall-sdk-action {action!r} is not one of {sorted(allowed)}")
    # The essential lane is retried with the batch status table, status for status.
    for path, method in ESSENTIAL:
        for status in range(100, 600):
            mine = documented_action(doc, doc["paths"][path][method]["responses"], status)
            theirs = documented_action(doc, batch_op(doc)["responses"], status)
            if mine != theirs:
                fail(f"{method.upper()} {path}: status {status} is documented as {mine}, POST /v1/batch as {theirs} (the essential lane uses the batch table)")
    schemes = doc["components"]["securitySchemes"]
    if schemes.get("basicAuth", {}).get("type") != "http" or schemes["basicAuth"].get("scheme") != "basic":
        fail("securitySchemes.basicAuth must be HTTP basic")
    for path, method in sorted(stable):
        if {"basicAuth": []} not in (doc["paths"][path][method].get("security") or doc.get("security") or []):
            fail(f"{method.upper()} {path} must require basicAuth")

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
                        elif where == "requestBody":
                            strict.check(pointer(*base, "content", media, "schema"), value, what + " (undocumented fields count)")
                        else:
                            schemas.check(pointer(*base, "content", media, "schema"), value, what)
                        if (path, method) == RECORDS and where == "requestBody":
                            check_record_hashes(doc, value, what, from_genesis=True)
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
    check_wallet_examples(doc)

    # JSON blocks of protocol.md marked ```json schema=Name validate against components.schemas.Name.
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    blocks = re.findall(r"^```json[ \t]+schema=(\w+)[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    if not blocks:
        fail("docs/protocol.md has no ```json schema=Name blocks to check against openapi.yaml")
    elided = 0
    for name, block in blocks:
        try:
            value = json.loads(block)
        except json.JSONDecodeError as e:
            fail(f"protocol.md: the ```json schema={name} block is not valid JSON: {e}")
        if name not in doc["components"]["schemas"]:
            fail(f"protocol.md: the ```json schema={name} block names a schema openapi.yaml does not define (components.schemas.{name})")
        value, shortened = unelide(value)
        elided += shortened
        if name == "BatchRequest":
            check_batch_body(strict, doc, value, f"protocol.md block schema={name}")
        else:
            exhaustive = doc["components"]["schemas"].get(name, {}).get("x-footfall-exhaustive") is True
            (strict if exhaustive else schemas).check(pointer("components", "schemas", name), value, f"protocol.md block schema={name}")
        if name == "ConsentRecordBatch":
            check_record_hashes(doc, value, f"protocol.md block schema={name}", from_genesis=True)
    passed(
        f"{len(blocks)} JSON examples in protocol.md validate against openapi.yaml "
        f"({elided} values shortened with a trailing {ELLIPSIS} checked up to it)"
    )


def operation_examples(doc: dict, path_method: tuple, where: str) -> list[tuple[str, object]]:
    """(name, value) of every example of `requestBody` or `responses/<key>` of an operation, `$ref`s resolved."""
    holder = doc["paths"][path_method[0]][path_method[1]]
    for part in where.split("/"):
        holder = resolve(doc, holder[part])
    content = holder["content"]["application/json"]
    return [(n, resolve(doc, e)["value"]) for n, e in (content.get("examples") or {}).items()]


def base64url_bytes(text: str, what: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        fail(f"{what} is not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def base45_bytes(text: str, what: str) -> bytes:
    """RFC 9285: each 3 characters are 2 bytes (c + 45·d + 45²·e), 2 trailing characters 1 byte."""
    if len(text) % 3 == 1 or any(c not in BASE45 for c in text):
        fail(f"{what} is not Base45 text (RFC 9285)")
    out = bytearray()
    for i in range(0, len(text), 3):
        digits = [BASE45.index(c) for c in text[i:i + 3]]
        n = sum(d * 45**k for k, d in enumerate(digits))
        if n > (0xFFFF if len(digits) == 3 else 0xFF):
            fail(f"{what} is not Base45 text (RFC 9285): {text[i:i + 3]!r} is out of range")
        out += n.to_bytes(2 if len(digits) == 3 else 1, "big")
    return bytes(out)


def grant_head(raw: bytes, what: str) -> dict:
    """The fields of a version-2 grant (docs/wallet.md § Grants) these checks use: the kid, coupon id and serial of
    its till part, the till part's bytes (what a redemption code carries) and the terms reference of its display
    part (None without one)."""
    if not raw or raw[0] != 2:
        fail(f"{what}: not a version-2 grant")

    def str8(at: int, name: str) -> tuple[str, int]:
        if at >= len(raw) or at + 1 + raw[at] > len(raw):
            fail(f"{what}: the grant ends inside its {name}")
        return raw[at + 1:at + 1 + raw[at]].decode("ascii", "replace"), at + 1 + raw[at]

    fields = {}
    fields["kid"], at = str8(1, "kid")
    body_len, at = varint(raw, at, f"{what}: the till body length")
    till_end = at + body_len + 64
    if till_end > len(raw):
        fail(f"{what}: the grant ends inside its till part")
    fields["couponId"], body = str8(at, "coupon id")
    fields["serial"], _ = str8(body, "serial")
    fields["till"] = raw[:till_end]
    fields["termsRef"] = str8(till_end, "terms reference")[0] if till_end < len(raw) else None
    return fields


def varint(raw: bytes, at: int, what: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(raw) or shift > 63:
            fail(f"{what}: bad varint")
        b = raw[at]
        value |= (b & 0x7F) << shift
        at += 1
        if not b & 0x80:
            return value, at
        shift += 7


# P-256 (SEC 2): a code carries the device key compressed; its device id hashes the uncompressed point.
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


def p256_decompress(key: bytes, what: str) -> bytes:
    """The uncompressed SEC1 point (0x04 ‖ x ‖ y) of a compressed one (0x02/0x03 ‖ x)."""
    x = int.from_bytes(key[1:], "big")
    if len(key) != 33 or key[0] not in (2, 3) or x >= P256_P:
        fail(f"{what}: the device key is not a compressed P-256 point")
    alpha = (x**3 - 3 * x + P256_B) % P256_P
    y = pow(alpha, (P256_P + 1) // 4, P256_P)  # p = 3 (mod 4)
    if y * y % P256_P != alpha:
        fail(f"{what}: the device key is not a P-256 point")
    if y % 2 != key[0] % 2:
        y = P256_P - y
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def check_wallet_examples(doc: dict) -> None:
    """The wallet examples of openapi.yaml are real: each display document is bound to its grant by the documented
    terms reference (`d` + base64url(first 12 bytes of SHA-256(display))) and is UTF-8 JSON {title, terms}; each
    redemption code is Base45 of a version-2 code that carries the till part of a grant of the feed examples, and a
    `redeemed` tombstone names the device of such a code (the first 8 bytes of SHA-256 of its device key,
    uncompressed, lowercase hex)."""
    grants, devices, displays = {}, {}, 0
    for name, value in operation_examples(doc, WALLET_CHANGES, "responses/200"):
        for i, upsert in enumerate(value.get("upserts", [])):
            what = f"example {name!r} of GET {WALLET_CHANGES[0]}: $.upserts[{i}]"
            raw = base64url_bytes(upsert["grant"], f"{what}.grant")
            head = grant_head(raw, f"{what}.grant")
            grants[raw] = head
            if "display" in upsert:
                display = base64url_bytes(upsert["display"], f"{what}.display")
                bound = "d" + base64.urlsafe_b64encode(hashlib.sha256(display).digest()[:12]).decode().rstrip("=")
                if head["termsRef"] != bound:
                    fail(f"{what}: the grant's terms reference is {head['termsRef']!r}, its display document gives {bound!r}")
                try:
                    shown = json.loads(display.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    fail(f"{what}.display is not UTF-8 JSON: {e}")
                if not isinstance(shown, dict) or not all(isinstance(shown.get(k), str) for k in ("title", "terms")):
                    fail(f"{what}.display is not {{\"title\": …, \"terms\": …}}: {shown!r}")
                displays += 1
    codes = 0
    for name, value in operation_examples(doc, WALLET_REDEMPTIONS, "requestBody"):
        for i, redemption in enumerate(value["redemptions"]):
            what = f"example {name!r} of POST {WALLET_REDEMPTIONS[0]}: $.redemptions[{i}].code"
            raw = base45_bytes(redemption["code"], what)
            if raw[:1] != b"\x02":
                fail(f"{what}: not a version-2 redemption code")
            device_key = p256_decompress(raw[1:34], what)
            _, at = varint(raw, 34, what)  # counter
            _, at = varint(raw, at, what)  # time bucket
            till = raw[at + 1 + 64:]  # after the challenge flag and the proof signature: the grant's till part
            served = [head for head in grants.values() if head["till"] == till]
            if not served:
                fail(f"{what}: carries a grant (till part) that no example of GET {WALLET_CHANGES[0]} serves")
            devices[hashlib.sha256(device_key).digest()[:8].hex()] = served[0]
            codes += 1
    for name, value in operation_examples(doc, WALLET_CHANGES, "responses/200"):
        for i, tomb in enumerate(value.get("tombstones", [])):
            if tomb["reason"] == "redeemed":
                head = devices.get(tomb["device"])
                if not head or (head["couponId"], head["serial"]) != (tomb["couponId"], tomb["serial"]):
                    fail(f"example {name!r} of GET {WALLET_CHANGES[0]}: $.tombstones[{i}] names device {tomb['device']}, which "
                         f"presented no code for {tomb['couponId']}/{tomb['serial']} in the redemptions examples")
    if not displays or not codes:
        fail("openapi.yaml has no wallet feed example with a display document, or no redemptions example with a code")
    passed(f"wallet examples: {displays} display document(s) bound to their grant, {codes} Base45 redemption code(s) "
           f"carrying a served grant, redeemed tombstones naming the device that presented the code")


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
    if expr.startswith('b"') and expr.endswith('"'):
        expr = expr[1:]
    if expr.startswith('"') and expr.endswith('"'):
        return expr[1:-1]
    m = re.fullmatch(r"(?:Duration::from_secs\()?([0-9_ *]+)\)?", expr)
    if not m:
        fail(f"{what}: cannot read {expr!r} as a number (update check_openapi.py)")
    value = 1
    for factor in m.group(1).split("*"):
        value *= int(factor.strip().replace("_", ""))
    return value


def config_new_default(text: str, field: str, rel: str):
    """`field: Some(value),` inside `Config::new` (the defaults that are not a `Default` impl)."""
    block = re.search(r"^\s*pub fn new\(.*?^\s*Config \{(.*?)^\s*\}", text, flags=re.S | re.M)
    m = block and re.search(rf"^\s*{field}: Some\((.+)\),\s*$", block.group(1), flags=re.M)
    if not m:
        fail(f"{rel}: default of Config::{field} not found, or it is no longer on by default (update check_openapi.py, "
             f"protocol.md and openapi.yaml)")
    return literal(m.group(1).strip(), f"{rel} {field}")


def rust_field_default(text: str, struct: str, field: str, rel: str):
    """`field: value,` inside `impl Default for struct { ... }`."""
    block = re.search(rf"^impl Default for {struct} \{{(.*?)^\}}", text, flags=re.S | re.M)
    m = block and re.search(rf"^\s*{field}: ([^,\n]+),", block.group(1), flags=re.M)
    if not m:
        fail(f"{rel}: default of {struct}::{field} not found (update check_openapi.py if it moved)")
    return literal(m.group(1).strip(), f"{rel} {field}")


def policy_table(rel: str = "core/src/sync/verdict.rs"):
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

    rel = "core/src/sync/verdict.rs"
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
    same(defaults["certificateRetrySeconds"], rust_field_default(text, "RetryPolicy", "certificate_retry", rel), "certificate retry (s)")
    same(doc["paths"][CONFIG[0]][CONFIG[1]]["x-footfall-defaults"]["policyRefreshIntervalSeconds"],
         config_new_default(text, "consent_refresh_interval", rel), "consent policy refresh interval (s)")

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

    # Which stable operations the SDK sends: those whose path the core names as a string literal in code.
    named = core_paths()
    for path, method in sorted(STABLE):
        support = doc["paths"][path][method].get("x-footfall-sdk-support")
        if (path in named) != (support == "sent"):
            where = f" ({', '.join(named[path])})" if path in named else ""
            mismatches.append(
                f"{method.upper()} {path}: x-footfall-sdk-support is {support!r} but the core "
                f"{'names' if path in named else 'does not name'} the path{where}; update openapi.yaml and protocol.md"
            )

    # The consent record: members, order and values exactly as record.rs serializes them.
    rel = "core/src/consent/record.rs"
    text = source(rel)
    record = schemas["ConsentRecord"]
    fields = [f for f, _ in rust_struct_fields(text, "ConsentRecord", rel)]
    same(record["x-footfall-canonical-order"], fields, "ConsentRecord member order (the hash depends on it)")
    same(list(record["properties"]), fields, "ConsentRecord properties order")
    same(sorted(record["required"]), sorted(fields), "ConsentRecord required members")
    same(record["properties"]["kind"]["enum"], rust_enum_variants(text, "RecordKind", rel), "ConsentRecord.kind values")
    methods = [v["properties"]["kind"]["const"] for v in schemas["ConsentMethod"]["oneOf"]]
    same(methods, rust_enum_variants(text, "Method", rel), "ConsentMethod kinds")
    same(GENESIS, rust_const(text, "GENESIS_HASH", rel), "genesis prev_hash")
    rel = "core/src/consent/purpose.rs"
    same(record["properties"]["jurisdiction"]["enum"], rust_enum_variants(source(rel), "Jurisdiction", rel), "ConsentRecord.jurisdiction values")

    # The policy: member names and which are required, from policy.rs (camelCase; `#[serde(default)]` = optional).
    rel = "core/src/consent/policy.rs"
    text = source(rel)
    for struct, schema in (("Policy", "ConsentPolicy"), ("PurposeDef", "PolicyPurpose"), ("PromptDef", "ConsentPrompt"), ("PromptCopy", "PromptCopy")):
        members = rust_struct_fields(text, struct, rel)
        camel = [re.sub(r"_([a-z])", lambda m: m.group(1).upper(), f) for f, _ in members]
        same(sorted(schemas[schema]["properties"]), sorted(camel), f"{schema} members ({struct} in {rel})")
        required = sorted(c for c, (_, optional) in zip(camel, members) if not optional)
        same(sorted(schemas[schema].get("required", [])), required, f"{schema} required members")
    closed = bool(re.search(r"deny_unknown_fields\)\]\s*pub struct PurposeDef", text))
    same(schemas["PolicyPurpose"]["additionalProperties"] is False, closed, "PolicyPurpose closed (deny_unknown_fields)")

    # The wallet: the limits and encodings the schemas state, from its pure core (docs/wallet.md).
    rel = "core/src/wallet/grant.rs"
    text = source(rel)
    same(dig(schemas, "WalletUpsert", "properties", "grant", "maxLength"), b64url_len(rust_const(text, "MAX_GRANT_BYTES", rel)),
         "WalletUpsert.grant maxLength (unpadded base64url of MAX_GRANT_BYTES)")
    same(dig(schemas, "WalletId", "maxLength"), rust_const(text, "MAX_ID_LEN", rel), "WalletId (coupon id, serial) max length")
    if not re.search(r'format!\("d\{\}", base64::engine::general_purpose::URL_SAFE_NO_PAD\.encode\(&hash\[\.\.12\]\)\)', text):
        mismatches.append(f"{rel}: display_terms_ref is no longer `d` + base64url(first 12 bytes of SHA-256); update both documents")
    if not re.search(r"\(0x21\.\.=0x7e\)", source("core/src/wallet/codec.rs")):
        mismatches.append("core/src/wallet/codec.rs: is_short_ascii no longer allows exactly 0x21..=0x7e; update WalletId and KeySetRotation.kid")
    rel = "core/src/wallet/keys.rs"
    text = source(rel)
    rotation = schemas.get("KeySetRotation") or {}
    same(dig(rotation, "properties", "kid", "maxLength"), rust_const(text, "MAX_KID_LEN", rel), "KeySetRotation.kid max length")
    same(sorted(rotation.get("properties") or {}), sorted(private_struct_fields(text, "SignedKeySetDoc", rel)), "KeySetRotation members (SignedKeySetDoc)")
    same(sorted(rotation.get("required") or []), sorted(private_struct_fields(text, "SignedKeySetDoc", rel)), "KeySetRotation required members")
    rel = "core/src/wallet/redemption.rs"
    text = source(rel)
    redemption = dig(schemas, "WalletRedemption", "properties") or {}
    same(dig(redemption, "challenge", "maxLength"), b64url_len(rust_const(text, "MAX_CHALLENGE_BYTES", rel)), "WalletRedemption.challenge maxLength")
    m = re.search(r"\bconst MAX_CODE_CHARS: usize = \(MAX_GRANT_BYTES \+ (\d+)\) \* 3 / 2;", text)
    if not m:
        mismatches.append(f"{rel}: MAX_CODE_CHARS is no longer (MAX_GRANT_BYTES + N) * 3 / 2 (update check_openapi.py)")
    else:
        max_grant = rust_const(source("core/src/wallet/grant.rs"), "MAX_GRANT_BYTES", "core/src/wallet/grant.rs")
        same(dig(redemption, "code", "maxLength"), (max_grant + int(m.group(1))) * 3 // 2, "WalletRedemption.code maxLength (MAX_CODE_CHARS)")
    rel = "core/src/wallet/base45.rs"
    alphabet = rust_const(source(rel), "ALPHABET", rel)
    code_pattern = re.compile(dig(redemption, "code", "pattern") or "(?!)")
    wrong = [c for c in map(chr, range(0x20, 0x7F)) if bool(code_pattern.fullmatch(c)) != (c in alphabet)]
    if wrong:
        mismatches.append(f"WalletRedemption.code pattern and the Base45 alphabet of {rel} disagree on {wrong}")

    if mismatches:
        fail("openapi.yaml disagrees with the Rust sources:\n    " + "\n    ".join(mismatches[:20]))
    passed(
        "status table (100-599, every row), limits and defaults agree with policy.rs, config.rs, event.rs, wire.rs; "
        "ConsentRecord and the policy agree with record.rs and policy.rs; the wallet's limits, Base45 alphabet, display "
        "binding and key set rotation agree with core/src/wallet; sdk-support agrees with the paths the core names"
    )


# --------------------------------------------------------------------------------------------- step 1c: the rules


def prose(text: str) -> str:
    """Text with every run of whitespace made one space, so a phrase matches across line breaks."""
    return re.sub(r"\s+", " ", text).strip()


def human(seconds: int) -> str:
    """A duration as the documents write it: `1 s`, `10 min`, `1 hour`, `2 hours`."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'' if hours == 1 else 's'}"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def md_section(text: str, heading: str) -> str:
    """The body of `## heading` in protocol.md, up to the next `## `."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    if not m:
        fail(f"protocol.md has no section '## {heading}' (update check_openapi.py if it was renamed)")
    return m.group(1)


def md_subsection(section: str, heading: str) -> str:
    """The body of `### heading` inside a `## ` section, up to the next heading."""
    m = re.search(rf"^### {re.escape(heading)}\n(.*?)(?=^#{{2,3}} |\Z)", section, flags=re.S | re.M)
    if not m:
        fail(f"protocol.md has no subsection '### {heading}' (update check_openapi.py if it was renamed)")
    return m.group(1)


def md_table(text: str) -> list[tuple[list[str], str, str]]:
    """Rows of the field tables in `text` (`| \`field\` | type | meaning |`): (backticked names, type, meaning)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1] if len(cells) > 1 else "", cells[2] if len(cells) > 2 else ""))
    return rows


def schema_facts(doc: dict, node: dict) -> dict:
    """A schema's own keywords, then those of its `$ref` and `allOf` parts (the nearest wins); `refs` names them."""
    facts: dict = {"refs": []}

    def walk(n):
        for key, value in n.items():
            if key not in ("$ref", "allOf", "description"):
                facts.setdefault(key, value)
        if "$ref" in n:
            facts["refs"].append(n["$ref"].rsplit("/", 1)[-1])
            walk(resolve(doc, {"$ref": n["$ref"]}))
        for part in n.get("allOf", []):
            walk(part)

    walk(node)
    return facts


def table_member(doc: dict, root: str, dotted: str):
    """For a table row like `upserts[].grant`: the (schema name, member) pairs it walks through, the last being the
    row's own, and the row's member schema (None if openapi.yaml has no such member)."""
    schemas = doc["components"]["schemas"]
    parent_name, chain = root, []
    parts = dotted.split(".")
    for part in parts[:-1]:
        chain.append((parent_name, part.removesuffix("[]")))
        node = schemas[parent_name].get("properties", {}).get(part.removesuffix("[]"))
        items = schema_facts(doc, node).get("items") if node else None
        ref = schema_facts(doc, items)["refs"] if items else []
        if not ref:
            return chain, None
        parent_name = ref[0]
    name = parts[-1].removesuffix("[]")
    chain.append((parent_name, name))
    return chain, schemas[parent_name].get("properties", {}).get(name)


def type_mismatches(doc: dict, node: dict, kind: str) -> list[str]:
    """How a member's schema departs from a protocol.md type cell (`string, base64url, optional`, `integer ≥ 0`, ...)."""
    facts = schema_facts(doc, node)
    out = []
    base = kind.split(",")[0].split(" ")[0]
    want_type = {"string": "string", "boolean": "boolean", "integer": "integer", "object": "object", "timestamp": "string"}.get(base)
    if want_type is None:
        out.append(f"type cell {kind!r} starts with an unknown type (update check_openapi.py)")
    elif facts.get("type") != want_type:
        out.append(f"protocol.md says {base}, openapi.yaml type {facts.get('type')!r}")
    if base == "timestamp" and facts.get("format") != "date-time":
        out.append("protocol.md says timestamp, openapi.yaml is not a date-time")
    for word, ref in (("base64url", "Base64Url"), ("UUID", "Uuid")):
        if word in kind and ref not in facts["refs"]:
            out.append(f"protocol.md says {word}, openapi.yaml does not use {ref}")
    if "Base45" in kind and not (facts.get("pattern") and all(re.fullmatch(facts["pattern"], c) for c in BASE45)):
        out.append("protocol.md says Base45, openapi.yaml's pattern does not allow its alphabet")
    m = re.search(r"≤ ([0-9]+)", kind)
    if m and facts.get("maxLength") != int(m.group(1)):
        out.append(f"protocol.md says ≤ {m.group(1)}, openapi.yaml maxLength {facts.get('maxLength')}")
    m = re.search(r"≥ ([0-9]+)", kind)
    if m and facts.get("minimum") != int(m.group(1)):
        out.append(f"protocol.md says ≥ {m.group(1)}, openapi.yaml minimum {facts.get('minimum')}")
    return out


def bullets_after(text: str, lead: str, what: str) -> list[str]:
    """The markdown bullet list after the paragraph holding `lead`, one whitespace-normalized string per item."""
    at = text.find(lead)
    if at < 0:
        fail(f"{what}: no '{lead}' followed by a list")
    items: list[str] = []
    lines = text[at:].splitlines()
    start = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    for line in lines[start:]:
        if not line.strip() and not items:
            continue
        if line.startswith("- "):
            items.append(line[2:])
        elif items and line.startswith("  ") and line.strip():
            items[-1] += " " + line.strip()
        else:
            break
    if not items:
        fail(f"{what}: no list after '{lead}'")
    return [prose(item) for item in items]


def descriptions(node) -> str:
    """Every `description` in a part of openapi.yaml, joined."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                out.append(value)
            else:
                out.append(descriptions(value))
    elif isinstance(node, list):
        out.extend(descriptions(v) for v in node)
    return " ".join(o for o in out if o)


def check_rules(doc: dict) -> None:
    md_raw = PROTOCOL_MD.read_text(encoding="utf-8")
    md = prose(md_raw)
    oa = prose(descriptions(doc))
    comp = doc["components"]
    texts = {"protocol.md": md, "openapi.yaml": oa}
    problems: list[str] = []

    def settle() -> None:
        if problems:
            fail("protocol.md and openapi.yaml disagree with each other or with the code:\n    " + "\n    ".join(problems[:25]))

    def require(where: str, text: str, phrase: str, why: str) -> None:
        if prose(phrase) not in text:
            problems.append(f"{where} does not say \"{prose(phrase)}\" ({why})")

    # 1. Defaults that prose states, wherever it states them, agree with config.rs.
    rel = "core/src/config.rs"
    text = source(rel)
    refresh = human(config_new_default(text, "consent_refresh_interval", rel))
    certificate = human(rust_field_default(text, "RetryPolicy", "certificate_retry", rel))
    clamp = (human(rust_field_default(text, "RetryPolicy", "min_retry_after", rel)),
             human(rust_field_default(text, "RetryPolicy", "max_retry_after", rel)))
    stated = [
        (r"`Config::consent_refresh_interval` \(([^;()]*?) by default", (refresh,), "Config::consent_refresh_interval"),
        (r"`RetryPolicy::certificate_retry` \(([^;()]*?) by default", (certificate,), "RetryPolicy::certificate_retry"),
        (r"clamped to \[([^,\]]*), ([^\]]*)\]", clamp, "the Retry-After clamp (RetryPolicy min/max_retry_after)"),
        (r"longer than (\S+ \S+) \(the device clock was moved back\) is clamped to (\S+ [a-z]+)",
         (clamp[1], clamp[1]), "a persisted hold on reload (RetryPolicy::max_retry_after)"),
    ]
    for pattern, want, what in stated:
        for name, body in texts.items():
            found = re.findall(pattern, body)
            if not found:
                problems.append(f"{name} no longer states {what} (expected {', '.join(want)} in the form /{pattern}/)")
            for got in found:
                got = (got,) if isinstance(got, str) else tuple(got)
                if got != want:
                    problems.append(f"{name} says {', '.join(got)} for {what}; {rel} says {', '.join(want)}")

    # 2. The policy refusals: one documented reason per PolicyError variant, listed alike in both documents.
    rel = "core/src/consent/policy.rs"
    text = source(rel)
    variants = rust_enum_names(text, "PolicyError", rel)
    policy = comp["schemas"]["ConsentPolicy"]
    refusals = policy.get("x-footfall-refusals") or {}
    if sorted(refusals) != sorted(variants):
        problems.append(f"ConsentPolicy x-footfall-refusals names {sorted(refusals)}, {rel} PolicyError has {sorted(variants)}")
    config_md = md_section(md_raw, "GET {base}/v1/config")
    lists = {
        "protocol.md § GET /v1/config": bullets_after(config_md, "refuses the whole document", "protocol.md § GET /v1/config"),
        "openapi.yaml ConsentPolicy": bullets_after(policy["description"], "refuses the whole document", "openapi.yaml ConsentPolicy"),
    }
    for where, items in lists.items():
        for variant, phrase in refusals.items():
            if not any(prose(phrase) in item for item in items):
                problems.append(f"{where}: the refusal list lacks \"{phrase}\" ({variant})")
        for item in items:
            if not any(prose(phrase) in item for phrase in refusals.values()):
                problems.append(f"{where}: the refusal \"{item}\" is not in x-footfall-refusals (nor, then, in the code)")
    repeated = re.search(r'format!\("member \'\{key\}\' (appears twice in one object)"\)', source("core/src/consent/unique_members.rs"))
    if not repeated:
        problems.append("core/src/consent/unique_members.rs: the refusal text \"member '{key}' appears twice in one object\" changed")
    for where, items in lists.items():
        if not any("member 'X' appears twice in one object" in item for item in items):
            problems.append(f"{where}: the repeated-member refusal does not quote \"member 'X' appears twice in one object\"")
    if not re.search(r"fn check_successor.*?if next\.policy_version < self\.policy_version", text, flags=re.S):
        problems.append(f"{rel}: check_successor no longer refuses exactly the lower versions; update both documents")
    if "check_successor(" not in source("core/src/consent/service.rs"):
        problems.append("core/src/consent/service.rs no longer calls check_successor when applying a policy")
    config_op = doc["paths"][CONFIG[0]][CONFIG[1]]
    refused = serialized_fields(source("core/src/consent/status.rs"), "RefusedPolicy", "core/src/consent/status.rs")
    shape = "{" + ", ".join(refused) + "}"
    for where, body in (("protocol.md § GET /v1/config", prose(config_md)), ("openapi.yaml GET /v1/config", prose(config_op["description"]))):
        require(where, body, "The same `policyVersion` again is applied", "check_successor refuses only a lower version")
        require(where, body, "refused_policy", "consent_status() reports a refused document")
        require(where, body, f"`{shape}`", "the members of RefusedPolicy")
    settle()
    passed(
        f"policy refusals: {len(variants)} PolicyError variants, each listed in protocol.md and openapi.yaml and nothing else; "
        f"a lower policyVersion refused, the same one applied; refused_policy {shape}"
    )

    # 3. The lane states, and each lane's status members, as the code reports them.
    rel = "core/src/sync/lane.rs"
    states = rust_enum_variants(source(rel), "LaneCondition", rel)
    members = "{" + ", ".join(serialized_fields(source(rel), "LaneStatus", rel)) + "}"
    lane_doc = doc.get("x-footfall-lane-states") or {}
    if lane_doc.get("values") != states:
        problems.append(f"openapi.yaml x-footfall-lane-states is {lane_doc.get('values')}, {rel} LaneCondition is {states}")
    m = re.search(r"`state` is one of ((?:`\w+`(?:, or |, | or )?)+)", md)
    listed = re.findall(r"`(\w+)`", m.group(1)) if m else []
    if listed != states:
        problems.append(f"protocol.md: \"`state` is one of ...\" lists {listed}, {rel} has {states}")
    status_rs = source("core/src/status.rs")
    for lane in ("event_lane", "essential_lane"):
        if not re.search(rf"pub {lane}: LaneStatus", status_rs):
            problems.append(f"core/src/status.rs has no `{lane}: LaneStatus`; update both documents")
        for where, body in (("protocol.md", md), ("openapi.yaml x-footfall-lane-states", prose(lane_doc.get("description", "")))):
            require(where, body, f"`{lane}`", "status() reports it")
    for where, body in (("protocol.md", md), ("openapi.yaml x-footfall-lane-states", prose(lane_doc.get("description", "")))):
        require(where, body, f"`{members}`", f"the members of LaneStatus in {rel}")
    for state in states:
        require("openapi.yaml x-footfall-lane-states", prose(lane_doc.get("description", "")), f"`{state}`", "every state is explained")
    settle()
    passed(f"lane states {states} and {members} agree with lane.rs and status.rs in both documents")

    # 4. Unknown members: ignored everywhere except inside a consent record, which is closed.
    schemas = comp["schemas"]
    if schemas["ConsentRecord"].get("additionalProperties") is not False:
        problems.append("openapi.yaml ConsentRecord must keep additionalProperties: false (a record is closed)")
    for name, schema in schemas.items():
        if name != "ConsentRecord" and schema.get("x-footfall-exhaustive") is True and schema.get("additionalProperties") is not True:
            problems.append(f"openapi.yaml {name}: a request schema stays open (additionalProperties: true); only ConsentRecord is closed")
    versioning = prose(md_section(md_raw, "Versioning"))
    records_md = prose(md_section(md_raw, "POST {base}/v1/consent-records"))
    require("protocol.md § Versioning", versioning, "MUST ignore JSON members they do not know", "the rule")
    require("protocol.md § Versioning", versioning, "except inside a consent record", "the one exception")
    require("protocol.md § Versioning", versioning, "gets `400` for the request, like a hash mismatch", "what the exception means")
    require("protocol.md § POST /v1/consent-records", records_md, "the one exception to ignoring unknown members", "the same rule")
    require("openapi.yaml info", prose(doc["info"]["description"]), "servers MUST ignore members they do not know", "the rule")
    require("openapi.yaml info", prose(doc["info"]["description"]), "The one exception is `ConsentRecord`", "the one exception")
    require("openapi.yaml ConsentRecord", prose(schemas["ConsentRecord"]["description"]), "the one exception to ignoring unknown members", "the same rule")
    settle()
    passed("unknown members: ignored everywhere except inside a consent record (closed, additionalProperties: false), in both documents")

    # 5. Transport rules that both documents state, against the code that enforces them.
    endpoint = source("core/src/sync/endpoint.rs")
    if "contains('@')" not in endpoint or "carries credentials" not in endpoint:
        problems.append("core/src/sync/endpoint.rs no longer refuses credentials in the endpoint URL; update both documents")
    transport = source("core/src/sync/reqwest_transport.rs")
    if "headers.insert(" not in transport or ".append(" in transport:
        problems.append("core/src/sync/reqwest_transport.rs no longer sets headers (insert, never append); update both documents")
    require("protocol.md § Transport", prose(md_section(md_raw, "Transport")), "credentials (`https://user:pw@host`)", "refused at start-up")
    require("openapi.yaml servers", prose(doc["servers"][0]["description"]), "credentials (`https://user:pw@host`)", "refused at start-up")
    basic = prose(comp["securitySchemes"]["basicAuth"]["description"])
    require("protocol.md § Authentication", prose(md_section(md_raw, "Authentication")), "at most one `Authorization` header", "the API key is the only credential")
    require("openapi.yaml basicAuth", basic, "at most one `Authorization` header", "the API key is the only credential")
    require("protocol.md § Request headers", prose(md_section(md_raw, "Request headers")), "never appends", "a transport sets headers")
    require("openapi.yaml basicAuth", basic, "MUST set headers, never append them", "a transport sets headers")

    policy_rs = source("core/src/sync/verdict.rs")
    if not re.search(r"Err\(\w+ @ TransportError::Certificate\(_\)\)\s*=>\s*return Verdict::CertificateInvalid", policy_rs):
        problems.append("core/src/sync/verdict.rs no longer gives a refused certificate its own verdict; update both documents")
    problems_rel = "core/src/sync/transport.rs"
    known = [v for v in rust_enum_names(source(problems_rel), "CertificateProblem", problems_rel) if v != "Other"]
    if sorted(known) != sorted(CERTIFICATE_PROBLEMS):
        problems.append(f"{problems_rel} CertificateProblem is {known}; check_openapi.py and both documents name {sorted(CERTIFICATE_PROBLEMS)}")
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[1:-1]] for r in md_section(md_raw, "Responses").splitlines() if r.startswith("| **")}
    no_answer = next((cells for key, cells in rows.items() if key.startswith("**no answer**")), None)
    cert_row = next((cells for key, cells in rows.items() if key.startswith("**certificate refused**")), None)
    if not no_answer or no_answer[1] != "retry" or "other than a refused certificate" not in no_answer[0]:
        problems.append("protocol.md § Responses: the 'no answer' row must retry and except a refused certificate")
    if not cert_row or cert_row[1] != "pause":
        problems.append("protocol.md § Responses: no '**certificate refused**' row with action pause")
    default_batch = prose(resolve(doc, batch_op(doc)["responses"]["default"])["description"])
    for where, body in (("protocol.md § Responses", prose(" ".join(cert_row or []))), ("openapi.yaml POST /v1/batch default", default_batch)):
        for variant, words in CERTIFICATE_PROBLEMS.items():
            require(where, body, words, f"CertificateProblem::{variant}")
        require(where, body, "`certificate_invalid`", "the lane state")
    require("openapi.yaml POST /v1/batch default", default_batch, "other than a refused certificate", "other no-answer failures retry")
    require("protocol.md § The essential lane", prose(md_section(md_raw, "The essential lane")), "`certificate_invalid`", "the essential lane pauses alike")
    require("openapi.yaml EssentialOtherStatus", prose(comp["responses"]["EssentialOtherStatus"]["description"]), "`certificate_invalid`", "the essential lane pauses alike")

    if not re.search(r"present\(e\.get\(\"message\"\)\)\.or_else\(\|\| present\(e\.get\(\"code\"\)\)\)", policy_rs):
        problems.append("core/src/sync/verdict.rs: server_reason no longer treats a null error.message/error.code as absent; update both documents")
    require("protocol.md § Versioning", versioning, "a member whose value is `null` counts as absent", "the SDK reading server JSON")
    require("protocol.md § Error body", prose(md_section(md_raw, "Responses")), "A `null` counts as absent", "error.message: null")
    require("openapi.yaml info", prose(doc["info"]["description"]), "a member whose value is `null` counts as absent", "the SDK reading server JSON")
    require("openapi.yaml ErrorResponse", prose(schemas["ErrorResponse"]["description"]), "A member whose value is `null` counts as absent", "error.message: null")

    settle()
    passed(
        f"prose defaults agree with config.rs in both documents (policy refresh {refresh}, Retry-After clamp "
        f"[{clamp[0]}, {clamp[1]}], certificate wait {certificate}); transport rules (no credentials in the URL, one "
        f"Authorization header set never appended, {len(known)} refused-certificate problems pause, null counts as absent) "
        f"agree with the code"
    )

    # 6. Every endpoint protocol.md names is an operation of openapi.yaml and every /v1 operation is named there;
    #    § Reserved endpoints lists exactly the reserved ones.
    ops = {(p, m) for p, item in doc["paths"].items() for m in item if m in HTTP_METHODS}
    path_re = r"(?:\{base\})?(/v[0-9]+(?:/[a-z0-9_-]+)+)"
    method_re = r"\b(GET|HEAD|POST|PUT|PATCH|DELETE) "
    named = {(p, "get" if m == "HEAD" else m.lower()) for m, p in re.findall(method_re + path_re, md_raw)}
    for p, m in sorted(named - ops):
        problems.append(f"protocol.md names {m.upper()} {p}, which openapi.yaml does not document")
    for p in sorted(set(re.findall(path_re, md_raw)) - set(doc["paths"])):
        problems.append(f"protocol.md names the path {p}, which openapi.yaml does not document")
    for p, m in sorted(op for op in ops if re.match(r"/v[0-9]+/", op[0]) and op not in named):
        problems.append(f"openapi.yaml documents {m.upper()} {p}, which protocol.md never names")
    listed = {(p, m.lower()) for m, p in re.findall(r"^- `" + method_re + path_re + "`", md_section(md_raw, "Reserved endpoints"), flags=re.M)}
    if listed != RESERVED:
        problems.append(f"protocol.md § Reserved endpoints lists {sorted(listed)}, openapi.yaml reserves {sorted(RESERVED)}")
    settle()
    passed(f"endpoints: the {len(named)} operations protocol.md names are exactly the /v1 operations of openapi.yaml; "
           f"§ Reserved endpoints lists exactly the reserved ones")

    # 7. The wallet (protocol.md § The wallet): headers, Date, statuses, example schemas, field tables and values.
    wallet_md = md_section(md_raw, "The wallet")
    intro = prose(wallet_md.split("\n### ", 1)[0])
    for phrase, why in (
        ("not gated by analytics consent", "a service the shopper asked for"),
        ("`X-Footfall-Anonymous-Id` always", "the holder on every wallet request"),
        ("`X-Footfall-User-Id` when the app called `identify()`", "the holder after identify()"),
        ("(`Date` is required on wallet answers)", "the SDK corrects its clock with it"),
    ):
        require("protocol.md § The wallet", intro, phrase, why)
    wallet_ops = {op for op in ops if op[0].startswith("/v1/wallet/")}
    if wallet_ops != set(WALLET):
        problems.append(f"openapi.yaml wallet operations are {sorted(wallet_ops)}, check_openapi.py knows {sorted(WALLET)}")
    for path, method in sorted(ops):
        op = doc["paths"][path][method]
        params = {resolve(doc, p)["name"]: resolve(doc, p) for p in op.get("parameters", [])}
        where = f"openapi.yaml {method.upper()} {path}"
        holders = {"X-Footfall-Anonymous-Id": True, "X-Footfall-User-Id": False}
        for name, required in holders.items():
            param = params.get(name)
            if (path, method) not in WALLET:
                if param:
                    problems.append(f"{where} has the wallet's header {name}")
            elif not param or param.get("in") != "header" or bool(param.get("required")) != required:
                problems.append(f"{where}: header {name} must be a {'required' if required else 'optional'} header parameter")
    def schema_name(node: dict) -> str:
        return node.get("$ref", "").rsplit("/", 1)[-1]

    for path, method in WALLET:
        op = doc["paths"][path][method]
        where = f"openapi.yaml {method.upper()} {path}"
        heading = f"{method.upper()} {{base}}{path}"
        sub = md_subsection(wallet_md, heading)
        desc = prose(op.get("description", ""))
        require(where, desc, "not gated by analytics consent", "protocol.md § The wallet")
        require(where, desc, "`Date` is required on every wallet answer", "protocol.md § The wallet")
        for key, raw in op["responses"].items():
            if "$ref" in raw:
                continue  # shared with the rest of the essential lane
            date = resolve(doc, (raw.get("headers") or {}).get("Date") or {})
            if date.get("required") is not True:
                problems.append(f"{where} response {key}: no required Date header (protocol.md: required on wallet answers)")
        for code in sorted(set(re.findall(r"`([1-5][0-9]{2})\b", sub))):
            if code not in op["responses"]:
                problems.append(f"{where}: protocol.md § {heading} names status {code}, openapi.yaml has no explicit response for it")
        blocks = re.findall(r"^```json[ \t]+schema=(\w+)", sub, flags=re.M)
        want = [schema_name(op["requestBody"]["content"]["application/json"]["schema"])] if "requestBody" in op else []
        ok_schema = schema_name(resolve(doc, op["responses"]["200"])["content"]["application/json"]["schema"])
        inline = re.search(r"`200 (\{[^`]*\})`", sub)
        if inline:
            keys = re.findall(r'"(\w+)"', inline.group(1))
            if sorted(keys) != sorted(comp["schemas"][ok_schema].get("required", [])):
                problems.append(f"{where}: protocol.md answers `200 {inline.group(1)}`, openapi.yaml's 200 is {ok_schema} "
                                f"with {sorted(comp['schemas'][ok_schema].get('required', []))}")
        else:
            want.append(ok_schema)
        if blocks != want:
            problems.append(f"protocol.md § {heading}: its examples are schema={blocks}, openapi.yaml uses {want}")
        if (path, method) in ESSENTIAL:
            require(f"protocol.md § {heading}", prose(sub), "essential lane", "it uses the batch status table")

    # The feed: 200 applies, 410 starts over, anything else keeps (GET /v1/config's handling); cursor, since, ETag.
    feed_md = md_subsection(wallet_md, "GET {base}/v1/wallet/changes")
    feed = doc["paths"][WALLET_CHANGES[0]][WALLET_CHANGES[1]]
    m = re.search(r"anything but ((?:`?[0-9]{3}`?(?:, | and )?)+) keeps the wallet as it is", prose(feed_md))
    handled = {int(c) for c in re.findall(r"[0-9]{3}", m.group(1))} if m else set()
    if not handled:
        problems.append("protocol.md § GET {base}/v1/wallet/changes no longer says \"anything but ... keeps the wallet as it is\"")
    wants = {200: "apply", 304: "keep", 410: "start-over"}
    if handled != set(wants):
        problems.append(f"protocol.md § GET {{base}}/v1/wallet/changes handles {sorted(handled)}, check_openapi.py knows {sorted(wants)}")
    for status in range(100, 600):
        got = documented_action(doc, feed["responses"], status)
        if got != wants.get(status, "keep"):
            problems.append(f"openapi.yaml GET {WALLET_CHANGES[0]}: status {status} is {got}, protocol.md: {wants.get(status, 'keep')}")
    params = {(resolve(doc, p)["in"], resolve(doc, p)["name"]): resolve(doc, p) for p in feed.get("parameters", [])}
    cursor_row = next((r for r in md_table(feed_md) if r[0] == ["cursor"]), None)
    limit = re.search(r"≤ ([0-9]+)", cursor_row[1]) if cursor_row else None
    since = params.get(("query", "since"))
    if "`?since=CURSOR`" not in feed_md or not since or since.get("required"):
        problems.append("the feed's `since` must be named in protocol.md and be an optional query parameter in openapi.yaml")
    elif not limit or schema_facts(doc, since["schema"]).get("maxLength") != int(limit.group(1)):
        problems.append(f"GET {WALLET_CHANGES[0]}: `since` maxLength {schema_facts(doc, since['schema']).get('maxLength')}, "
                        f"protocol.md's cursor is ≤ {limit.group(1) if limit else '?'}")
    inm = params.get(("header", "If-None-Match"))
    if not inm or inm.get("required"):
        problems.append(f"GET {WALLET_CHANGES[0]}: If-None-Match must be an optional header parameter")
    etag = resolve(doc, (resolve(doc, feed["responses"]["200"]).get("headers") or {}).get("ETag") or {})
    require("protocol.md § GET {base}/v1/wallet/changes", prose(feed_md), "without one the device simply always gets `200`", "ETag is optional")
    if not etag or etag.get("required") is not False:
        problems.append(f"GET {WALLET_CHANGES[0]} 200: ETag must be documented and optional (SHOULD; without one, always 200)")
    binding = "`d` + base64url(first 12 bytes of SHA-256(these bytes))"
    require("protocol.md § GET {base}/v1/wallet/changes", prose(feed_md), binding, "a display document is bound to its grant")
    require("openapi.yaml WalletUpsert.display", prose(comp["schemas"]["WalletUpsert"]["properties"]["display"]["description"]),
            binding, "a display document is bound to its grant")

    # The field tables: every row is a member with the stated type, `optional` exactly where it is not required,
    # and every member of the schemas they describe has a row.
    tables = ((feed_md, "WalletChanges"), (md_subsection(wallet_md, "POST {base}/v1/wallet/redemptions"), "WalletRedemption"))
    rows_checked = 0
    for text, root in tables:
        covered: dict[str, set] = {}
        for names, kind, _ in md_table(text):
            for dotted in names:
                chain, node = table_member(doc, root, dotted)
                for parent_name, name in chain:
                    covered.setdefault(parent_name, set()).add(name)
                parent = comp["schemas"][parent_name]
                what = f"protocol.md row `{dotted}` ({parent_name}.{name})"
                if node is None:
                    problems.append(f"{what}: openapi.yaml has no such member")
                    continue
                rows_checked += 1
                if dotted.endswith("[]"):
                    if schema_facts(doc, node).get("type") != "array":
                        problems.append(f"{what}: not an array in openapi.yaml")
                    node = schema_facts(doc, node)["items"]
                if kind:
                    problems += [f"{what}: {p}" for p in type_mismatches(doc, node, kind)]
                    optional = "optional" in kind
                    if optional == (name in parent.get("required", [])):
                        problems.append(f"{what}: protocol.md says {'optional' if optional else 'always'}, openapi.yaml "
                                        f"{'requires' if name in parent.get('required', []) else 'does not require'} it")
        for parent_name, names in covered.items():
            missing = sorted(set(comp["schemas"][parent_name]["properties"]) - names)
            if missing:
                problems.append(f"openapi.yaml {parent_name} has members protocol.md's table does not list: {missing}")

    # Tombstones: the members and reasons the row names, storeId and device required for `redeemed`.
    tomb = comp["schemas"]["WalletTombstone"]
    row = next((r for r in md_table(feed_md) if r[0] == ["tombstones[]"]), None)
    reasons = re.search(r"`reason`, one of ((?:`\w+`(?:, | or )?)+)", row[2]) if row else None
    if not reasons:
        problems.append("protocol.md § GET {base}/v1/wallet/changes: the `tombstones[]` row no longer lists `reason`, one of ...")
    else:
        # The list runs on into the next member (`..., `withdrawn`, `at` (timestamp)`): it ends before a member name.
        values = list(itertools.takewhile(lambda v: v not in tomb["properties"], re.findall(r"`(\w+)`", reasons.group(1))))
        if values != tomb["properties"]["reason"]["enum"]:
            problems.append(f"WalletTombstone.reason is {tomb['properties']['reason']['enum']}, protocol.md lists {values}")
        if set(re.findall(r"`(\w+)`", row[2])) != set(tomb["properties"]) | set(tomb["properties"]["reason"]["enum"]):
            problems.append(f"WalletTombstone members {sorted(tomb['properties'])} differ from those the `tombstones[]` row names")
    require("protocol.md § GET {base}/v1/wallet/changes", prose(feed_md), "for `redeemed`, the `storeId` and `device`", "what a redeemed tombstone carries")
    validator = Schemas(doc)
    tomb_ptr = pointer("components", "schemas", "WalletTombstone")
    redeemed = {"couponId": "c", "serial": "s", "reason": "redeemed", "at": "2026-12-05T09:12:44Z", "storeId": "s1", "device": "d"}
    bare = {k: v for k, v in redeemed.items() if k not in ("storeId", "device")}
    if validator.errors(tomb_ptr, redeemed) or not validator.errors(tomb_ptr, bare) or validator.errors(tomb_ptr, {**bare, "reason": "revoked"}):
        problems.append("openapi.yaml WalletTombstone: a `redeemed` tombstone must require storeId and device, and only that one")

    # Redemptions: at most 100 per request; results `accepted`, `double_spend` or `rejected` (with `reason`).
    red_md = md_subsection(wallet_md, "POST {base}/v1/wallet/redemptions")
    red_op = doc["paths"][WALLET_REDEMPTIONS[0]][WALLET_REDEMPTIONS[1]]
    m = re.search(r"at most ([0-9]+) per request", prose(red_md))
    most = int(m.group(1)) if m else None
    if most is None or comp["schemas"]["WalletRedemptions"]["properties"]["redemptions"].get("maxItems") != most \
            or red_op["x-footfall-defaults"].get("maxRedemptionsPerRequest") != most:
        problems.append(f"protocol.md: at most {most} redemptions per request; openapi.yaml WalletRedemptions.redemptions.maxItems and "
                        f"x-footfall-defaults.maxRedemptionsPerRequest must say the same")
    m = re.search(r"`status` is (.*?) \(with `reason`", prose(red_md))
    statuses = re.findall(r"`(\w+)`", m.group(1)) if m else []
    result = comp["schemas"]["WalletRedemptionResult"]
    if statuses != result["properties"]["status"]["enum"]:
        problems.append(f"WalletRedemptionResult.status is {result['properties']['status']['enum']}, protocol.md lists {statuses}")
    res_ptr = pointer("components", "schemas", "WalletRedemptionResult")
    rid = "01a20301-2b3c-7d4e-8f5a-6b7c8d9e0f1a"
    if (not validator.errors(res_ptr, {"redemptionId": rid, "status": "rejected"})
            or validator.errors(res_ptr, {"redemptionId": rid, "status": "rejected", "reason": "expired"})
            or validator.errors(res_ptr, {"redemptionId": rid, "status": "accepted"})):
        problems.append("openapi.yaml WalletRedemptionResult: `rejected` must require `reason`, and only `rejected`")

    # The essential lane's limits hold for each of its uploads.
    m = re.search(r"at most ([0-9]+) records and ([0-9][0-9 ]*) bytes uncompressed per request", prose(md_section(md_raw, "The essential lane")))
    if not m:
        problems.append("protocol.md § The essential lane no longer states its limits (\"at most N records and B bytes uncompressed per request\")")
    else:
        items, size = int(m.group(1)), int(m.group(2).replace(" ", ""))
        for (path, method), key in ((RECORDS, "maxRecordsPerRequest"), (WALLET_CLIPS, "maxClipsPerRequest"), (WALLET_REDEMPTIONS, "maxRedemptionsPerRequest")):
            defaults = doc["paths"][path][method].get("x-footfall-defaults") or {}
            if defaults.get(key) != items or defaults.get("maxRequestBytesUncompressed") != size:
                problems.append(f"openapi.yaml {method.upper()} {path} x-footfall-defaults: {key} {defaults.get(key)}, maxRequestBytesUncompressed "
                                f"{defaults.get('maxRequestBytesUncompressed')}; § The essential lane: {items} and {size}")

    # The collector's table serves exactly the stable operations not marked as waiting for it.
    collector_md = md_section(md_raw, "The reference collector")
    served = set(re.findall(path_re, "\n".join(r.split("|")[1] for r in collector_md.splitlines() if r.startswith("| "))))
    for path, method in sorted(STABLE):
        support = doc["paths"][path][method].get("x-footfall-sdk-support")
        if (support in NOT_SERVED_BY_COLLECTOR) == (path in served):
            problems.append(f"{method.upper()} {path} is {support!r} but protocol.md's collector table "
                            f"{'serves' if path in served else 'does not serve'} it; update openapi.yaml and check_openapi.py")
    if not re.search(r"^\| any other path, including the reserved endpoints \| `404 not_found` \|", collector_md, flags=re.M):
        problems.append("protocol.md § The reference collector: no row \"any other path, including the reserved endpoints | `404 not_found`\"")
    settle()
    passed(
        f"wallet: holder headers on exactly its {len(WALLET)} operations, Date required on their answers, the statuses and example "
        f"schemas each subsection names, the feed's table (200 apply, 304 keep, 410 start over, else keep), since/cursor "
        f"≤ {limit.group(1) if limit else '?'}, optional ETag, {rows_checked} table rows (type, optional), tombstone reasons, "
        f"result statuses, limits; the collector serves none of it yet"
    )


def core_paths() -> dict[str, list[str]]:
    """Protocol paths named as string literals outside comments in core/src: path -> files."""
    found: dict[str, list[str]] = {}
    for file in sorted((ROOT / "core" / "src").rglob("*.rs")):
        for line in file.read_text(encoding="utf-8").splitlines():
            code = line.split("//", 1)[0]
            for path in re.findall(r'"(/v[0-9]+/[a-z0-9/_-]+)"', code):
                rel = str(file.relative_to(ROOT))
                if rel not in found.setdefault(path, []):
                    found[path].append(rel)
    return found


def _struct_fields(text: str, name: str, rel: str, serde_flag: str) -> list[tuple[str, bool]]:
    """(field, whether a `#[serde(...)]` line naming `serde_flag` precedes it) of `pub struct name { ... }`."""
    m = re.search(rf"^pub struct {name} \{{(.*?)^\}}", text, flags=re.S | re.M)
    if not m:
        fail(f"{rel}: struct {name} not found (update check_openapi.py if it moved)")
    out, flagged = [], False
    for line in m.group(1).splitlines():
        line = line.strip()
        if line.startswith("#[serde(") and serde_flag in line:
            flagged = True
        fm = re.match(r"pub (\w+):", line)
        if fm:
            out.append((fm.group(1), flagged))
            flagged = False
    return out


def dig(node, *keys):
    """node[k1][k2]..., or None where a key is missing."""
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def b64url_len(n: int) -> int:
    """Characters of n bytes as unpadded base64url."""
    return (4 * n + 2) // 3


def private_struct_fields(text: str, name: str, rel: str) -> list[str]:
    """Field names of a (private) `struct name { ... }`, in declaration order."""
    m = re.search(rf"^(?:pub )?struct {name} \{{(.*?)^\}}", text, flags=re.S | re.M)
    if not m:
        fail(f"{rel}: struct {name} not found (update check_openapi.py if it moved)")
    return re.findall(r"^\s*(?:pub )?(\w+):", m.group(1), flags=re.M)


def rust_struct_fields(text: str, name: str, rel: str) -> list[tuple[str, bool]]:
    """(field, has #[serde(default)]) of `pub struct name { ... }`, in declaration order."""
    return _struct_fields(text, name, rel, "default")


def rust_enum_names(text: str, name: str, rel: str) -> list[str]:
    """Variant names of `pub enum name { ... }`, as written."""
    m = re.search(rf"^pub enum {name} \{{(.*?)^\}}", text, flags=re.S | re.M)
    if not m:
        fail(f"{rel}: enum {name} not found (update check_openapi.py if it moved)")
    return re.findall(r"^\s*([A-Z]\w*)\s*(?:[,{(]|$)", m.group(1), flags=re.M)


def rust_enum_variants(text: str, name: str, rel: str) -> list[str]:
    """Variant names of `pub enum name { ... }` in snake_case (serde `rename_all = "snake_case"`/`"lowercase"`)."""
    return [re.sub(r"(?<!^)([A-Z])", r"_\1", v).lower() for v in rust_enum_names(text, name, rel)]


def serialized_fields(text: str, name: str, rel: str) -> list[str]:
    """Fields of `pub struct name { ... }` that serde writes (not `#[serde(skip_serializing)]`)."""
    return [field for field, skipped in _struct_fields(text, name, rel, "skip_serializing") if not skipped]


# --------------------------------------------------------------------------------------------- step 2: the SDK


class Capture:
    """A tiny collector that records every request and accepts every batch (or gives `batch_answer` to each)."""

    def __init__(self, batch_answer: tuple[int, dict] | None = None):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.batch_answer = batch_answer
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
                extra = {}
                if self.command == "POST" and self.path == BATCH[0] and capture.batch_answer:
                    status, extra = capture.batch_answer
                    answer = {"error": {"code": "overloaded", "message": "come back later"}}
                out = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
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


def run_cli_status(binary: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        fail(f"`footfall {args[0]}` did not finish within {PROCESS_TIMEOUT_S} s")


def check_sdk_hold(doc: dict, binary: Path) -> None:
    """protocol.md § Responses: a Retry-After holds the lane, not even an explicit flush sends, and the hold
    outlives the process. The capture server answers every batch 503 with the documented maximum Retry-After."""
    defaults = batch_op(doc)["x-footfall-defaults"]
    hold_s = defaults["retryAfterMaxSeconds"]
    states = doc["x-footfall-lane-states"]["values"]
    with tempfile.TemporaryDirectory(prefix="footfall-openapi-hold-") as data_dir, Capture((503, {"Retry-After": str(hold_s * 10)})) as capture:
        common = ["--data-dir", data_dir, "--endpoint", capture.url, "--api-key", API_KEY]
        run_cli(binary, "consent", "grant", "--data-dir", data_dir, "analytics")
        run_cli(binary, "track", *common, "--name", EVENT_NAME, "--count", "1")
        flushes = []
        for attempt in (1, 2):
            proc = run_cli_status(binary, "flush", *common, "--timeout-s", "5")
            with capture.lock:
                batches = sum(1 for r in capture.requests if r["path"] == BATCH[0])
            flushes.append(batches)
            if proc.returncode == 0 or "the server asked to wait until" not in proc.stderr:
                fail(f"`footfall flush` #{attempt} under a {hold_s * 10} s Retry-After exited {proc.returncode} without "
                     f"\"the server asked to wait until\": {proc.stderr.strip() or proc.stdout.strip()}")
        status = json.loads(run_cli(binary, "status", "--data-dir", data_dir))
    if flushes[0] < 1:
        fail("the SDK sent no batch to the capture server that answers 503")
    if flushes[1] != flushes[0]:
        fail(f"a new process sent {flushes[1] - flushes[0]} batch(es) while the server's hold ran (documented: not even an explicit flush sends, in this process or the next)")
    lane = status.get("event_lane") or {}
    if "held" not in states or lane.get("state") != "held" or not lane.get("until"):
        fail(f"`footfall status` event_lane is {lane}, expected state held (one of {states}) with until")
    held_ms = epoch_ms(lane["until"]) - int(time.time() * 1000)
    if not 0 < held_ms <= hold_s * 1000:
        fail(f"event_lane.until {lane['until']} is {held_ms} ms away; Retry-After is clamped to {hold_s} s")
    passed(
        f"server hold: a {hold_s * 10} s Retry-After held the event lane for {hold_s} s (the clamp); a second `footfall flush` "
        f"process sent nothing and said so; status() reports event_lane held until {lane['until']}"
    )


def check_sdk_traffic(doc: dict, strict: Schemas, binary: Path) -> None:
    op = batch_op(doc)
    with tempfile.TemporaryDirectory(prefix="footfall-openapi-sdk-") as data_dir, Capture() as capture:
        common = ["--data-dir", data_dir, "--endpoint", capture.url, "--api-key", API_KEY]
        # The CLI gates on consent like an app: the shopper says yes first.
        run_cli(binary, "consent", "grant", "--data-dir", data_dir, "analytics")
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

    sent_ops = {(p, m) for p, m in STABLE if doc["paths"][p][m].get("x-footfall-sdk-support") == "sent"}
    messages = []
    others = 0
    for n, req in enumerate(requests, 1):
        what = f"SDK request {n} ({req['method']} {req['path']})"
        key = (req["path"], req["method"].lower())
        if key not in sent_ops:
            fail(f"{what}: the SDK sent a request the document does not describe as sent (x-footfall-sdk-support: sent is on {sorted(sent_ops)})")
        headers: dict[str, str] = {}
        for name, value in req["headers"]:
            if name.lower() in headers:
                fail(f"{what}: header {name} sent twice")
            headers[name.lower()] = value
        if key != BATCH:
            check_other_request(doc, strict, key, req, headers, expected_auth, what)
            others += 1
            continue
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
        f"real SDK traffic: {len(requests)} request(s) ({others} not batches), {len(messages)} messages ({resent} re-sent identically): "
        f"method, path, headers (no undocumented one), gzip, body schema with no undocumented field, seq order, v7 ids"
    )


def check_other_request(doc: dict, strict: Schemas, key: tuple, req: dict, headers: dict, expected_auth: str, what: str) -> None:
    """A non-batch request the SDK sends (today: GET /v1/config): documented headers only, right values, no body."""
    path, method = key
    op = doc["paths"][path][method]
    params = {}
    for i, raw_param in enumerate(op.get("parameters", [])):
        param = resolve(doc, raw_param)
        if param.get("in") == "header":
            params[param["name"].lower()] = (param, target_pointer(raw_param, "paths", path, method, "parameters", str(i)))
    transport = {h.lower() for h in op.get("x-footfall-transport-headers", {}).get("names", [])}
    undocumented = sorted(set(headers) - set(params) - transport - {"authorization", "content-type"})
    if undocumented:
        fail(f"{what}: sends headers openapi.yaml does not document for it: {undocumented}")
    for name, (param, param_ptr) in params.items():
        if name not in headers:
            if param.get("required"):
                fail(f"{what}: header {param['name']} is documented as always sent but is missing")
            continue
        strict.check(param_ptr + "/schema", headers[name], f"{what}: header {param['name']}")
    if headers.get("authorization") != expected_auth:
        fail(f"{what}: Authorization {headers.get('authorization')!r}, documented {expected_auth!r}")
    if "requestBody" not in op and req["body"]:
        fail(f"{what}: sends a body; none is documented")


# --------------------------------------------------------------------------------------------- step 3: the collector


class Collector:
    def __init__(self, binary: Path, db: Path, *extra: str):
        self.binary = binary
        self.db = db
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []

    def __enter__(self):
        self.proc = subprocess.Popen(
            [str(self.binary), "collector", "serve", "--listen", "127.0.0.1:0", "--db", str(self.db), "--api-key", API_KEY, *self.extra],
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


def exchange(doc: dict, schemas: Schemas, base: str, case: tuple):
    """Sends one case and checks the answer against the document: status, documented headers, body schema, error
    code among the documented ones, and `expect` fields. Returns (headers, parsed body)."""
    name, method, path, body, headers, status, code, expect = case
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
    if method == "HEAD" or got == 304:
        if raw:
            fail(f"{what}: answered with a body")
        return resp_headers, None
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
    return resp_headers, value


def request_example(doc: dict, path_method: tuple, name: str) -> dict:
    example = doc["paths"][path_method[0]][path_method[1]]["requestBody"]["content"]["application/json"]["examples"][name]
    return copy.deepcopy(resolve(doc, example)["value"])


def fresh_records(doc: dict) -> dict:
    """The documented records example, re-keyed and re-sealed here from the documented canonical form."""
    body = request_example(doc, RECORDS, "promptThenDecision")
    prev = GENESIS
    for i, record in enumerate(body["records"]):
        record["record_id"] = uuid7(record["timestamp_ms"])
        body["records"][i] = record = seal(doc, record, prev)
        prev = record["hash"]
    return body


def strong_etag(raw: bytes) -> str:
    return '"' + hashlib.sha256(raw).hexdigest() + '"'


def read_jsonl(binary: Path, *args: str) -> list[dict]:
    return [json.loads(line) for line in run_cli(binary, *args).splitlines() if line.strip()]


def check_collector(doc: dict, schemas: Schemas, binary: Path) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()}
    gz = {**auth, "Content-Type": "application/json", "Content-Encoding": "gzip", "X-Footfall-Protocol": "1"}
    no_auth = {k: v for k, v in gz.items() if k != "Authorization"}
    good = fresh_batch(doc)
    n = len(good["batch"])
    good_body = gzip.compress(json.dumps(good).encode())
    plain = fresh_batch(doc)
    bad = copy.deepcopy(plain)
    bad["batch"][0]["timestamp"] = "yesterday"
    too_big = json.dumps({"batch": [], "padding": "x" * (1024 * 1024 + 1)}).encode()

    records = fresh_records(doc)
    records_body = gzip.compress(json.dumps(records).encode())
    example_records = request_example(doc, RECORDS, "promptThenDecision")
    tampered = fresh_records(doc)
    tampered["records"][1]["decisions"] = {k: not v for k, v in tampered["records"][1]["decisions"].items()}
    victim = tampered["records"][1]["record_id"]
    # A closed record: a member the documented table does not list makes it invalid (protocol.md § Versioning).
    unlisted = fresh_records(doc)
    unlisted["records"][0]["note"] = "not a listed member"
    # A record whose predecessor the server never stored (refused on its own, never re-sent) is still accepted.
    orphan = fresh_records(doc)
    orphan["records"] = orphan["records"][1:]
    orphan_body = gzip.compress(json.dumps(orphan).encode())
    # Unknown members in a batch are ignored, at any depth.
    open_batch = fresh_batch(doc)
    open_batch["x_server_hint"] = {"any": "thing"}
    open_batch["batch"][0]["x_extra"] = [1, 2]
    open_batch["batch"][0]["context"]["x_device"] = {"model": "x"}
    deletion = request_example(doc, DELETION, "afterReset")
    deletion["requestId"] = str(uuid.uuid4())
    deletion_body = gzip.compress(json.dumps(deletion).encode())
    no_ids = {k: v for k, v in deletion.items() if k != "anonymousIds"}
    config_v1 = json.dumps(resolve(doc, doc["components"]["examples"]["RemoteConfig"])["value"]).encode()
    config_v2 = json.loads(config_v1)
    config_v2["consent"]["policyVersion"] += 1
    config_v2["consent"]["prompts"][0]["enabled"] = False
    config_v2 = json.dumps(config_v2, indent=2).encode()
    acknowledged = {"status": "acknowledged", "requestId": deletion["requestId"]}

    cases = [
        # name, method, path, body, headers, status, error code or None, expected body fields or None
        ("valid gzip batch", "POST", "/v1/batch", good_body, gz, 200, None, {"accepted": n, "duplicates": 0}),
        ("the same batch again", "POST", "/v1/batch", good_body, gz, 200, None, {"accepted": 0, "duplicates": n}),
        ("identity-encoded batch", "POST", "/v1/batch", json.dumps(plain).encode(),
         {**auth, "Content-Type": "application/json"}, 200, None, {"accepted": n, "duplicates": 0}),
        ("batch with unknown members at every level", "POST", "/v1/batch", gzip.compress(json.dumps(open_batch).encode()), gz, 200,
         None, {"accepted": len(open_batch["batch"]), "duplicates": 0}),
        ("batch with an invalid message", "POST", "/v1/batch", gzip.compress(json.dumps(bad).encode()), gz, 400, "invalid_event", None),
        ("non-JSON body", "POST", "/v1/batch", gzip.compress(b"this is not json"), gz, 400, "invalid_batch", None),
        ("no Authorization", "POST", "/v1/batch", good_body, no_auth, 401, "unauthorized", None),
        ("wrong API key", "POST", "/v1/batch", good_body,
         {**gz, "Authorization": "Basic " + base64.b64encode(b"nope:").decode()}, 401, "unauthorized", None),
        ("Content-Encoding: br", "POST", "/v1/batch", good_body, {**gz, "Content-Encoding": "br"}, 415, "unsupported_encoding", None),
        ("body over the collector's limit", "POST", "/v1/batch", gzip.compress(too_big), gz, 413, "payload_too_large", None),
        ("GET /v1/batch", "GET", "/v1/batch", None, auth, 405, "method_not_allowed", None),
        ("GET /healthz", "GET", "/healthz", None, {}, 200, None, None),
        ("HEAD /healthz", "HEAD", "/healthz", None, {}, 200, None, None),
        # the essential lane
        ("records sealed here (gzip)", "POST", RECORDS[0], records_body, gz, 200, None, {"accepted": 2, "duplicates": 0}),
        ("the same records again", "POST", RECORDS[0], records_body, gz, 200, None, {"accepted": 0, "duplicates": 2}),
        ("the documented records example (identity)", "POST", RECORDS[0], json.dumps(example_records).encode(),
         {**auth, "Content-Type": "application/json"}, 200, None, {"accepted": 2, "duplicates": 0}),
        ("a tampered record", "POST", RECORDS[0], gzip.compress(json.dumps(tampered).encode()), gz, 400, "invalid_record", None),
        ("a record with an unlisted member", "POST", RECORDS[0], gzip.compress(json.dumps(unlisted).encode()), gz, 400, "invalid_record", None),
        ("a record whose predecessor was never stored", "POST", RECORDS[0], orphan_body, gz, 200, None, {"accepted": 1, "duplicates": 0}),
        ("records: non-JSON body", "POST", RECORDS[0], gzip.compress(b"[1,"), gz, 400, "invalid_request", None),
        ("records: no Authorization", "POST", RECORDS[0], records_body, no_auth, 401, "unauthorized", None),
        ("records: Content-Encoding: br", "POST", RECORDS[0], records_body, {**gz, "Content-Encoding": "br"}, 415, "unsupported_encoding", None),
        ("records: body over the limit", "POST", RECORDS[0], gzip.compress(too_big), gz, 413, "payload_too_large", None),
        ("GET /v1/consent-records", "GET", RECORDS[0], None, auth, 405, "method_not_allowed", None),
        ("deletion request (gzip)", "POST", DELETION[0], deletion_body, gz, 202, None, acknowledged),
        ("the same deletion request again", "POST", DELETION[0], deletion_body, gz, 202, None, acknowledged),
        ("deletion request without anonymousIds", "POST", DELETION[0], gzip.compress(json.dumps(no_ids).encode()), gz, 400, "invalid_request", None),
        ("deletion: no Authorization", "POST", DELETION[0], deletion_body, no_auth, 401, "unauthorized", None),
        ("deletion: Content-Encoding: br", "POST", DELETION[0], deletion_body, {**gz, "Content-Encoding": "br"}, 415, "unsupported_encoding", None),
        ("deletion: body over the limit", "POST", DELETION[0], gzip.compress(too_big), gz, 413, "payload_too_large", None),
        ("GET /v1/rights/deletion", "GET", DELETION[0], None, auth, 405, "method_not_allowed", None),
        ("config: no Authorization", "GET", CONFIG[0], None, {}, 401, "unauthorized", None),
        ("POST /v1/config", "POST", CONFIG[0], b"{}", auth, 405, "method_not_allowed", None),
    ]
    # protocol.md § The reference collector: "any other path, including the reserved endpoints" gets 404 not_found,
    # and so would a stable operation it does not serve yet.
    not_served = RESERVED | {op for op in STABLE if doc["paths"][op[0]][op[1]].get("x-footfall-sdk-support") in NOT_SERVED_BY_COLLECTOR}
    for path, method in sorted(not_served):
        label = "reserved" if (path, method) in RESERVED else "not served yet:"
        cases.append((f"{label} {method.upper()} {path}", method.upper(), path, b"{}" if method == "post" else None,
                      {**auth, "Content-Type": "application/json"}, 404, "not_found", None))

    count = 0
    with tempfile.TemporaryDirectory(prefix="footfall-openapi-collector-") as tmp:
        tmp = Path(tmp)
        config_file = tmp / "config.json"
        config_file.write_bytes(config_v1)
        db = tmp / "collector.db"
        with Collector(binary, db, "--config", str(config_file)) as collector:
            base = collector.base_url()
            for case in cases:
                _, value = exchange(doc, schemas, base, case)
                if case[0] == "a tampered record" and not value["error"]["message"].startswith(f"record {victim}:"):
                    fail(f"collector, a tampered record: the 400 does not name record {victim}: {value['error']['message']!r}")
            count += len(cases)

            # The config file: served byte for byte with its SHA-256 as a strong ETag, 304 while unchanged, and
            # an edit shows on the next request, no restart.
            def config(name, headers, status, code=None):
                nonlocal count
                count += 1
                return exchange(doc, schemas, base, (name, "GET", CONFIG[0], None, {**auth, **headers}, status, code, None))

            headers, value = config("config", {}, 200)
            etag = headers.get("ETag")
            if etag != strong_etag(config_v1) or value != json.loads(config_v1) or headers.get("Cache-Control") != "no-cache":
                fail(f"collector, GET /v1/config: ETag {etag!r} (expected {strong_etag(config_v1)}), Cache-Control "
                     f"{headers.get('Cache-Control')!r}, or a body other than the file")
            for inm in (etag, f'"stale", W/{etag}', "*"):
                headers, _ = config(f"config, If-None-Match: {inm}", {"If-None-Match": inm}, 304)
                if headers.get("ETag") != etag:
                    fail(f"collector, 304 for If-None-Match {inm}: ETag {headers.get('ETag')!r}, expected {etag}")
            config_file.write_bytes(config_v2)
            headers, value = config("config after an edit, old ETag", {"If-None-Match": etag}, 200)
            if headers.get("ETag") != strong_etag(config_v2) or value != json.loads(config_v2):
                fail("collector, GET /v1/config after editing the file: the old ETag or body is still served")
            config_file.write_bytes(b'{"consent": {"policyVersion": 4,')
            config("config file that is not JSON", {}, 500, "invalid_config")
            config_file.write_bytes(config_v1)
            config("config file fixed", {"If-None-Match": etag}, 304)

            if collector.proc.poll() is not None:
                fail(f"the collector died during the checks: {''.join(collector.stderr).strip()}")

        # What was stored, through the CLI: each record and deletion request once, repeats counted.
        stored = read_jsonl(binary, "collector", "consent-records", "--db", str(db))
        want = [r["record_id"] for r in records["records"] + example_records["records"] + orphan["records"]]
        if [r["record_id"] for r in stored] != want or [r["duplicates"] for r in stored] != [1, 1, 0, 0, 0]:
            fail(f"`footfall collector consent-records`: stored {[(r['record_id'], r['duplicates']) for r in stored]}, expected {want} with 1, 1, 0, 0, 0 repeats")
        if stored[0]["record"] != records["records"][0]:
            fail("`footfall collector consent-records`: the stored record differs from the one sent")
        deletions = read_jsonl(binary, "collector", "deletions", "--db", str(db))
        if [(d["request_id"], d["duplicates"]) for d in deletions] != [(deletion["requestId"], 1)]:
            fail(f"`footfall collector deletions`: {deletions}, expected {deletion['requestId']} once with 1 repeat")

        # Without --config: 404 no_config.
        with Collector(binary, tmp / "bare.db") as collector:
            exchange(doc, schemas, collector.base_url(), ("config without --config", "GET", CONFIG[0], None, auth, 404, "no_config", None))
            count += 1

        # Fault injection applies to every protocol endpoint alike, and stores nothing.
        faulty_db = tmp / "faulty.db"
        with Collector(binary, faulty_db, "--config", str(config_file), "--fail-rate", "1", "--fail-status", "503") as collector:
            base = collector.base_url()
            for name, method, path, body, status in (
                ("batch", "POST", BATCH[0], good_body, 503),
                ("config", "GET", CONFIG[0], None, 503),
                ("records", "POST", RECORDS[0], records_body, 503),
                ("deletion", "POST", DELETION[0], deletion_body, 503),
            ):
                exchange(doc, schemas, base, (f"injected fault on {name}", method, path, body, gz if body else auth, status, "injected_fault", None))
                count += 1
        if read_jsonl(binary, "collector", "consent-records", "--db", str(faulty_db)) or read_jsonl(binary, "collector", "deletions", "--db", str(faulty_db)):
            fail("the collector stored something from requests it answered with an injected fault")
    passed(
        f"reference collector: {count} requests answered with the documented status, headers and body schema "
        f"(batches, unknown members ignored; config ETag/304/live edit/404/500; consent records verified, deduped, tampered or "
        f"unlisted member refused, unknown predecessor accepted; deletions idempotent; faults; {len(not_served)} endpoints it "
        f"does not serve (yet) answered 404)"
    )


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
        check_rules(doc)
        if not binary.is_file() or not os.access(binary, os.X_OK):
            fail(f"no footfall binary at {binary}: run `cargo build -p footfall-cli` or set FOOTFALL_BIN")
        check_sdk_traffic(doc, strict, binary)
        check_sdk_hold(doc, binary)
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
