"""A Footfall protocol v1 server written from `docs/protocol.md` and `docs/openapi.yaml` ONLY.

It is a test double for a backend team's server: it implements every endpoint the docs define the way the docs
say a server must (auth, gzip, dedupe by id, status codes, error bodies, ETag/304), and on top of that it is a
*conformance recorder*:

* every request is recorded (method, path, headers, decoded body, the answer given);
* every request is checked against the OpenAPI document (required headers and their schemas, content type,
  request body schema including the `x-footfall-exhaustive` and JsonObject size/depth extensions) and against
  the prose of protocol.md (header set, gzip framing, batch limits, seq order, consent-record hashes, chain
  order, identical JSON on re-send, If-None-Match exactly as received, ...). A request that does not conform is
  recorded in `failures` (it is *also* answered the way a liberal server would answer it);
* faults can be scripted per endpoint by count ("the next 2 batch requests get 503"): status codes with or
  without `Retry-After`, dropped connections, lost answers (stored, then dropped), truncated bodies, slow
  answers, HTTP/1.0 and chunked answers.

Rule: nothing in here was taken from the Rust collector or the SDK's sync code. Each behaviour cites the doc
section it comes from. Only the standard library is used, except `yaml` and `jsonschema` for reading and applying
the OpenAPI document (`Validator` below).
"""

from __future__ import annotations

import base64
import email.utils
import gzip
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import ssl
import threading
import time
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OPENAPI_PATH = os.path.join(REPO, "docs", "openapi.yaml")

# protocol.md § Compression: "That cap MUST be at least the SDK's batch limit of 512 000 bytes."
DEFAULT_MAX_DECOMPRESSED = 1024 * 1024
HARD_LIMIT = 16 * 1024 * 1024  # decoded for recording even when answered 413
# protocol.md § Batch framing / § The essential lane: at most 100 messages (records) and 512 000 bytes uncompressed.
SDK_MAX_BATCH_MESSAGES = 100
SDK_MAX_BATCH_BYTES = 512_000

ZERO_HASH = "0" * 64
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
# protocol.md § POST /v1/consent-records: the members of a record, in this order.
RECORD_MEMBERS = [
    "record_id", "kind", "subject_id", "timestamp_ms", "policy_version", "notice_hash", "decisions", "method",
    "jurisdiction", "app_version", "sdk_version", "prev_hash", "hash",
]

ENDPOINTS = {
    "/v1/batch": "batch",
    "/v1/config": "config",
    "/v1/consent-records": "consent",
    "/v1/rights/deletion": "deletion",
    "/v1/wallet/changes": "wallet_changes",
    "/v1/wallet/clips": "wallet_clips",
    "/v1/wallet/redemptions": "wallet_redemptions",
}
WALLET = {"wallet_changes", "wallet_clips", "wallet_redemptions"}
RESERVED = {"/v1/proximity/registry"}

# protocol.md § Request headers: every header the built-in transport sends. "No cookies, no Accept-Encoding,
# no Connection header and no other header are sent."
POST_HEADERS = {"content-type", "content-encoding", "x-footfall-protocol", "user-agent", "authorization", "host",
                "content-length", "accept"}
# "GET /v1/config carries the same headers minus Content-Type and Content-Encoding, plus Accept: application/json
# and, when the SDK holds a policy, If-None-Match." (openapi: the stack "may add Content-Length: 0")
GET_HEADERS = {"x-footfall-protocol", "user-agent", "authorization", "host", "accept", "if-none-match",
               "content-length"}
# protocol.md § The wallet: "Every wallet request names the holder in headers: X-Footfall-Anonymous-Id always, and
# X-Footfall-User-Id when the app called identify()" (openapi.yaml: "on the wallet's requests only"). "Same base
# URL, authentication, X-Footfall-Protocol, User-Agent and compression of request bodies as batches"; "The feed's
# GET also sends Accept: application/json".
HOLDER_HEADERS = {"x-footfall-anonymous-id", "x-footfall-user-id"}
# RFC 3986 percent-encoding as protocol.md words it: "every byte except A-Z a-z 0-9 - . _ ~ becomes %XX".
PERCENT_ENCODED_RE = re.compile(r"^(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+$")


# --------------------------------------------------------------------------------------------------- validation
class Validator:
    """Applies `docs/openapi.yaml` to requests: parameters (headers), content type and body schema."""

    def __init__(self, path: str = OPENAPI_PATH):
        import jsonschema  # noqa: WPS433 (allowed: installed by .ci/run)
        import yaml

        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        base = jsonschema.validators.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema"})

        def exhaustive(validator, value, instance, schema):
            # openapi.yaml conventions: "`x-footfall-exhaustive: true` on a schema means the SDK sends no property
            # that is not listed there. The conformance check enforces it against real SDK traffic."
            if value and validator.is_type(instance, "object"):
                extra = sorted(set(instance) - set(schema.get("properties", {})))
                if extra:
                    yield jsonschema.ValidationError(f"properties not listed in an x-footfall-exhaustive schema: {extra}")

        def max_bytes(validator, value, instance, schema):
            if validator.is_type(instance, "object"):
                size = len(json.dumps(instance, ensure_ascii=False, separators=(",", ":")).encode())
                if size > value:
                    yield jsonschema.ValidationError(f"object is {size} bytes serialized, above {value}")

        def max_depth(validator, value, instance, schema):
            def depth(v):
                if isinstance(v, dict):
                    return 1 + max((depth(x) for x in v.values()), default=0)
                if isinstance(v, list):
                    return 1 + max((depth(x) for x in v), default=0)
                return 0
            if validator.is_type(instance, "object") and depth(instance) > value:
                yield jsonschema.ValidationError(f"object is {depth(instance)} levels deep, above {value}")

        cls = jsonschema.validators.extend(base, {
            "x-footfall-exhaustive": exhaustive,
            "x-footfall-max-serialized-bytes": max_bytes,
            "x-footfall-max-depth": max_depth,
        })
        self._cls = cls
        self._format_checker = base.FORMAT_CHECKER
        self._jsonschema = jsonschema
        self._cache: dict[str, Any] = {}

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            target = self.doc
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
        return node

    def schema_errors(self, schema: dict, instance: Any) -> list[str]:
        """jsonschema (2020-12, the dialect of OpenAPI 3.1) errors of `instance` against `schema`, with the whole
        OpenAPI document as the root so that "#/components/..." references resolve."""
        key = json.dumps(schema, sort_keys=True)
        v = self._cache.get(key)
        if v is None:
            root = {**self.doc, **schema, "$schema": "https://json-schema.org/draft/2020-12/schema"}
            v = self._cache[key] = self._cls(root, format_checker=self._format_checker)
        errors = []
        for e in sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            if e.context:  # oneOf: report the errors of the branch the discriminator (`type`) picks
                branches: dict = defaultdict(list)
                for sub in e.context:
                    branches[sub.relative_schema_path[0]].append(sub)
                picked = [errs for errs in branches.values()
                          if not any(list(x.relative_path) == ["type"] for x in errs)]
                chosen = picked[0] if len(picked) == 1 else [self._jsonschema.exceptions.best_match(e.context)]
                for sub in chosen:
                    where2 = "/".join(str(p) for p in sub.absolute_path) or "(root)"
                    errors.append(f"{where2}: {sub.message[:300]}")
            else:
                errors.append(f"{where}: {e.message[:300]}")
        return errors

    def component(self, name: str) -> dict:
        return {"$ref": f"#/components/schemas/{name}"}

    def operation(self, path: str, method: str) -> Optional[dict]:
        return self.doc["paths"].get(path, {}).get(method.lower())

    def check_request(self, path: str, method: str, headers: "Headers", body: Any, has_body: bool,
                      query: Optional[dict] = None) -> list[str]:
        """Every way the request departs from the OpenAPI operation."""
        op = self.operation(path, method)
        if op is None:
            return [f"{method} {path} is not an operation of openapi.yaml"]
        problems = []
        query = query or {}
        declared = {self._resolve(p)["name"] for p in op.get("parameters", []) if self._resolve(p)["in"] == "query"}
        for name in sorted(set(query) - declared):
            problems.append(f"query parameter {name!r} is not a parameter of the operation")
        for p in op.get("parameters", []):
            p = self._resolve(p)
            if p["in"] == "query":
                values = query.get(p["name"], [])
                if len(values) > 1:
                    problems.append(f"query parameter {p['name']} sent {len(values)} times")
                if not values and p.get("required"):
                    problems.append(f"required query parameter {p['name']} is missing")
                for v in values[:1]:
                    for err in self.schema_errors(p.get("schema", {}), v):
                        problems.append(f"query {p['name']}={v[:60]!r}: {err}")
                continue
            if p["in"] != "header":
                continue
            values = headers.get_all(p["name"])
            if not values:
                if p.get("required"):
                    problems.append(f"required header {p['name']} is missing")
                continue
            if len(values) > 1:
                problems.append(f"header {p['name']} sent {len(values)} times")
            for err in self.schema_errors(p.get("schema", {}), values[0]):
                problems.append(f"header {p['name']}={values[0]!r}: {err}")
        # security: basicAuth (openapi.yaml components.securitySchemes.basicAuth)
        auths = headers.get_all("Authorization")
        if len(auths) > 1:
            problems.append(f"Authorization sent {len(auths)} times: {auths}")
        for a in auths:
            if not re.match(r"^Basic [A-Za-z0-9+/]+=*$", a):
                problems.append(f"Authorization {a!r} is not HTTP Basic")
            else:
                try:
                    decoded = base64.b64decode(a[6:]).decode()
                except Exception:  # noqa: BLE001
                    problems.append(f"Authorization {a!r} is not base64 of UTF-8")
                else:
                    if not decoded.endswith(":") or not decoded[:-1]:
                        problems.append(f"Authorization {a!r} is not base64(API_KEY + ':') (decoded {decoded!r})")
        rb = op.get("requestBody")
        if rb:
            ctypes = headers.get_all("Content-Type")
            if not ctypes:
                problems.append("Content-Type is missing")
            else:
                media = ctypes[0].split(";")[0].strip().lower()
                if media not in rb["content"]:
                    problems.append(f"Content-Type {ctypes[0]!r} is not one of {list(rb['content'])}")
            if rb.get("required") and not has_body:
                problems.append("request body is required")
            schema = rb["content"].get("application/json", {}).get("schema")
            if schema is not None and body is not _NO_JSON:
                problems += [f"body {e}" for e in self.schema_errors(schema, body)]
            elif body is _NO_JSON:
                problems.append("body is not JSON (after Content-Encoding)")
        elif has_body:
            problems.append(f"{method} {path} carries a body, openapi.yaml defines none")
        return problems

    def response_schema(self, path: str, method: str, status: int) -> Optional[dict]:
        op = self.operation(path, method)
        if not op:
            return None
        rs = op.get("responses", {})
        entry = rs.get(str(status)) or rs.get(f"{str(status)[0]}XX") or rs.get("default")
        entry = self._resolve(entry) if entry else None
        if not entry or "content" not in entry:
            return None
        return entry["content"].get("application/json", {}).get("schema")


class _NoJson:
    def __repr__(self):
        return "<no JSON>"


_NO_JSON = _NoJson()


class Headers:
    """Request headers in arrival order, case-insensitive look-up, duplicates kept."""

    def __init__(self, items: list[tuple[str, str]]):
        self.items = items

    def get_all(self, name: str) -> list[str]:
        return [v for k, v in self.items if k.lower() == name.lower()]

    def get(self, name: str) -> Optional[str]:
        v = self.get_all(name)
        return v[0] if v else None

    def names(self) -> set[str]:
        return {k.lower() for k, _ in self.items}

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.items}


# ------------------------------------------------------------------------------------------- wallet formats
# Every byte format of the wallet, from docs/wallet.md ONLY, in this one section so that a format change in the
# docs is a small edit here: § Grants (format version 1), § Issuer key set and rotation, § Redemption codes (code
# format version 1, Base45), protocol.md § GET /v1/wallet/changes (display terms reference, device id).
GRANT_VERSION = 1
GRANT_MAX_BYTES = 512  # wallet.md § Grants: "size (≤ 512 bytes)"
GRANT_SIG_CONTEXT = b"footfall/grant/v1\0"  # "Ed25519 over "footfall/grant/v1\0" followed by every byte before it"
KEYSET_SIG_CONTEXT = b"footfall/keyset/v1\0"
CODE_VERSION = 1
REDEEM_SIG_CONTEXT = b"footfall/redeem/v1\0"
CODE_BUCKET_SECS = 30  # "time_bucket varint (UTC s / 30)"
CODE_MAX_OLD_BUCKETS, CODE_MAX_AHEAD_BUCKETS = 4, 1  # § Till verification 5: "at most 4 buckets old and 1 ahead"
CHALLENGE_MAX = 32
GRACE_MAX_SECS = 7 * 86400
BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


class FormatError(ValueError):
    """A wallet byte string that is not what docs/wallet.md describes; `code` is the doc's name for the refusal."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


def b64url(data: bytes) -> str:
    """openapi.yaml Base64Url: "base64url (RFC 4648 § 5) without padding"."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def base45_encode(data: bytes) -> str:
    """RFC 9285 § 4: two bytes -> three characters (c + d*45 + e*45²), a last byte -> two."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = n % 45, n // 45
        d, e = n % 45, n // 45
        out += [BASE45_ALPHABET[c], BASE45_ALPHABET[d], BASE45_ALPHABET[e]]
    if len(data) % 2:
        n = data[-1]
        out += [BASE45_ALPHABET[n % 45], BASE45_ALPHABET[n // 45]]
    return "".join(out)


def base45_decode(text: str) -> bytes:
    """RFC 9285 § 4.4: a character outside the alphabet, a dangling character or a value above 65535 (255 for
    a last pair) is an error."""
    try:
        vals = [BASE45_ALPHABET.index(ch) for ch in text]
    except ValueError:
        raise FormatError("malformed", "not Base45 (a character outside RFC 9285's alphabet)") from None
    if len(vals) % 3 == 1:
        raise FormatError("malformed", "not Base45 (length)")
    out = bytearray()
    for i in range(0, len(vals), 3):
        chunk = vals[i:i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 2025
            if n > 0xFFFF:
                raise FormatError("malformed", "not Base45 (a triple above 65535)")
            out += bytes([n >> 8, n & 0xFF])
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise FormatError("malformed", "not Base45 (a last pair above 255)")
            out.append(n)
    return bytes(out)


class Reader:
    """wallet.md § Grants: "integers are minimal unsigned LEB128; strings are a length byte plus printable ASCII"."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FormatError("malformed", "truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def varint(self) -> int:
        value = shift = 0
        start = self.pos
        while True:
            b = self.u8()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > 63:
                raise FormatError("malformed", "varint too long")
        if self.data[start:self.pos] != varint(value):
            raise FormatError("malformed", "varint not minimal")
        return value

    def str8(self, limit: int) -> str:
        n = self.u8()
        if n > limit:
            raise FormatError("malformed", f"string of {n} bytes, at most {limit}")
        raw = self.take(n)
        if not all(0x20 <= b <= 0x7E for b in raw):
            raise FormatError("malformed", "string is not printable ASCII")
        return raw.decode("ascii")

    def done(self) -> bool:
        return self.pos == len(self.data)


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def str8(text: str) -> bytes:
    raw = text.encode("ascii")
    return bytes([len(raw)]) + raw


@dataclass
class Grant:
    """The fields of wallet.md § Grants, format version 1, in their order."""

    kid: str
    coupon_id: str
    serial: str
    terms_ref: str
    currency: str = "JPY"
    discount: tuple = (2, 300)  # (1 percent in basis points | 2 fixed minor units, value)
    eligibility: tuple = (0,)  # (0,) any | (1, [gtin, ...]) | (2, family)
    min_basket: int = 0
    stack_group: str = ""
    uses_allowed: int = 1
    not_before: int = 0
    not_after: int = 0
    grace_secs: int = 0
    local_dates: Optional[tuple] = None  # (first YYYYMMDD, last YYYYMMDD, zone)
    offline: tuple = (1, 1, 1_000_000)  # (accepted 0/1, max uses, max value minor units before the next sync)

    def content(self) -> bytes:
        out = bytearray([GRANT_VERSION]) + str8(self.kid) + str8(self.coupon_id) + str8(self.serial) + str8(self.terms_ref)
        out += self.currency.encode("ascii")
        out += bytes([self.discount[0]]) + varint(self.discount[1])
        out.append(self.eligibility[0])
        if self.eligibility[0] == 1:
            out += varint(len(self.eligibility[1])) + b"".join(varint(g) for g in self.eligibility[1])
        elif self.eligibility[0] == 2:
            out += str8(self.eligibility[1])
        out += varint(self.min_basket) + str8(self.stack_group) + varint(self.uses_allowed)
        out += varint(self.not_before) + varint(self.not_after) + varint(self.grace_secs)
        if self.local_dates is None:
            out.append(0)
        else:
            out += b"\x01" + varint(self.local_dates[0]) + varint(self.local_dates[1]) + str8(self.local_dates[2])
        out += bytes([self.offline[0]]) + varint(self.offline[1]) + varint(self.offline[2])
        return bytes(out)

    @staticmethod
    def parse_content(content: bytes) -> "Grant":
        r = Reader(content)
        if r.u8() != GRANT_VERSION:
            raise FormatError("unknown_version", "grant format version is not 1")
        g = Grant(kid=r.str8(16), coupon_id=r.str8(32), serial=r.str8(32), terms_ref=r.str8(32))
        cur = r.take(3)
        if not (cur.isascii() and cur.decode().isalpha() and cur.decode().isupper()):
            raise FormatError("malformed", "currency is not ISO 4217")
        g.currency = cur.decode()
        tag = r.u8()
        if tag not in (1, 2):
            raise FormatError("malformed", f"discount tag {tag}")
        g.discount = (tag, r.varint())
        tag = r.u8()
        if tag == 0:
            g.eligibility = (0,)
        elif tag == 1:
            n = r.varint()
            if n > 16:
                raise FormatError("malformed", "more than 16 GTINs")
            g.eligibility = (1, [r.varint() for _ in range(n)])
        elif tag == 2:
            g.eligibility = (2, r.str8(255))
        else:
            raise FormatError("malformed", f"eligibility tag {tag}")
        g.min_basket, g.stack_group, g.uses_allowed = r.varint(), r.str8(255), r.varint()
        g.not_before, g.not_after, g.grace_secs = r.varint(), r.varint(), r.varint()
        tag = r.u8()
        if tag == 1:
            g.local_dates = (r.varint(), r.varint(), r.str8(255))
        elif tag != 0:
            raise FormatError("malformed", f"local dates tag {tag}")
        accepted = r.u8()
        if accepted not in (0, 1):
            raise FormatError("malformed", "offline accepted is not 0/1")
        g.offline = (accepted, r.varint(), r.varint())
        if not r.done():
            raise FormatError("malformed", "bytes after the offline policy")
        if g.content() != content:  # "A parsed grant is re-encoded and must match the signed bytes"
            raise FormatError("malformed", "not the one byte form of its content")
        if g.uses_allowed < 1 or g.grace_secs > GRACE_MAX_SECS or g.not_after <= g.not_before:
            raise FormatError("invalid", "uses, grace or validity out of range")
        return g


def sign_grant(grant: Grant, key) -> bytes:
    content = grant.content()
    return content + key.sign(GRANT_SIG_CONTEXT + content)


def verify_grant(data: bytes, keyset: dict, now: int) -> Grant:
    """wallet.md § Grants: "size (≤ 512 bytes), format version, a key id the pinned set holds and that is valid
    at `now`, the signature, then the content", each failure distinct."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(data) > GRANT_MAX_BYTES:
        raise FormatError("too_large", f"grant of {len(data)} bytes")
    if len(data) < 1 + 64:
        raise FormatError("malformed", "shorter than a version and a signature")
    if data[0] != GRANT_VERSION:
        raise FormatError("unknown_version", f"grant format version {data[0]}")
    r = Reader(data)
    r.u8()
    kid = r.str8(16)
    key = next((k for k in keyset.get("keys", []) if k.get("kid") == kid), None)
    if key is None:
        raise FormatError("unknown_key", f"key id {kid!r} is not in the key set")
    if not key_valid_at(key, now):
        raise FormatError("key_not_valid", f"key {kid!r} is not valid at {now}")
    content, sig = data[:-64], data[-64:]
    try:
        Ed25519PublicKey.from_public_bytes(b64url_decode(key["x"])).verify(sig, GRANT_SIG_CONTEXT + content)
    except InvalidSignature:
        raise FormatError("bad_signature", "the issuer's signature does not verify") from None
    return Grant.parse_content(content)


def key_valid_at(key: dict, now: int) -> bool:
    """Key set JSON `nbf` / `exp` (wallet.md § Issuer key set): valid from nbf, until exp when given."""
    return key.get("nbf", 0) <= now and ("exp" not in key or now < key["exp"])


def keyset_json(version: int, keys: list[tuple[str, Any, int, Optional[int]]]) -> dict:
    """wallet.md § Issuer key set: {"version","keys":[{"kid","alg":"Ed25519","x","nbf","exp"}]}."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    out = []
    for kid, priv, nbf, exp in keys:
        x = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        k = {"kid": kid, "alg": "Ed25519", "x": b64url(x), "nbf": nbf}
        if exp is not None:
            k["exp"] = exp
        out.append(k)
    return {"version": version, "keys": out}


def sign_rotation(keyset_bytes: bytes, kid: str, key) -> dict:
    """wallet.md § Issuer key set and rotation: {"keyset": b64url(json), "kid", "sig"} over the context + bytes."""
    return {"keyset": b64url(keyset_bytes), "kid": kid, "sig": b64url(key.sign(KEYSET_SIG_CONTEXT + keyset_bytes))}


def terms_ref(display: bytes) -> str:
    """protocol.md § GET /v1/wallet/changes: "`d` + base64url(first 12 bytes of SHA-256(these bytes))"."""
    return "d" + b64url(hashlib.sha256(display).digest()[:12])


def device_id(device_key: bytes) -> str:
    """protocol.md (tombstone `device`): "16 lowercase hex characters, the first 8 bytes of SHA-256 of the device's
    public key"."""
    return hashlib.sha256(device_key).digest()[:8].hex()


@dataclass
class Code:
    """wallet.md § Redemption codes, code format version 1."""

    grant: bytes
    device_key: bytes
    counter: int
    bucket: int
    challenge_flag: int
    signature: bytes

    def signed_message(self, challenge: bytes) -> bytes:
        return (REDEEM_SIG_CONTEXT + hashlib.sha256(self.grant).digest() + self.device_key
                + self.counter.to_bytes(8, "big") + self.bucket.to_bytes(8, "big") + bytes([len(challenge)]) + challenge)

    def encode(self) -> bytes:
        return (bytes([CODE_VERSION]) + varint(len(self.grant)) + self.grant + self.device_key + varint(self.counter)
                + varint(self.bucket) + bytes([self.challenge_flag]) + self.signature)


def parse_code(text: str) -> Code:
    """`version u8 = 1 | grant_len varint | grant | device_key [65] (uncompressed P-256) | counter varint |
    time_bucket varint (UTC s / 30) | challenge u8 (0/1) | signature [64]`, as Base45 text."""
    r = Reader(base45_decode(text))
    v = r.u8()
    if v != CODE_VERSION:
        raise FormatError("unknown_version", f"code format version {v}")
    n = r.varint()
    if n > GRANT_MAX_BYTES:
        raise FormatError("too_large", f"grant of {n} bytes in the code")
    grant = r.take(n)
    key = r.take(65)
    if key[0] != 0x04:
        raise FormatError("malformed", "device key is not an uncompressed P-256 point")
    counter, bucket, flag = r.varint(), r.varint(), r.u8()
    if flag not in (0, 1):
        raise FormatError("malformed", "challenge flag is not 0/1")
    sig = r.take(64)
    if not r.done():
        raise FormatError("malformed", "bytes after the signature")
    return Code(grant, key, counter, bucket, flag, sig)


def verify_device_proof(code: Code, challenge: bytes) -> bool:
    """"ECDSA P-256 SHA-256 (r‖s)" over the documented message."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    try:
        pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), code.device_key)
        der = encode_dss_signature(int.from_bytes(code.signature[:32], "big"), int.from_bytes(code.signature[32:], "big"))
        pub.verify(der, code.signed_message(challenge), ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def make_code(grant: bytes, device_priv, counter: int, at: int, challenge: Optional[bytes] = None) -> str:
    """A till-side test vector maker (for the self-test): the code a device would make, from the docs."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = device_priv.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    code = Code(grant, key, counter, at // CODE_BUCKET_SECS, 1 if challenge else 0, b"")
    r, s = decode_dss_signature(device_priv.sign(code.signed_message(challenge or b""), ec.ECDSA(hashes.SHA256())))
    code.signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return base45_encode(code.encode())


# -------------------------------------------------------------------------------------------- wallet issuer
def _imf_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def _parse_rfc3339(text: str) -> Optional[float]:
    import datetime as _dt

    if not (isinstance(text, str) and RFC3339_RE.match(text)):
        return None
    try:
        return _dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T")).timestamp()
    except ValueError:
        return None


@dataclass
class Coupon:
    """What the issuer offers (the grant's fields except kid, serial and terms reference, which it fills in)."""

    coupon_id: str
    title: str
    terms: str
    template: Grant
    holders: Optional[set] = None  # None: everyone
    seq: int = 0


@dataclass
class Held:
    """One coupon of one holder: the signed grant of its serial, its display document, uses and tombstone."""

    holder: str
    coupon_id: str
    serial: str
    grant: bytes
    display: bytes
    grant_fields: Grant
    seq: int = 0
    uses: int = 0
    tombstone: Optional[dict] = None


class WalletIssuer:
    """protocol.md § The wallet and docs/wallet.md, the issuer's side: signs one grant per (coupon, holder) with
    its Ed25519 key, serves the feed with an opaque cursor, upserts, tombstones, hasMore paging, 410 and a strong
    ETag, stores clips by clipId and verifies redemptions as a till would at `presentedAt`, spending a serial's
    use atomically. All state is guarded by the owning server's lock."""

    def __init__(self, kid: str = "k1", seed: Optional[bytes] = None, nbf: Optional[int] = None):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.kid = kid
        self.key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
        self.keyset = keyset_json(1, [(kid, self.key, int(time.time()) - 86400 if nbf is None else nbf, None)])
        self.coupons: dict[str, Coupon] = {}
        self.held: dict[str, dict[str, Held]] = defaultdict(dict)  # holder -> coupon id -> Held
        self.by_serial: dict[str, Held] = {}
        self.seq = 0
        self.epoch = 1
        self.page_size = 100
        self.forged: set[str] = set()  # coupon ids whose grant is served with one signature byte flipped
        self.display_tampered: set[str] = set()  # coupon ids whose display document is not the signed one
        self.etags: dict[str, Optional[str]] = {}  # ETag served -> the `since` it answered
        self.cursors: set[str] = set()
        self.clips: dict[str, dict] = {}
        self.clip_receipts: dict[str, int] = defaultdict(int)
        self.redemptions: dict[str, dict] = {}  # redemptionId -> {"request", "result", "device", "counter", ...}
        self.redemption_receipts: dict[str, int] = defaultdict(int)
        self.by_device_counter: dict[tuple[bytes, int], str] = {}
        self.holders_seen: list[tuple[str, Optional[str]]] = []

    def keyset_bytes(self) -> bytes:
        return json.dumps(self.keyset, separators=(",", ":")).encode()

    # ---- the issuer's catalogue
    def add_coupon(self, coupon_id: str, title: str = "¥300 off", terms: str = "One use per shopper.",
                   holders: Optional[set] = None, valid_from: Optional[int] = None, valid_until: Optional[int] = None,
                   **fields) -> Coupon:
        now = int(time.time())
        template = Grant(kid=self.kid, coupon_id=coupon_id, serial="", terms_ref="",
                         not_before=valid_from if valid_from is not None else now - 86400,
                         not_after=valid_until if valid_until is not None else now + 30 * 86400, **fields)
        self.seq += 1
        c = self.coupons[coupon_id] = Coupon(coupon_id, title, terms, template, holders, self.seq)
        return c

    def tombstone(self, coupon_id: str, reason: str, holder: Optional[str] = None, **extra):
        """A tombstone for every holder of the coupon (or one holder): revoked, expired, redeemed, withdrawn."""
        for h, coupons in self.held.items():
            if coupon_id in coupons and (holder is None or h == holder):
                self.seq += 1
                hc = coupons[coupon_id]
                hc.seq = self.seq
                hc.tombstone = {"couponId": coupon_id, "serial": hc.serial, "reason": reason,
                                "at": _rfc3339(time.time()), **extra}

    def forget_cursors(self):
        """Every cursor given out so far becomes unknown: the next pull with one gets 410."""
        self.epoch += 1

    def _materialise(self, holder: str):
        for c in self.coupons.values():
            if c.holders is not None and holder not in c.holders:
                continue
            if c.coupon_id in self.held[holder]:
                continue
            serial = "s-" + hashlib.sha256(f"{c.coupon_id}\0{holder}".encode()).hexdigest()[:10]
            display = json.dumps({"title": c.title, "terms": c.terms}, ensure_ascii=False, separators=(",", ":")).encode()
            g = Grant(**{**c.template.__dict__, "serial": serial, "terms_ref": terms_ref(display)})
            hc = Held(holder, c.coupon_id, serial, sign_grant(g, self.key), display, g, seq=c.seq)
            self.held[holder][c.coupon_id] = hc
            self.by_serial[serial] = hc

    def _entry(self, hc: Held) -> tuple[str, dict]:
        if hc.tombstone is not None:
            return "tombstones", dict(hc.tombstone)
        grant = hc.grant
        if hc.coupon_id in self.forged:
            grant = grant[:-1] + bytes([grant[-1] ^ 0x01])
        display = hc.display
        if hc.coupon_id in self.display_tampered:
            display = display.replace(b'"title":"', b'"title":"FREE ')
        return "upserts", {"grant": b64url(grant), "display": b64url(display), "uses": hc.uses}

    def cursor(self, seq: int) -> str:
        return b64url(f"v1:{self.epoch}:{seq}".encode())

    def parse_cursor(self, since: str) -> Optional[tuple[int, int]]:
        try:
            tag, epoch, seq = b64url_decode(since).decode().split(":")
            assert tag == "v1"
            return int(epoch), int(seq)
        except Exception:  # noqa: BLE001
            return None

    def changes(self, holder: str, since: Optional[str]) -> tuple[int, dict]:
        """protocol.md § GET {base}/v1/wallet/changes: 200 with the changes after `since` (the full listing without
        it, `full: true`), paged with `hasMore`; 410 for a cursor the server no longer knows."""
        self._materialise(holder)
        after = 0
        if since is not None:
            parsed = self.parse_cursor(since)
            if parsed is None or parsed[0] != self.epoch:
                return 410, {"error": {"code": "cursor_unknown", "message": "this cursor is no longer known: start over"}}
            after = parsed[1]
        entries = sorted((max(hc.seq, 0), hc.coupon_id, hc) for hc in self.held[holder].values())
        newer = [e for e in entries if e[0] > after]
        page, more = newer[: self.page_size], len(newer) > self.page_size
        last = page[-1][0] if more else max([after] + [e[0] for e in entries])
        body = {"cursor": self.cursor(last), "hasMore": more, "full": since is None, "upserts": [], "tombstones": []}
        for _, _, hc in page:
            kind, item = self._entry(hc)
            body[kind].append(item)
        self.cursors.add(body["cursor"])
        return 200, body

    # ---- clips and redemptions
    def clip(self, clip: dict) -> bool:
        """protocol.md § POST /v1/wallet/clips: stored by clipId; a repeated clipId is a duplicate. True if new."""
        self.clip_receipts[clip["clipId"]] += 1
        if clip["clipId"] in self.clips:
            return False
        self.clips[clip["clipId"]] = clip
        return True

    def redeem(self, r: dict) -> dict:
        """protocol.md § POST /v1/wallet/redemptions for one redemption: verify the code as a till would, judging
        validity and freshness at `presentedAt`; idempotent by redemptionId and by (device key, counter); spend a
        serial's use atomically (the caller holds the lock), else `double_spend` attributed to the device."""
        rid = r["redemptionId"]
        self.redemption_receipts[rid] += 1
        if rid in self.redemptions:
            return {**self.redemptions[rid]["result"], "redemptionId": rid}
        rec: dict = {"request": r, "device": None, "counter": None, "serial": None}
        self.redemptions[rid] = rec

        def answer(st: str, reason: Optional[str] = None) -> dict:
            rec["result"] = {"redemptionId": rid, "status": st, **({"reason": reason} if reason else {})}
            return rec["result"]

        at = _parse_rfc3339(r["presentedAt"])
        try:
            code = parse_code(r["code"])
            grant = verify_grant(code.grant, self.keyset, int(at))
        except FormatError as e:
            return answer("rejected", f"the code does not verify ({e})")
        rec.update(device=device_id(code.device_key), counter=code.counter, serial=grant.serial,
                   coupon_id=grant.coupon_id, store_id=r["storeId"])
        try:
            challenge = b64url_decode(r["challenge"]) if "challenge" in r else b""
        except ValueError:
            return answer("rejected", "the challenge is not base64url")
        if bool(code.challenge_flag) != ("challenge" in r) or len(challenge) > CHALLENGE_MAX:
            return answer("rejected", "the challenge does not match the code")
        if not verify_device_proof(code, challenge):
            return answer("rejected", "the device proof does not verify")
        first = self.by_device_counter.get((code.device_key, code.counter))
        if first is not None:
            rec["same_as"] = first
            return {**answer(self.redemptions[first]["result"]["status"], self.redemptions[first]["result"].get("reason")),
                    "redemptionId": rid}
        self.by_device_counter[(code.device_key, code.counter)] = rid
        bucket_now = int(at) // CODE_BUCKET_SECS
        if not (bucket_now - CODE_MAX_OLD_BUCKETS <= code.bucket <= bucket_now + CODE_MAX_AHEAD_BUCKETS):
            return answer("rejected", f"stale: time bucket {code.bucket}, presented in bucket {bucket_now}")
        if at < grant.not_before:
            return answer("rejected", "not yet valid when presented")
        if at >= grant.not_after + grant.grace_secs:
            return answer("rejected", "expired when presented")
        hc = self.by_serial.get(grant.serial)
        if hc is None or hc.coupon_id != grant.coupon_id:
            return answer("rejected", "a serial this issuer never gave")
        if hc.tombstone is not None and hc.tombstone["reason"] == "revoked":
            return answer("rejected", "revoked")
        if hc.uses >= grant.uses_allowed:
            rec["double_spend_device"] = rec["device"]
            return answer("double_spend")
        hc.uses += 1
        self.seq += 1
        hc.seq = self.seq
        if hc.uses >= grant.uses_allowed:
            hc.tombstone = {"couponId": hc.coupon_id, "serial": hc.serial, "reason": "redeemed",
                            "at": _rfc3339(at), "storeId": r["storeId"], "device": rec["device"]}
        return answer("accepted")


# -------------------------------------------------------------------------------------------------------- faults
@dataclass
class Fault:
    """One scripted answer. `kind`:

    * `status`: answer `code` (with `Retry-After: retry_after` when given); `store=True` stores the request first
      (protocol.md § Delivery: "the server stored the batch and then answered 408, 429 or 5xx").
    * `drop`: close the connection without any answer, nothing stored.
    * `lost`: store, then close without any answer (a lost response).
    * `truncated`: store, answer 200 with a Content-Length longer than the body sent, then close.
    * `slow`: store, wait `delay` seconds, answer normally.
    * `http10`: store, answer normally as `HTTP/1.0`, body delimited by closing the connection.
    * `chunked`: store, answer normally with `Transfer-Encoding: chunked`.
    """

    kind: str
    code: int = 0
    retry_after: Any = None  # a string, or a callable giving one when the answer is sent
    store: bool = False
    delay: float = 0.0
    body: Optional[bytes] = None
    headers: dict = field(default_factory=dict)  # extra answer headers (e.g. Location on a 3xx)

    def retry_value(self) -> str:
        value = self.retry_after() if callable(self.retry_after) else self.retry_after
        self.retry_after_sent = value
        return value

    def describe(self) -> str:
        if self.kind == "status":
            ra = "(date)" if callable(self.retry_after) else self.retry_after
            return f"{self.code}" + (f" Retry-After: {ra}" if self.retry_after is not None else "") + (
                " (after storing)" if self.store else "")
        return self.kind + (f" {self.delay}s" if self.kind == "slow" else "")


def status(code: int, retry_after: Any = None, store: bool = False, body: Optional[bytes] = None,
           headers: Optional[dict] = None) -> Fault:
    return Fault("status", code=code, retry_after=retry_after, store=store, body=body, headers=headers or {})


def drop() -> Fault:
    return Fault("drop")


def lost() -> Fault:
    return Fault("lost", store=True)


def truncated() -> Fault:
    return Fault("truncated", store=True)


def slow(seconds: float) -> Fault:
    return Fault("slow", store=True, delay=seconds)


def http10() -> Fault:
    return Fault("http10", store=True)


def chunked() -> Fault:
    return Fault("chunked", store=True)


# ------------------------------------------------------------------------------------------------------- records
@dataclass
class Request:
    n: int
    at: float  # time.monotonic() when the request was read
    method: str
    path: str  # without the configured prefix
    raw_path: str
    endpoint: str  # batch, config, consent, deletion, parked, other
    headers: Headers
    body: Any = None  # parsed JSON (or _NO_JSON, or None for no body)
    raw_len: int = 0
    decoded_len: int = 0
    status: Optional[int] = None  # the status answered (None: no answer)
    fault: Optional[str] = None
    answered_at: Optional[float] = None
    stored: bool = False
    answer_headers: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def ids(self) -> list[str]:
        if self.endpoint == "batch" and isinstance(self.body, dict):
            return [m.get("messageId") for m in self.body.get("batch", []) if isinstance(m, dict)]
        if self.endpoint == "consent" and isinstance(self.body, dict):
            return [r.get("record_id") for r in self.body.get("records", []) if isinstance(r, dict)]
        if self.endpoint == "deletion" and isinstance(self.body, dict):
            return [self.body.get("requestId")]
        if self.endpoint == "wallet_clips" and isinstance(self.body, dict):
            return [c.get("clipId") for c in self.body.get("clips", []) if isinstance(c, dict)]
        if self.endpoint == "wallet_redemptions" and isinstance(self.body, dict):
            return [r.get("redemptionId") for r in self.body.get("redemptions", []) if isinstance(r, dict)]
        return []

    def query(self) -> dict[str, list[str]]:
        import urllib.parse
        return urllib.parse.parse_qs(self.raw_path.split("?", 1)[1], keep_blank_values=True) if "?" in self.raw_path else {}

    def __repr__(self):
        return (f"#{self.n} {self.method} {self.raw_path} -> {self.status if self.status is not None else 'no answer'}"
                f"{' [' + self.fault + ']' if self.fault else ''} ids={len(self.ids())}")


def canonical_record_json(record: dict) -> str:
    """protocol.md § The hash: `json.dumps(record, ensure_ascii=False, separators=(",", ":"))` over a dict built in
    the table's order, `decisions` sorted by key, `method` with `kind` first, and `hash` set to ""."""
    method = record["method"]
    ordered_method = {"kind": method["kind"], **{k: v for k, v in method.items() if k != "kind"}}
    ordered = {}
    for k in RECORD_MEMBERS:
        if k == "decisions":
            ordered[k] = {p: record[k][p] for p in sorted(record[k])}
        elif k == "method":
            ordered[k] = ordered_method
        elif k == "hash":
            ordered[k] = ""
        else:
            ordered[k] = record[k]
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def record_hash(record: dict) -> str:
    return hashlib.sha256(canonical_record_json(record).encode("utf-8")).hexdigest()


def has_insignificant_whitespace(text: str) -> bool:
    """protocol.md § POST /v1/batch: "UTF-8 JSON without insignificant whitespace"."""
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in " \t\r\n":
            return True
    return False


def parse_retry_after_date(value: str) -> Optional[float]:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


class ErrorAnswer(Exception):
    def __init__(self, code: int, err: str, message: str, headers: Optional[dict] = None):
        super().__init__(message)
        self.code, self.err, self.message, self.headers = code, err, message, headers or {}


# -------------------------------------------------------------------------------------------------------- server
class ConformanceServer:
    """Start with `ConformanceServer().start()`; `base_url` is what the SDK is configured with."""

    def __init__(self, api_key: Optional[str] = None, prefix: str = "", tls: Optional[tuple[str, str]] = None,
                 validator: Optional[Validator] = None, parked_prefix: str = "/parked"):
        self.api_key = api_key
        self.prefix = prefix.rstrip("/")
        self.parked_prefix = parked_prefix
        self.tls = tls
        self.validator = validator or Validator()
        self.lock = threading.Condition()
        self.requests: list[Request] = []
        self.failures: list[str] = []  # conformance failures of the client (the SDK)
        self.server_bugs: list[str] = []  # this server answered against openapi.yaml: a bug in the test double
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.events: dict[str, dict] = {}  # messageId -> message as first stored
        self.event_receipts: dict[str, int] = defaultdict(int)  # messageId -> times it arrived in a stored batch
        self.records: dict[str, dict] = {}  # record_id -> record
        self.refused_records: dict[str, str] = {}  # record hash -> reason, for records this server refused
        self.deletions: dict[str, dict] = {}  # requestId -> request
        self.deletion_receipts: dict[str, int] = defaultdict(int)
        self.config_bytes: Optional[bytes] = None
        self.etags_served: set[str] = set()
        self.etag_prefix = ""  # "W/" serves weak ETags (a SHOULD-violation, to see the SDK echo it as received)
        self.reject_event_names: set[str] = set()  # business rule: 400 invalid_event for these names
        self.reject_status = 400  # 400 or 422 for the business rules
        self.reject_record_ids: set[str] = set()  # business rule: 400 invalid_record for these record ids
        self.max_decompressed = DEFAULT_MAX_DECOMPRESSED
        self.tls_handshake_failures = 0
        self.connections = 0
        self.wallet = WalletIssuer()  # protocol.md § The wallet: the issuer's side
        self._httpd: Optional[http.server.ThreadingHTTPServer] = None

    # ------------------------------------------------------------------ control
    def start(self) -> "ConformanceServer":
        owner = self

        class Httpd(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                import sys
                exc = sys.exc_info()[1]
                if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
                    return  # a client closing a kept-alive connection (e.g. the CLI process exiting)
                super().handle_error(request, client_address)

            def get_request(self):
                sock, addr = self.socket.accept()
                with owner.lock:
                    owner.connections += 1
                return sock, addr

        self._httpd = Httpd(("127.0.0.1", 0), _handler_for(self))
        self.port = self._httpd.server_address[1]
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self._ssl = ctx
        else:
            self._ssl = None
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{self.prefix}"

    @property
    def parked_url(self) -> str:
        """A base URL on this server where every endpoint answers 404 (a pause by protocol.md § Responses, which
        lasts until the process restarts): lets a `footfall track` process run without consuming the faults
        scripted for the `flush` that follows."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{self.parked_prefix}"

    def script(self, endpoint: str, *faults: Fault):
        """The next len(faults) requests to `endpoint` (batch, config, consent, deletion, wallet_changes,
        wallet_clips, wallet_redemptions) get these answers."""
        with self.lock:
            self.faults[endpoint].extend(faults)

    def pending_faults(self, endpoint: str) -> int:
        with self.lock:
            return len(self.faults[endpoint])

    def set_config(self, document: Any):
        """What GET /v1/config serves: a JSON-able document, raw bytes, or None (404 no_config)."""
        with self.lock:
            if document is None or isinstance(document, bytes):
                self.config_bytes = document
            else:
                self.config_bytes = json.dumps(document, separators=(",", ":")).encode()

    def etag(self) -> Optional[str]:
        with self.lock:
            if self.config_bytes is None:
                return None
            return '"' + hashlib.sha256(self.config_bytes).hexdigest() + '"'

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
                self.lock.wait(min(left, 0.25))

    def of(self, endpoint: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def fail(self, req: Optional[Request], problem: str):
        text = f"{('#' + str(req.n) + ' ' + req.method + ' ' + req.raw_path) if req else 'server'}: {problem}"
        with self.lock:
            self.failures.append(text)
            if req:
                req.problems.append(problem)

    # ------------------------------------------------------------------ request handling
    def handle(self, h: "http.server.BaseHTTPRequestHandler") -> None:
        raw_path = h.path
        path = raw_path.split("?", 1)[0]
        parked = False
        if self.parked_prefix and path.startswith(self.parked_prefix + "/"):
            path, parked = path[len(self.parked_prefix):], True
        elif self.prefix:
            if path.startswith(self.prefix + "/"):
                path = path[len(self.prefix):]
            else:
                path = "(outside prefix)" + path
        headers = Headers(list(h.headers.items()))
        raw = _read_body(h)
        with self.lock:
            req = Request(n=len(self.requests) + 1, at=time.monotonic(), method=h.command, path=path,
                          raw_path=raw_path, endpoint="parked" if parked else ENDPOINTS.get(path, "other"),
                          headers=headers, raw_len=len(raw) if raw is not None else 0)
            self.requests.append(req)
            self.lock.notify_all()
        try:
            self._check_and_answer(h, req, raw, parked)
        finally:
            with self.lock:
                req.answered_at = time.monotonic()
                self.lock.notify_all()

    def _decode(self, req: Request, raw: bytes) -> bytes:
        """Content-Encoding (protocol.md § Compression). Decodes up to HARD_LIMIT so that even a request answered
        413 is recorded and validated; the answer itself applies `max_decompressed` (see _check_and_answer)."""
        enc = (req.headers.get("Content-Encoding") or "identity").strip().lower()
        if enc in ("gzip", "x-gzip"):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = d.decompress(raw, HARD_LIMIT + 1)
            except zlib.error as e:
                raise ErrorAnswer(400, "invalid_request", f"body is not gzip: {e}")
            if len(out) > HARD_LIMIT or d.unconsumed_tail:
                raise ErrorAnswer(413, "payload_too_large", f"body is above {HARD_LIMIT} bytes decompressed")
            if not d.eof:
                raise ErrorAnswer(400, "invalid_request", "gzip body is truncated")
            if d.unused_data:
                self.fail(req, "gzip body has more than one member (protocol.md § Compression: one member)")
            return out
        if enc == "identity":
            return raw
        raise ErrorAnswer(415, "unsupported_encoding", f"Content-Encoding {enc!r} is not supported")

    def _check_and_answer(self, h, req: Request, raw: Optional[bytes], parked: bool):
        ep = req.endpoint
        op_path = req.path if req.path in self.validator.doc["paths"] else None

        # ---- what the docs say the SDK sends: checked on every request, whatever the answer
        if req.path in RESERVED:
            self.fail(req, f"{req.path} is reserved and 'not yet sent by the SDK' (protocol.md § Reserved endpoints)")
        elif op_path is None or req.path == "/healthz":
            self.fail(req, f"{req.method} {req.raw_path}: not a path of the protocol (openapi.yaml paths)")
        decoded: Optional[bytes] = None
        body: Any = None
        decode_error: Optional[ErrorAnswer] = None
        if raw:
            try:
                decoded = self._decode(req, raw)
            except ErrorAnswer as e:
                decode_error = e
            if decoded is not None:
                req.decoded_len = len(decoded)
                try:
                    text = decoded.decode("utf-8")
                    body = json.loads(text)
                except (UnicodeDecodeError, ValueError):
                    body = _NO_JSON
                    text = None
                if text is not None and has_insignificant_whitespace(text):
                    self.fail(req, "JSON body has insignificant whitespace (protocol.md § POST /v1/batch)")
        req.body = body
        if op_path and req.method in ("GET", "POST", "HEAD"):
            method = "get" if req.method == "HEAD" else req.method
            problems = self.validator.check_request(op_path, method, req.headers,
                                                    body if decoded is not None else _NO_JSON if raw else None,
                                                    bool(raw), req.query())
            for p in problems:
                self.fail(req, "openapi: " + p)
        self._check_prose(req, raw)

        # ---- the answer a server written from the docs gives
        try:
            if parked:
                raise ErrorAnswer(404, "not_found", "parked: this prefix serves nothing")
            if ep == "other":
                raise ErrorAnswer(404, "not_found", f"no such endpoint {req.path}")
            allowed = ("GET", "HEAD") if ep == "config" else ("GET",) if ep == "wallet_changes" else ("POST",)
            if req.method not in allowed:
                raise ErrorAnswer(405, "method_not_allowed", f"use {', '.join(allowed)}", {"Allow": ", ".join(allowed)})
            # protocol.md § Authentication / Writing a backend (2): 401 with WWW-Authenticate for a missing or
            # wrong key; compared in constant time.
            if self.api_key is not None:
                want = "Basic " + base64.b64encode((self.api_key + ":").encode()).decode()
                got = req.headers.get_all("Authorization")
                if len(got) != 1 or not hmac.compare_digest(got[0].encode(), want.encode()):
                    raise ErrorAnswer(401, "unauthorized", "missing or wrong API key",
                                      {"WWW-Authenticate": 'Basic realm="conformance"'})
            with self.lock:
                fault = self.faults[ep].popleft() if self.faults[ep] else None
            if fault:
                req.fault = fault.describe()
            if fault and not fault.store:
                if fault.kind == "drop":
                    return self._drop(h, req)
                hdrs = dict(fault.headers)
                if fault.retry_after is not None:
                    hdrs["Retry-After"] = fault.retry_value()
                return self._send_error(h, req, fault.code, "injected_fault", f"injected {fault.code}", hdrs, fault.body)
            if decode_error:
                raise decode_error
            # protocol.md § Compression: cap the decompressed size and answer 413 above it.
            if req.decoded_len > self.max_decompressed:
                raise ErrorAnswer(413, "payload_too_large", f"body is {req.decoded_len} bytes decompressed, "
                                                            f"above this server's cap of {self.max_decompressed}")
            if ep == "config":
                return self._config(h, req, fault)
            if ep == "wallet_changes":
                return self._wallet_changes(h, req, fault)
            if body is None and ep != "config":
                raise ErrorAnswer(400, "invalid_request", "request body is required")
            if body is _NO_JSON:
                raise ErrorAnswer(400, "invalid_batch" if ep == "batch" else "invalid_request", "body is not JSON")
            if ep == "batch":
                code, answer = self._store_batch(req, body)
            elif ep == "consent":
                code, answer = self._store_records(req, body)
            elif ep == "wallet_clips":
                code, answer = self._store_clips(req, body)
            elif ep == "wallet_redemptions":
                code, answer = self._store_redemptions(req, body)
            else:
                code, answer = self._store_deletion(req, body)
            req.stored = True
            self._answer(h, req, code, answer, fault)
        except ErrorAnswer as e:
            self._send_error(h, req, e.code, e.err, e.message, e.headers)

    def _check_prose(self, req: Request, raw: Optional[bytes]):
        """Checks protocol.md states in prose (not expressible in the OpenAPI document)."""
        names = req.headers.names()
        allowed = GET_HEADERS if req.method in ("GET", "HEAD") else POST_HEADERS
        if req.endpoint in WALLET:
            allowed = allowed | HOLDER_HEADERS
        extra = sorted(names - allowed)
        if extra:
            self.fail(req, f"headers not in protocol.md § Request headers: {extra}")
        for name in names:
            if len(req.headers.get_all(name)) > 1:
                self.fail(req, f"header {name} sent {len(req.headers.get_all(name))} times")
        if req.method == "POST" and req.headers.get("Accept") not in (None, "*/*"):
            self.fail(req, f"Accept {req.headers.get('Accept')!r}: protocol.md § Request headers lists `Accept: */*`")
        if req.method in ("GET", "HEAD"):
            if req.headers.get("Accept") != "application/json":
                self.fail(req, f"GET {req.path} must carry Accept: application/json, got {req.headers.get('Accept')!r}")
            inm = req.headers.get("If-None-Match")
            with self.lock:
                served = set(self.etags_served) if req.endpoint != "wallet_changes" else set(self.wallet.etags)
            if inm is not None and inm not in served:
                self.fail(req, f"If-None-Match {inm!r} is not an ETag this server sent (must be 'exactly as received')")
            if raw:
                self.fail(req, f"GET {req.path} carries a body")
        elif req.endpoint in ("batch", "consent", "deletion", "wallet_clips", "wallet_redemptions"):
            if (req.headers.get("Content-Encoding") or "").lower() != "gzip":
                self.fail(req, "the SDK always gzips (protocol.md § Compression)")
            if raw and raw[:2] != b"\x1f\x8b":
                self.fail(req, "body is not gzip")
        ua = req.headers.get("User-Agent") or ""
        body = req.body
        if req.endpoint == "batch" and isinstance(body, dict):
            batch = body.get("batch") if isinstance(body.get("batch"), list) else []
            if req.decoded_len >= SDK_MAX_BATCH_BYTES:
                self.fail(req, f"uncompressed body {req.decoded_len} bytes, the SDK keeps it below {SDK_MAX_BATCH_BYTES}")
            if len(batch) > SDK_MAX_BATCH_MESSAGES:
                self.fail(req, f"{len(batch)} messages in a batch, at most {SDK_MAX_BATCH_MESSAGES}")
            seqs = [m.get("context", {}).get("footfall", {}).get("seq") for m in batch if isinstance(m, dict)]
            if all(isinstance(s, int) for s in seqs) and seqs != sorted(seqs):
                self.fail(req, f"batch not in ascending seq order: {seqs} (protocol.md § Batch framing)")
            if len(set(seqs)) != len(seqs):
                self.fail(req, f"a seq appears twice in one batch: {seqs}")
            for m in batch:
                if not isinstance(m, dict):
                    continue
                lib = (m.get("context") or {}).get("library") or {}
                if lib.get("version") and not ua.startswith(f"footfall/{lib.get('version')} ("):
                    self.fail(req, f"User-Agent {ua!r} does not carry context.library.version {lib.get('version')!r}")
                    break
                if m.get("type") == "identify" and (m.get("context") or {}).get("footfall", {}).get("purpose") != "analytics":
                    self.fail(req, f"identify {m.get('messageId')} purpose is not 'analytics' (protocol.md § Message fields)")
                mid = m.get("messageId")
                if isinstance(mid, str) and re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-7", mid):
                    ts_ms = int(mid.replace("-", "")[:12], 16)
                    ts = m.get("timestamp")
                    if isinstance(ts, str) and RFC3339_RE.match(ts):
                        # messageId: "The first 48 bits are the event time in Unix ms."
                        t = time.mktime(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
                        t_ms = int(t) * 1000 + int(ts[20:23])
                        if abs(t_ms - ts_ms) > 1:
                            self.fail(req, f"messageId {mid} carries time {ts_ms}, timestamp {ts} is {t_ms}")
                with self.lock:
                    first = self.events.get(mid)
                if first is not None and first != m:
                    self.fail(req, f"message {mid} re-sent with different JSON (protocol.md § Delivery: 'the same JSON')")
        if req.endpoint == "consent" and isinstance(body, dict):
            recs = body.get("records") if isinstance(body.get("records"), list) else []
            if len(recs) > SDK_MAX_BATCH_MESSAGES or req.decoded_len >= SDK_MAX_BATCH_BYTES:
                self.fail(req, f"{len(recs)} records / {req.decoded_len} bytes: above the essential lane limits")
            for i, r in enumerate(recs):
                if isinstance(r, dict) and list(r) != RECORD_MEMBERS:
                    self.fail(req, f"record {i} members {list(r)} are not exactly, in order, {RECORD_MEMBERS}")
            # Chain order: "Within one install, records arrive in chain order."
            for a, b in zip(recs, recs[1:]):
                if isinstance(a, dict) and isinstance(b, dict) and b.get("prev_hash") != a.get("hash"):
                    self.fail(req, f"record {b.get('record_id')} does not link to the record before it in the request")
            if recs and isinstance(recs[0], dict):
                prev = recs[0].get("prev_hash")
                with self.lock:
                    known = {r["hash"] for r in self.records.values()} | set(self.refused_records)
                if prev != ZERO_HASH and prev not in known:
                    self.fail(req, f"record {recs[0].get('record_id')} links to {prev[:12] if isinstance(prev, str) else prev}..., "
                                   "which was never received: records are not in chain order")
        if req.endpoint == "deletion" and isinstance(body, dict):
            if "userId" in body and body["userId"] is None:
                self.fail(req, "userId is null (protocol.md: 'Omitted (never null)')")
        if req.endpoint in WALLET:
            self._check_wallet_prose(req, body)

    # ------------------------------------------------------------------ endpoints
    def _config(self, h, req: Request, fault: Optional[Fault]):
        """protocol.md § GET {base}/v1/config: 200 + strong ETag + Cache-Control: no-cache; 304 on a matching
        If-None-Match (weak comparison, `*` and lists allowed); 404 when there is no configuration."""
        with self.lock:
            doc = self.config_bytes
        if doc is None:
            raise ErrorAnswer(404, "no_config", "this server has no remote configuration")
        etag = self.etag_prefix + '"' + hashlib.sha256(doc).hexdigest() + '"'
        inm = req.headers.get("If-None-Match")
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        with self.lock:
            self.etags_served.add(etag)
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            opaque = lambda t: t[2:] if t.startswith("W/") else t  # noqa: E731
            if "*" in tags or any(opaque(t) == opaque(etag) for t in tags):
                return self._raw_answer(h, req, 304, b"", headers, None)
        return self._raw_answer(h, req, 200, b"" if req.method == "HEAD" else doc,
                                {**headers, "Content-Type": "application/json"}, fault)

    def _store_batch(self, req: Request, body: Any) -> tuple[int, dict]:
        """protocol.md § Writing a backend 4–7: parse, validate all-or-nothing, dedupe by messageId, 200."""
        if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
            raise ErrorAnswer(400, "invalid_batch", 'body is not {"batch": [...]}')
        if "sentAt" in body and not (isinstance(body["sentAt"], str) and RFC3339_RE.match(body["sentAt"])):
            raise ErrorAnswer(400, "invalid_batch", "sentAt is not RFC 3339")
        for i, m in enumerate(body["batch"]):
            problem = _message_problem(m)
            if problem is None and m.get("event") in self.reject_event_names:
                problem = f"event name {m['event']!r} is refused by this server"
            if problem:
                who = f"event {m['messageId']}" if isinstance(m, dict) and isinstance(m.get("messageId"), str) else f"event at index {i}"
                code = self.reject_status if m.get("event") in self.reject_event_names else 400
                raise ErrorAnswer(code, "invalid_event", f"{who}: {problem}")
        accepted = duplicates = 0
        with self.lock:
            for m in body["batch"]:
                mid = m["messageId"].lower()
                self.event_receipts[mid] += 1
                if mid in self.events:
                    duplicates += 1
                else:
                    self.events[mid] = m
                    accepted += 1
        return 200, {"accepted": accepted, "duplicates": duplicates}

    def _store_records(self, req: Request, body: Any) -> tuple[int, dict]:
        """protocol.md § POST {base}/v1/consent-records, Server duties: verify every hash, all-or-nothing, store by
        record_id if absent, 200 {"accepted","duplicates"}."""
        if not isinstance(body, dict) or not isinstance(body.get("records"), list) or not body["records"]:
            raise ErrorAnswer(400, "invalid_request", '"records" must be a non-empty array of consent records')
        for i, r in enumerate(body["records"]):
            rid = r.get("record_id") if isinstance(r, dict) else None
            who = f"record {rid}" if isinstance(rid, str) and rid else f"record at index {i}"
            if not isinstance(r, dict) or set(r) != set(RECORD_MEMBERS):
                raise ErrorAnswer(400, "invalid_record", f"{who}: members are not those of protocol.md's table")
            errors = self.validator.schema_errors(self.validator.component("ConsentRecord"), r)
            if errors:
                raise ErrorAnswer(400, "invalid_record", f"{who}: {errors[0]}")
            computed = record_hash(r)
            if computed != r["hash"]:
                raise ErrorAnswer(400, "invalid_record", f"{who}: hash {r['hash']} does not match its content (computed {computed})")
            if r["record_id"] in self.reject_record_ids:
                with self.lock:
                    self.refused_records[r["hash"]] = "business rule"
                raise ErrorAnswer(400, "invalid_record", f"{who}: refused by this server's rules")
        accepted = duplicates = 0
        with self.lock:
            for r in body["records"]:
                if r["record_id"] in self.records:
                    duplicates += 1
                else:
                    self.records[r["record_id"]] = r
                    accepted += 1
        return 200, {"accepted": accepted, "duplicates": duplicates}

    def _store_deletion(self, req: Request, body: Any) -> tuple[int, dict]:
        """protocol.md § POST {base}/v1/rights/deletion: record by requestId if absent, 202 acknowledged."""
        if not isinstance(body, dict):
            raise ErrorAnswer(400, "invalid_request", "body is not a deletion request")
        rid = body.get("requestId")
        if not (isinstance(rid, str) and UUID_RE.match(rid)):
            raise ErrorAnswer(400, "invalid_request", "requestId is not a canonical UUID")
        ids = body.get("anonymousIds")
        if not (isinstance(ids, list) and ids and all(isinstance(x, str) and x for x in ids)):
            raise ErrorAnswer(400, "invalid_request", f"deletion request {rid}: anonymousIds is missing or invalid")
        uid = body.get("userId")
        if uid is not None and not (isinstance(uid, str) and uid.strip()):
            raise ErrorAnswer(400, "invalid_request", f"deletion request {rid}: userId is blank")
        if not (isinstance(body.get("requestedAt"), str) and RFC3339_RE.match(body["requestedAt"])):
            raise ErrorAnswer(400, "invalid_request", f"deletion request {rid}: requestedAt is not RFC 3339")
        with self.lock:
            self.deletion_receipts[rid] += 1
            if rid in self.deletions and self.deletions[rid] != body:
                self.fail(req, f"deletion request {rid} re-sent with different JSON")
            self.deletions.setdefault(rid, body)
        return 202, {"status": "acknowledged", "requestId": rid}

    # ------------------------------------------------------------------ the wallet
    @staticmethod
    def holder_of(req: Request) -> tuple[Optional[str], Optional[str]]:
        """protocol.md § The wallet, Who is asking: (anonymous id, decoded user id). The holder is "the user id
        when there is one and the anonymous id otherwise"; the user id header is percent-encoded UTF-8."""
        import urllib.parse

        anon = req.headers.get("X-Footfall-Anonymous-Id")
        uid = req.headers.get("X-Footfall-User-Id")
        if uid is not None:
            try:
                uid = urllib.parse.unquote(uid, errors="strict")
            except UnicodeDecodeError:
                uid = None
        return anon, uid

    def _holder(self, req: Request) -> str:
        anon, uid = self.holder_of(req)
        if not anon and req.method == "POST":
            # Liberal (protocol.md § Versioning: be liberal): a clip or redemption without the holder headers is
            # flagged as non-conforming above, and the holder is read from the body, which names it too.
            items = req.body.get("clips" if req.endpoint == "wallet_clips" else "redemptions") if isinstance(req.body, dict) else None
            first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
            anon, uid = first.get("anonymousId"), first.get("userId")
        if not anon:
            raise ErrorAnswer(400, "invalid_request", "X-Footfall-Anonymous-Id is missing")
        return "user:" + uid if uid is not None else "anon:" + anon

    def _check_wallet_prose(self, req: Request, body: Any):
        """protocol.md § The wallet in prose: the holder headers, the user id percent-encoded, the body naming the
        same holder, a re-sent clip or redemption carrying the same JSON, at most 100 per request."""
        uid_raw = req.headers.get("X-Footfall-User-Id")
        if uid_raw is not None and not PERCENT_ENCODED_RE.match(uid_raw):
            self.fail(req, f"X-Footfall-User-Id {uid_raw!r} is not percent-encoded (protocol.md: every byte except "
                           "A-Z a-z 0-9 - . _ ~ becomes %XX)")
        anon, uid = self.holder_of(req)
        if req.endpoint == "wallet_changes":
            since = req.query().get("since")
            with self.lock:
                known = since is None or since[0] in self.wallet.cursors
                inm = req.headers.get("If-None-Match")
                inm_since = self.wallet.etags.get(inm, "(never served)") if inm is not None else None
            if not known:
                self.fail(req, f"since={since[0][:40]!r} is not a cursor this server sent ('Sent back as since')")
            if inm is not None and inm_since != (since[0] if since else None):
                self.fail(req, f"If-None-Match {inm} was the ETag of the answer to since={inm_since!r}, sent now with "
                               f"since={since[0] if since else None!r} (protocol.md: 'only when it asks with that "
                               "same cursor again')")
            return
        key = "clips" if req.endpoint == "wallet_clips" else "redemptions"
        items = body.get(key) if isinstance(body, dict) and isinstance(body.get(key), list) else []
        if len(items) > SDK_MAX_BATCH_MESSAGES or req.decoded_len >= SDK_MAX_BATCH_BYTES:
            self.fail(req, f"{len(items)} {key} / {req.decoded_len} bytes: above the essential lane limits")
        idk = "clipId" if key == "clips" else "redemptionId"
        for item in items:
            if not isinstance(item, dict):
                continue
            if anon is not None and item.get("anonymousId") != anon:  # a missing header is flagged by openapi
                self.fail(req, f"{idk} {item.get(idk)}: anonymousId {item.get('anonymousId')!r} is not the holder "
                               f"of X-Footfall-Anonymous-Id {anon!r} ('The holder, as in the headers')")
            if anon is not None and item.get("userId") != uid:
                self.fail(req, f"{idk} {item.get(idk)}: userId {item.get('userId')!r}, X-Footfall-User-Id names {uid!r}")
            if "userId" in item and item["userId"] is None:
                self.fail(req, f"{idk} {item.get(idk)}: userId is null ('Omitted (never null)')")
            with self.lock:
                first = (self.wallet.clips if key == "clips" else
                         {k: v["request"] for k, v in self.wallet.redemptions.items()}).get(item.get(idk))
            if first is not None and first != item:
                self.fail(req, f"{idk} {item.get(idk)} re-sent with different JSON (protocol.md: 'the same JSON and "
                               "idempotency key on every attempt')")
            if key == "clips":
                with self.lock:
                    hc = self.wallet.by_serial.get(item.get("serial"))
                if hc is None or hc.coupon_id != item.get("couponId"):
                    self.fail(req, f"clip {item.get('clipId')}: coupon {item.get('couponId')!r} serial "
                                   f"{item.get('serial')!r} is not a grant this issuer gave ('as its grant names it')")

    def _wallet_changes(self, h, req: Request, fault: Optional[Fault]):
        """protocol.md § GET {base}/v1/wallet/changes: the feed, a strong ETag (sha256 of the body) and 304 for a
        matching If-None-Match; 410 for a cursor no longer known; `Date` on every answer (sent by `_write`)."""
        holder = self._holder(req)
        since = req.query().get("since", [None])[0]
        with self.lock:
            self.wallet.holders_seen.append(self.holder_of(req))
            code, payload = self.wallet.changes(holder, since)
        if code != 200:
            raise ErrorAnswer(code, payload["error"]["code"], payload["error"]["message"])
        self._check_own_answer(req, 200, payload)
        body = json.dumps(payload, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'
        with self.lock:
            self.wallet.etags.setdefault(etag, since)
        inm = req.headers.get("If-None-Match")
        if inm is not None:
            opaque = lambda t: t[2:] if t.startswith("W/") else t  # noqa: E731
            if any(t.strip() == "*" or opaque(t.strip()) == etag for t in inm.split(",")):
                return self._raw_answer(h, req, 304, b"", {"ETag": etag}, None)
        return self._raw_answer(h, req, 200, body, {"ETag": etag, "Content-Type": "application/json"}, fault)

    def _store_clips(self, req: Request, body: Any) -> tuple[int, dict]:
        """protocol.md § POST {base}/v1/wallet/clips: validate all-or-nothing, store by clipId, 200
        {"accepted","duplicates"}; a repeated clipId is a duplicate, not an error."""
        self._holder(req)
        if not isinstance(body, dict) or not isinstance(body.get("clips"), list):
            raise ErrorAnswer(400, "invalid_request", 'body is not {"clips": [...]}')
        for i, c in enumerate(body["clips"]):
            errors = self.validator.schema_errors(self.validator.component("WalletClip"), c)
            if errors:
                who = c.get("clipId") if isinstance(c, dict) else None
                raise ErrorAnswer(400, "invalid_request", f"clip {who or 'at index ' + str(i)}: {errors[0]}")
        accepted = duplicates = 0
        with self.lock:
            for c in body["clips"]:
                if self.wallet.clip(c):
                    accepted += 1
                else:
                    duplicates += 1
        return 200, {"accepted": accepted, "duplicates": duplicates}

    def _store_redemptions(self, req: Request, body: Any) -> tuple[int, dict]:
        """protocol.md § POST {base}/v1/wallet/redemptions: one result per redemption, in order. A request that is
        not a redemptions request is refused whole (400); a code that does not verify is `rejected`."""
        self._holder(req)
        if not isinstance(body, dict) or not isinstance(body.get("redemptions"), list):
            raise ErrorAnswer(400, "invalid_request", 'body is not {"redemptions": [...]}')
        for i, r in enumerate(body["redemptions"]):
            errors = self.validator.schema_errors(self.validator.component("WalletRedemption"), r)
            if errors:
                who = r.get("redemptionId") if isinstance(r, dict) else None
                raise ErrorAnswer(400, "invalid_request", f"redemption {who or 'at index ' + str(i)}: {errors[0]}")
        with self.lock:  # one lock around every spend: "mark a serial's use atomically"
            results = [self.wallet.redeem(r) for r in body["redemptions"]]
        return 200, {"results": results}

    # ------------------------------------------------------------------ writing answers
    def _check_own_answer(self, req: Request, code: int, payload: Optional[dict]):
        if payload is None or req.path not in self.validator.doc["paths"]:
            return
        method = "get" if req.method == "HEAD" else req.method.lower()
        schema = self.validator.response_schema(req.path, method, code)
        if schema:
            errors = self.validator.schema_errors(schema, payload)
            if errors:
                with self.lock:
                    self.server_bugs.append(f"#{req.n} answer {code} {payload}: {errors}")

    def _answer(self, h, req: Request, code: int, payload: dict, fault: Optional[Fault]):
        self._check_own_answer(req, code, payload)
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._raw_answer(h, req, code, body, {"Content-Type": "application/json"}, fault)

    def _send_error(self, h, req: Request, code: int, err: str, message: str, headers: dict,
                    body: Optional[bytes] = None):
        """protocol.md § Error body: {"error":{"code","message"}} with Content-Type: application/json."""
        payload = {"error": {"code": err, "message": message}}
        if body is None:
            self._check_own_answer(req, code, payload)
            body = json.dumps(payload, separators=(",", ":")).encode()
        self._raw_answer(h, req, code, body, {"Content-Type": "application/json", **headers}, None)

    def _drop(self, h, req: Request):
        with self.lock:
            req.status = None
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _raw_answer(self, h, req: Request, code: int, body: bytes, headers: dict, fault: Optional[Fault]):
        kind = fault.kind if fault else "plain"
        req.answer_headers = dict(headers)
        if kind in ("drop", "lost"):
            return self._drop(h, req)
        if kind == "slow":
            time.sleep(fault.delay)
        if kind == "status" and fault.store:  # stored first, then answered with the scripted status
            with self.lock:
                req.status = fault.code
            err = json.dumps({"error": {"code": "injected_fault", "message": f"injected {fault.code} after storing"}}).encode()
            hdrs = {"Content-Type": "application/json"}
            if fault.retry_after is not None:
                hdrs["Retry-After"] = fault.retry_value()
            req.answer_headers = dict(hdrs)
            return self._write(h, fault.code, hdrs, err)
        with self.lock:
            req.status = code
        if kind == "truncated":
            h.close_connection = True
            head = f"HTTP/1.1 {code} OK\r\nContent-Type: application/json\r\nContent-Length: {len(body) + 100}\r\n\r\n"
            h.wfile.write(head.encode() + body[: max(1, len(body) // 2)])
            h.wfile.flush()
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if kind == "http10":
            h.close_connection = True
            lines = [f"HTTP/1.0 {code} {_reason(code)}"] + [f"{k}: {v}" for k, v in headers.items()]
            h.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            h.wfile.flush()
            try:
                h.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        if kind == "chunked":
            h.send_response(code)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for i in range(0, len(body), 7):
                piece = body[i:i + 7]
                h.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")
            h.wfile.flush()
            return
        self._write(h, code, headers, body)

    @staticmethod
    def _write(h, code: int, headers: dict, body: bytes):
        h.send_response(code)
        for k, v in headers.items():
            h.send_header(k, v)
        if code != 304:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if code != 304 and h.command != "HEAD":
            h.wfile.write(body)
        h.wfile.flush()


def _reason(code: int) -> str:
    return http.server.BaseHTTPRequestHandler.responses.get(code, ("",))[0]


def _read_body(h) -> Optional[bytes]:
    te = (h.headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        out = bytearray()
        while True:
            size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += h.rfile.read(size)
            h.rfile.readline()
    length = h.headers.get("Content-Length")
    if length is None:
        return None
    n = int(length)
    return h.rfile.read(n) if n else b""


def _message_problem(m: Any) -> Optional[str]:
    """What makes a message invalid for this server: what protocol.md § Message fields makes mandatory, read
    liberally (§ Versioning: unknown fields ignored, any canonical UUID, any RFC 3339 timestamp, no userId needed)."""
    if not isinstance(m, dict):
        return "is not an object"
    if not (isinstance(m.get("messageId"), str) and UUID_RE.match(m["messageId"])):
        return "messageId is not a canonical UUID"
    if m.get("type") not in ("track", "identify"):
        return f"type {m.get('type')!r} is not track or identify"
    if not (isinstance(m.get("timestamp"), str) and RFC3339_RE.match(m["timestamp"])):
        return f"timestamp {m.get('timestamp')!r} is not RFC 3339"
    if m["type"] == "track" and not (isinstance(m.get("event"), str) and m["event"].strip()):
        return "a track message needs a non-empty event"
    if m["type"] == "identify" and not (isinstance(m.get("userId"), str) and m["userId"].strip()):
        return "an identify message needs a userId"
    for k in ("properties", "traits"):
        if m.get(k) is not None and not isinstance(m[k], dict):
            return f"{k} is not an object"
    if not isinstance(m.get("anonymousId"), str):
        return "anonymousId is not a string"
    ctx = m.get("context")
    if not isinstance(ctx, dict) or not isinstance(ctx.get("footfall"), dict):
        return "context.footfall is not an object"
    if not isinstance(ctx["footfall"].get("seq"), int):
        return "context.footfall.seq is not an integer"
    return None


def _handler_for(owner: ConformanceServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: protocol.md § Transport "Connections are reused"
        server_version = "footfall-conformance/1"
        sys_version = ""

        def setup(self):
            if owner._ssl is not None:
                try:
                    self.request = owner._ssl.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    with owner.lock:
                        owner.tls_handshake_failures += 1
                        owner.lock.notify_all()
                    self.request.close()
                    self._tls_failed = True
            super().setup()

        def handle(self):
            if getattr(self, "_tls_failed", False):
                return
            super().handle()

        def finish(self):
            try:
                super().finish()
            except (OSError, ValueError):
                pass

        def log_message(self, fmt, *args):  # quiet
            pass

        def _dispatch(self):
            try:
                owner.handle(self)
            except (BrokenPipeError, ConnectionResetError):  # the client went away: nothing to answer
                self.close_connection = True

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    return Handler


if __name__ == "__main__":  # a manual run: `python3 server.py` serves until interrupted
    import sys

    s = ConformanceServer(api_key=os.environ.get("API_KEY")).start()
    print(f"conformance server listening on {s.base_url}", flush=True)
    try:
        while True:
            time.sleep(1)
            for f in s.failures:
                print("FAIL", f, file=sys.stderr)
            s.failures.clear()
    except KeyboardInterrupt:
        s.stop()
