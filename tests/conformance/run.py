#!/usr/bin/env python3
"""Drives the real `footfall` CLI against `server.py` through scenarios with faults, asserting what
`docs/protocol.md` and `docs/openapi.yaml` say. Written from the docs only (see README.md).

    python3 tests/conformance/run.py [-k SUBSTRING] [-v]

FOOTFALL_BIN (default target/debug/footfall) is the binary under test. Prints one line per scenario, then
`conformance: N passed, N failed`, and exits non-zero on any failure. A scenario listed in EXPECTED_TO_BE_FIXED
that fails is reported as XFAIL and does not count as failed; one that passes counts as failed until it is
removed from the list (strict), so the list cannot go stale.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import server as S  # noqa: E402

FOOTFALL_BIN = os.environ.get("FOOTFALL_BIN", os.path.join(REPO, "target", "debug", "footfall"))

# Behaviour the docs do not describe yet or the SDK does not do yet, being fixed by another change right now.
# Each scenario here must FAIL today; once the fix lands it passes, and the run fails until the entry is removed.
EXPECTED_TO_BE_FIXED: dict[str, str] = {}

VERBOSE = False


class ScenarioFailure(AssertionError):
    pass


def check(condition, message: str):
    if not condition:
        raise ScenarioFailure(message)


# ------------------------------------------------------------------------------------------------ CLI helpers
class Ctx:
    """One scenario: its servers, its data directories, and helpers that run the CLI."""

    def __init__(self, name: str, validator: S.Validator):
        self.name = name
        self.validator = validator
        self.tmp = tempfile.mkdtemp(prefix=f"footfall-conf-{name}-")
        self.servers: list[S.ConformanceServer] = []
        self.log: list[str] = []

    def server(self, **kw) -> S.ConformanceServer:
        srv = S.ConformanceServer(validator=self.validator, **kw).start()
        self.servers.append(srv)
        return srv

    def data_dir(self, name: str = "app") -> str:
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def close(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        t = time.monotonic()
        p = subprocess.run([FOOTFALL_BIN, *args], capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        line = f"$ footfall {' '.join(args)} -> {p.returncode} in {time.monotonic() - t:.2f}s"
        self.log.append(line + (f"\n    stdout: {p.stdout.strip()[:400]}" if p.stdout.strip() else "")
                        + (f"\n    stderr: {p.stderr.strip()[:400]}" if p.stderr.strip() else ""))
        return p

    def ok(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        p = self.cli(*args, timeout=timeout)
        check(p.returncode == 0, f"`footfall {' '.join(args)}` exited {p.returncode}: {p.stderr.strip()[:300]}")
        return p

    def grant(self, d: str, *purposes: str) -> str:
        return json.loads(self.ok("consent", "grant", "--data-dir", d, *purposes).stdout)["record_id"]

    def deny(self, d: str, *purposes: str) -> str:
        return json.loads(self.ok("consent", "deny", "--data-dir", d, *purposes).stdout)["record_id"]

    def track(self, d: str, srv: S.ConformanceServer, name: str, count: int = 1, props: Optional[dict] = None,
              endpoint: Optional[str] = None, extra: tuple = ()) -> list[str]:
        """Tracks through the server's parked prefix (every answer 404, a pause that ends with the process), so
        the faults scripted for the next flush are consumed by that flush only. Returns the event ids."""
        args = ["track", "--data-dir", d, "--endpoint", endpoint or srv.parked_url, "--name", name,
                "--count", str(count), "--print-ids", *extra]
        if props is not None:
            args += ["--props", json.dumps(props)]
        return self.ok(*args).stdout.split()

    def flush(self, d: str, srv: S.ConformanceServer, timeout_s: int = 30, api_key: Optional[str] = None,
              endpoint: Optional[str] = None) -> subprocess.CompletedProcess:
        args = ["flush", "--data-dir", d, "--endpoint", endpoint or srv.base_url, "--timeout-s", str(timeout_s)]
        if api_key is not None:
            args += ["--api-key", api_key]
        return self.cli(*args, timeout=timeout_s + 30)

    def flush_until(self, d: str, srv: S.ConformanceServer, done: Callable[[], bool], what: str,
                    deadline_s: float = 20) -> int:
        """`footfall flush` exits once the event queue is empty, whatever the essential lane still holds, so a
        lane that needs retries is driven by flushing again until `done()` (a real condition) or the deadline.
        Returns the number of flushes."""
        end = time.monotonic() + deadline_s
        n = 0
        while True:
            n += 1
            p = self.flush(d, srv)
            check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
            if done():
                return n
            check(time.monotonic() < end, f"{what}: not done after {n} flushes in {deadline_s}s")

    def status(self, d: str) -> dict:
        return json.loads(self.ok("status", "--data-dir", d).stdout)

    def export(self, d: str) -> dict:
        return json.loads(self.ok("export", "--data-dir", d).stdout)

    def consent_status(self, d: str) -> dict:
        return json.loads(self.ok("consent", "status", "--data-dir", d).stdout)


def batch_requests(srv: S.ConformanceServer) -> list[S.Request]:
    return [r for r in srv.of("batch")]


def assert_exactly_once(srv: S.ConformanceServer, ids: list[str], what: str = "tracked events"):
    """protocol.md § Delivery, leases and dedupe: at least once on the wire, deduped by messageId on the server:
    every id stored, nothing stored that was not tracked."""
    stored = set(srv.events)
    missing = [i for i in ids if i not in stored]
    unexpected = sorted(stored - set(ids))
    check(len(set(ids)) == len(ids), f"{what}: the CLI printed a duplicate id")
    check(not missing, f"{what}: {len(missing)} of {len(ids)} never stored (lost), e.g. {missing[:3]}")
    check(not unexpected, f"{what}: {len(unexpected)} stored that were not tracked, e.g. {unexpected[:3]}")


def verify_halving(reqs: list[S.Request], refused=(400, 413, 422)) -> list[list[str]]:
    """protocol.md § Responses: a refused batch of n > 1 is split into the first floor(n/2) and the rest, halves
    sent in turn, left first, recursively. Walks the recorded requests and checks they follow that tree; returns
    the single-message chunks that were refused (the dead letters)."""
    seq = [(r.ids(), r.status) for r in reqs]
    pos = 0
    dead = []

    def expect(chunk):
        nonlocal pos
        check(pos < len(seq), f"bisection stopped early: expected a request with {len(chunk)} messages next")
        ids, st = seq[pos]
        check(ids == chunk, f"request {pos + 1} of the bisection sent {len(ids)} messages, expected the "
                            f"{len(chunk)} of the documented halving (left half first)")
        pos += 1
        if st in refused:
            if len(chunk) > 1:
                k = len(chunk) // 2
                expect(chunk[:k])
                expect(chunk[k:])
            else:
                dead.append(chunk)

    expect(seq[0][0])
    check(pos == len(seq), f"{len(seq) - pos} requests after the bisection finished: {seq[pos:]}")
    return dead


def seqs_of(srv: S.ConformanceServer) -> dict[str, int]:
    return {mid: m["context"]["footfall"]["seq"] for mid, m in srv.events.items()}


def policy(version: int, purposes=("analytics", "marketing"), **extra) -> dict:
    return {"consent": {"policyVersion": version, "noticeHash": f"sha256:v{version}",
                        "purposes": [{"id": p} for p in purposes],
                        "prompts": [{"id": "main", "enabled": True, "purposes": list(purposes),
                                     "copy": {"title": "t", "body": "b"}, "triggers": ["app_start"]}],
                        **extra}}


# ------------------------------------------------------------------------------------------------- scenarios
SCENARIOS: list[tuple[str, Callable[[Ctx], None]]] = []


def scenario(fn):
    SCENARIOS.append((fn.__name__, fn))
    return fn


@scenario
def clean_delivery(c: Ctx):
    """250 events: batches of at most 100, oldest first in seq order, each stored once and never re-sent after a
    2xx; the config is fetched before the first batch; connections are reused; status says delivered."""
    srv = c.server()
    d = c.data_dir()
    rid = c.grant(d, "analytics")
    ids = c.track(d, srv, "product_viewed", count=250, props={"price": 1980, "sku": "4901234567894", "ünï": "é/\\"})
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    batches = batch_requests(srv)
    check([len(r.ids()) for r in batches] == [100, 100, 50],
          f"batch sizes {[len(r.ids()) for r in batches]}, expected [100, 100, 50] (100 per batch, oldest first)")
    check(all(r.status == 200 for r in batches), "every batch answered 200")
    check(sum(srv.event_receipts.values()) == 250, "an event was re-sent although its batch was answered 200")
    order = [m for r in batches for m in r.ids()]
    check(order == ids, "messages were not sent oldest first in the order they were tracked")
    seqs = [srv.events[m]["context"]["footfall"]["seq"] for m in order]
    check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "seq is not strictly increasing across batches")
    check(seqs[0] >= 1, "seq starts at 1 or more")
    sent_ats = [r.body["sentAt"] for r in batches]
    check(all(isinstance(s, str) for s in sent_ats), "sentAt present on every batch")
    first = [r for r in srv.requests if r.endpoint != "parked"]
    check(first and first[0].endpoint == "config",
          f"the flush's first request is {first[0] if first else None}, protocol.md § GET /v1/config: "
          "'It fetches at start-up, before it serves the first flush'")
    check(rid in srv.records, "the consent grant's receipt was not uploaded by the flush")
    check(srv.connections < len(first),
          f"{srv.connections} connections for {len(first)} requests: protocol.md § Transport 'Connections are reused'")
    st = c.status(d)
    check(st["pending"] == 0 and st["delivered"] == 250, f"status after flush: pending {st['pending']}, delivered {st['delivered']}")
    check(srv.events[ids[0]]["properties"] == {"price": 1980, "sku": "4901234567894", "ünï": "é/\\"},
          f"properties changed on the way: {srv.events[ids[0]]['properties']}")
    check(all(srv.events[i]["context"]["footfall"]["purpose"] == "analytics" for i in ids), "purpose is not 'analytics' by default")
    # protocol.md § Properties and traits: a duplicate key keeps its last value; 64-bit integers are exact.
    # § Message fields: `purpose` is the one the app set on the event.
    c.grant(d, "marketing")
    more = c.ok("track", "--data-dir", d, "--endpoint", srv.parked_url, "--name", "promo_seen", "--print-ids",
                "--purpose", "marketing", "--props", '{"b":1,"a":{"z":true},"a":2,"big":9223372036854775807,"f":0.1}'
                ).stdout.split()
    check(c.flush(d, srv).returncode == 0, "second flush failed")
    m = srv.events[more[0]]
    check(m["properties"] == {"a": 2, "b": 1, "big": 9223372036854775807, "f": 0.1}, f"properties {m['properties']}")
    check(m["context"]["footfall"]["purpose"] == "marketing", f"purpose {m['context']['footfall']['purpose']}")
    check(m["context"]["footfall"]["seq"] > seqs[-1], "seq did not continue after the queue emptied")


@scenario
def api_key_and_401_pause(c: Ctx):
    """Authorization: Basic base64(key + ':') on every request (`k` gives `Basic azo=`); a 401 pauses (one
    attempt, data kept, reason kept as last error) until the next explicit flush."""
    srv = c.server(api_key="k")
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=5)
    p = c.flush(d, srv, api_key="wrong", timeout_s=20)
    check(p.returncode != 0, "flush with a wrong key reported success")
    check(len(batch_requests(srv)) == 1, f"{len(batch_requests(srv))} batch requests after a 401, expected 1 (pause, no retry)")
    check(not srv.events, "stored with a wrong key")
    st = c.status(d)
    check(st["pending"] == 5, f"pending {st['pending']} after a 401 pause, expected 5 (data kept)")
    check((st.get("last_error") or "").startswith("HTTP 401: missing or wrong API key"),
          f"last_error {st.get('last_error')!r}, protocol.md § Responses reason text 'HTTP <status>: <error.message>'")
    n_before = len(srv.requests)
    p = c.flush(d, srv, api_key="k")
    check(p.returncode == 0, f"flush with the right key failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    for r in srv.requests[n_before:]:
        check(r.headers.get_all("Authorization") == ["Basic azo="],
              f"#{r.n} {r.path} Authorization {r.headers.get_all('Authorization')}, expected exactly ['Basic azo=']")
    # Without a key the header is omitted.
    srv2 = c.server()
    d2 = c.data_dir("nokey")
    c.grant(d2, "analytics")
    ids2 = c.track(d2, srv2, "e", count=2)
    check(c.flush(d2, srv2).returncode == 0, "flush without key failed")
    assert_exactly_once(srv2, ids2)
    for r in srv2.requests:
        check(not r.headers.get_all("Authorization"), f"#{r.n} carries Authorization although no key is configured")


@scenario
def retry_5xx_with_backoff(c: Ctx):
    """408/429/5xx retry: the next 3 batch requests get 503, 500 and 408 without Retry-After; the same messages are
    re-sent (same JSON, new sentAt) within the documented full-jitter backoff [0, 1 s * 2^(n-1)), then stored once."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=10)
    srv.script("batch", S.status(503), S.status(500), S.status(408))
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    reqs = batch_requests(srv)
    check([r.status for r in reqs] == [503, 500, 408, 200], f"statuses {[r.status for r in reqs]}, expected 503, 500, 408, 200")
    check(all(r.ids() == ids for r in reqs), "a retry did not re-send the same messages")
    check(len({r.body["sentAt"] for r in reqs}) == len(reqs), "sentAt was not new on every attempt")
    for n, (a, b) in enumerate(zip(reqs, reqs[1:]), start=1):
        cap = min(300.0, 2 ** (n - 1))
        gap = b.at - a.answered_at
        check(gap < cap + 1.0, f"attempt {n + 1} came {gap:.2f}s after failure {n}; backoff is below {cap}s")


@scenario
def retry_after_honoured(c: Ctx):
    """Retry-After on 429/503: delta-seconds (2), 0 (clamped to 1 s) and an IMF-fixdate; no attempt before it."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=3)
    date = lambda: email.utils.formatdate(time.time() + 3, usegmt=True)  # noqa: E731
    srv.script("batch", S.status(429, retry_after="2"), S.status(503, retry_after="0"), S.status(503, retry_after=date))
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    reqs = batch_requests(srv)
    check([r.status for r in reqs] == [429, 503, 503, 200], f"statuses {[r.status for r in reqs]}")
    g1 = reqs[1].at - reqs[0].answered_at
    g2 = reqs[2].at - reqs[1].answered_at
    g3 = reqs[3].at - reqs[2].answered_at
    date_sent = email.utils.parsedate_to_datetime(reqs[2].answer_headers["Retry-After"]).timestamp()
    wall_wait = date_sent - (time.time() - (time.monotonic() - reqs[2].answered_at))
    check(g1 >= 1.9, f"retried {g1:.2f}s after 'Retry-After: 2'")
    check(g2 >= 0.9, f"retried {g2:.2f}s after 'Retry-After: 0', which is clamped to 1 s")
    check(g3 >= wall_wait - 0.1, f"retried {g3:.2f}s after a Retry-After date {wall_wait:.2f}s ahead")
    check(g1 < 2 + 1.5 and g2 < 1 + 1.5 and g3 < wall_wait + 1.5, f"waited far longer than asked: {g1:.2f}, {g2:.2f}, {g3:.2f}")


@scenario
def retry_after_invalid_forms_ignored(c: Ctx):
    """Retry-After forms the docs say are ignored (a fraction, a negative number, an RFC 850 date): plain backoff
    applies, so each retry comes within [0, 1 s * 2^(n-1)) and none waits for the value given."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=2)
    srv.script("batch", S.status(503, retry_after="5.5"), S.status(429, retry_after="-3"),
               S.status(503, retry_after="Sunday, 06-Nov-2094 08:49:37 GMT"))
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    reqs = batch_requests(srv)
    check([r.status for r in reqs] == [503, 429, 503, 200], f"statuses {[r.status for r in reqs]}")
    for n, (a, b) in enumerate(zip(reqs, reqs[1:]), start=1):
        gap = b.at - a.answered_at
        check(gap < 2 ** (n - 1) + 1.0, f"retry {n} came {gap:.2f}s after 'Retry-After: {a.answer_headers.get('Retry-After')}', "
                                        f"which must be ignored (backoff below {2 ** (n - 1)}s)")


@scenario
def killed_mid_upload_resends(c: Ctx):
    """The process is killed while the server holds a stored batch unanswered: a new process re-sends those messages
    at once (every lease is released at start-up) and the server keeps one copy."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=5)
    srv.script("batch", S.slow(4.0))
    proc = subprocess.Popen([FOOTFALL_BIN, "flush", "--data-dir", d, "--endpoint", srv.base_url, "--timeout-s", "30"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        srv.wait_for(lambda: any(r.stored for r in srv.of("batch")), 15, "the batch to be stored")
    finally:
        proc.kill()
        proc.wait()
    t = time.monotonic()
    p = c.flush(d, srv, timeout_s=20)
    check(p.returncode == 0, f"flush after the kill failed: {p.stderr.strip()}")
    check(time.monotonic() - t < 10, "the re-send waited for the lease of the killed process")
    assert_exactly_once(srv, ids)
    reqs = batch_requests(srv)
    check(len(reqs) == 2 and reqs[1].ids() == ids and reqs[1].status == 200, f"requests {reqs}")
    check(all(srv.event_receipts[i] == 2 for i in ids), "not re-sent exactly once more")


@scenario
def stored_then_refused_is_deduped(c: Ctx):
    """The server stores the batch and then answers 503 (and, next time, 429): the SDK re-sends; a duplicate gets
    the same 2xx, is counted in `duplicates`, and the SDK reads that count (status duplicates_reported)."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=4)
    srv.script("batch", S.status(503, store=True, retry_after="1"), S.status(429, store=True, retry_after="1"))
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    reqs = batch_requests(srv)
    check(len(reqs) == 3 and reqs[-1].status == 200, f"{reqs}")
    check(all(srv.event_receipts[i] == 3 for i in ids), "each message arrives 3 times (2 stored-then-refused + 1)")
    st = c.status(d)
    check(st["duplicates_reported"] == 4, f"status duplicates_reported {st['duplicates_reported']}, expected 4 "
                                          "(protocol.md § 2xx body: the SDK reads `duplicates`)")


@scenario
def lost_answers_are_resent(c: Ctx):
    """No answer is a retry: a dropped connection (nothing stored), a lost answer (stored, connection closed), a
    2xx whose body is cut short (stored): every message stored exactly once."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=120)
    srv.script("batch", S.drop(), S.lost(), S.truncated())
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    reqs = batch_requests(srv)
    check([r.fault for r in reqs[:3]] == ["drop", "lost", "truncated"], f"faults {[r.fault for r in reqs[:3]]}")
    check(all(r.ids() == ids[:100] for r in reqs[:4]), "the first batch was not re-sent whole after each fault")
    check(sum(srv.event_receipts[i] for i in ids[100:]) == 20, "the second batch was re-sent although answered 200")


@scenario
def unusual_but_valid_answers(c: Ctx):
    """A slow answer (2 s, within the 30 s timeout), an HTTP/1.0 answer and a chunked answer are all 2xx: each batch
    is delivered once and never re-sent."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=300)
    srv.script("batch", S.slow(2.0), S.http10(), S.chunked())
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    reqs = batch_requests(srv)
    check([r.fault for r in reqs] == ["slow 2.0s", "http10", "chunked"], f"requests {reqs}: a 2xx batch was re-sent")
    check(all(v == 1 for v in srv.event_receipts.values()), "a message was re-sent after a 2xx")


@scenario
def poison_event_bisected(c: Ctx):
    """400 bisects: one invalid message among 16 is isolated by halving (left first) and dead-lettered with reason
    'HTTP 400: <error.message>'; the other 15 are stored once; it costs about 2*log2(16) extra requests."""
    srv = c.server()
    srv.reject_event_names = {"poison"}
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "ok", count=5) + c.track(d, srv, "poison") + c.track(d, srv, "ok", count=10)
    poison = ids[5]
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, [i for i in ids if i != poison])
    dead = verify_halving(batch_requests(srv))
    check(dead == [[poison]], f"dead-lettered chunks {dead}, expected only the poison event")
    check(len(batch_requests(srv)) <= 1 + 2 * 4, f"{len(batch_requests(srv))} requests to isolate one message in 16")
    ex = c.export(d)
    dl = ex.get("deadLetters", [])
    check(len(dl) == 1, f"{len(dl)} dead letters on the device, expected 1")
    text = json.dumps(dl[0])
    check(poison in text, "the dead letter is not the poison event")
    check(f"HTTP 400: event {poison}: event name 'poison' is refused by this server" in text,
          f"dead-letter reason is not 'HTTP 400: <error.message>': {text[:300]}")
    st = c.status(d)
    check(st["dead_lettered"] == 1 and st["pending"] == 0, f"status dead_lettered {st['dead_lettered']}, pending {st['pending']}")


@scenario
def poison_event_bisected_422(c: Ctx):
    """422 is handled as 400: the poison message is isolated by halving and dead-lettered alone."""
    srv = c.server()
    srv.reject_event_names = {"poison"}
    srv.reject_status = 422
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "ok", count=2) + c.track(d, srv, "poison") + c.track(d, srv, "ok", count=4)
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, [i for i in ids if i != ids[2]])
    check(verify_halving(batch_requests(srv)) == [[ids[2]]], "422 did not isolate the poison event")
    check("HTTP 422: " in json.dumps(c.export(d).get("deadLetters")), "dead-letter reason lacks 'HTTP 422: '")


@scenario
def oversized_batch_split(c: Ctx):
    """413 splits: a server capping bodies at 30 000 bytes (deliberately below the 512 000 a conformant server must
    accept, to force 413s) gets halves until they fit; the one message that alone is too large is dead-lettered
    with status 413."""
    srv = c.server()
    srv.max_decompressed = 30_000
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "small", count=6, props={"pad": "x" * 4000})
    big = c.track(d, srv, "big", props={"pad": "y" * 31_000})
    ids += big + c.track(d, srv, "small", count=3, props={"pad": "z" * 4000})
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed: {p.stderr.strip()}")
    assert_exactly_once(srv, [i for i in ids if i != big[0]])
    dead = verify_halving(batch_requests(srv))
    check(dead == [big], f"dead-lettered chunks {dead}, expected only the big event")
    dl = c.export(d).get("deadLetters", [])
    check(len(dl) == 1 and "413" in json.dumps(dl[0]), f"dead letters {json.dumps(dl)[:300]}, expected one with 413")


@scenario
def pause_statuses(c: Ctx):
    """403, 404, a 3xx (never followed) and a 409 pause: one attempt, data kept, the flush says paused; the next
    explicit flush tries again and delivers."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=3)
    for code in (403, 404, 302, 409):
        n = len(batch_requests(srv))
        # a redirect carries a Location the SDK must not follow
        extra = {"Location": f"{srv.base_url}/elsewhere/v1/batch"} if code == 302 else {}
        srv.script("batch", S.status(code, body=b'{"error":{"code":"x","message":"nope"}}', headers=extra))
        p = c.flush(d, srv, timeout_s=20)
        check(p.returncode != 0, f"flush after {code} reported success")
        check("paus" in p.stderr.lower(), f"flush after {code} does not say paused: {p.stderr.strip()}")
        check(len(batch_requests(srv)) == n + 1, f"{len(batch_requests(srv)) - n} batch requests after {code}, expected 1")
        check(not any("elsewhere" in r.raw_path for r in srv.requests), "a redirect was followed")
        st = c.status(d)
        check(st["pending"] == 3, f"pending {st['pending']} after {code}")
        check((st.get("last_error") or "").startswith(f"HTTP {code}: nope"), f"last_error {st.get('last_error')!r}")
    check(c.flush(d, srv).returncode == 0, "the flush after the pauses failed")
    assert_exactly_once(srv, ids)


@scenario
def essential_lane_independent(c: Ctx):
    """Consent receipts travel in their own lane: a 404 on /v1/consent-records pauses that lane only (events are
    delivered), and a 403 on /v1/batch does not hold receipts back."""
    srv = c.server()
    d = c.data_dir()
    rid = c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=3)
    srv.script("consent", S.status(404))
    p = c.flush(d, srv)
    check(p.returncode == 0, f"flush failed although only the essential lane paused: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    check(rid not in srv.records, "the receipt was stored despite the 404")
    check(len(srv.of("consent")) == 1, f"{len(srv.of('consent'))} consent requests after a 404, expected 1 (pause)")
    rid2 = c.grant(d, "marketing")
    ids2 = c.track(d, srv, "e2", count=2)
    srv.script("batch", S.status(403))
    p = c.flush(d, srv, timeout_s=20)
    check(p.returncode != 0, "flush after a 403 reported success")
    check(rid in srv.records and rid2 in srv.records, "receipts were held back by the event lane's 403 pause")
    check(c.flush(d, srv).returncode == 0, "second flush failed")
    assert_exactly_once(srv, ids + ids2)


@scenario
def consent_receipts_verify(c: Ctx):
    """Grants and denials send receipts that validate, whose hashes verify over the documented canonical JSON, in
    chain order, each stored once across a 503 and a lost answer; a record refused on its own (400) is isolated by
    halving, not sent again, and listed by export under consent.refusedByBackend."""
    srv = c.server()
    d = c.data_dir()
    r1 = c.grant(d, "analytics")
    srv.script("consent", S.status(503), S.lost())
    ids = c.track(d, srv, "e")
    c.flush_until(d, srv, lambda: r1 in srv.records and not srv.pending_faults("consent")
                  and srv.of("consent")[-1].status == 200, "the first receipt reaches the server")
    assert_exactly_once(srv, ids)
    reqs = srv.of("consent")
    check([r.ids() for r in reqs] == [[r1]] * 3 and [r.status for r in reqs] == [503, None, 200],
          f"receipt attempts {reqs}, expected 503, a lost answer, then 200 (the same record each time)")
    check(len({json.dumps(r.body["records"]) for r in reqs}) == 1, "a re-sent record differs from the first copy")
    # Phase 2: the server refuses one record of three (its own rule): halving isolates it.
    r2 = c.grant(d, "marketing")
    r3 = c.deny(d, "marketing")
    srv.reject_record_ids = {r2}
    n = len(srv.of("consent"))
    c.flush_until(d, srv, lambda: r3 in srv.records, "the denial reaches the server")
    check(set(srv.records) == {r1, r3}, f"stored records {sorted(srv.records)}, expected the analytics grant and the denial")
    dead = verify_halving(srv.of("consent")[n:])
    check(dead == [[r2]], f"refused chunks {dead}")
    for rid in (r1, r3):
        rec = srv.records[rid]
        check(S.record_hash(rec) == rec["hash"], f"record {rid} hash does not verify")
    check(srv.records[r1]["decisions"] == {"analytics": True} and srv.records[r3]["decisions"] == {"marketing": False},
          "decisions do not match what was granted/denied")
    check(srv.records[r3]["prev_hash"] != srv.records[r1]["hash"], "the chain skips the refused record")
    n = len(srv.of("consent"))
    c.grant(d, "personalization")
    c.flush_until(d, srv, lambda: len(srv.records) == 3, "a later record reaches the server")
    check(all(r2 not in r.ids() for r in srv.of("consent")[n:]), "the refused record was sent again")
    refused = json.dumps(c.export(d)["consent"].get("refusedByBackend"))
    check(r2 in refused, f"export consent.refusedByBackend does not list the refused record: {refused[:300]}")


@scenario
def deletion_request(c: Ctx):
    """`forget`: a deletion request with every anonymous id of the install, re-sent with the same requestId and JSON
    across a 503 and a lost answer, recorded once, answered 202; events queued before it are never sent; seq
    continues and the anonymous id changes."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    delivered = c.track(d, srv, "before", count=2)
    check(c.flush(d, srv).returncode == 0, "first flush failed")
    anon = srv.events[delivered[0]]["anonymousId"]
    max_seq = max(seqs_of(srv).values())
    wiped = c.track(d, srv, "queued_then_forgotten", count=3)
    srv.script("deletion", S.status(503), S.lost())
    p = c.ok("forget", "--data-dir", d, "--endpoint", srv.base_url, "--timeout-s", "30")
    out = json.loads(p.stdout)
    check(out.get("state") == "acknowledged", f"forget printed {out}")
    check(list(srv.deletions) == [out["requestId"]], f"stored deletions {list(srv.deletions)}")
    check([r.status for r in srv.of("deletion")] == [503, None, 202],
          f"deletion attempts {srv.of('deletion')}, expected 503, a lost answer, 202")
    check(srv.deletion_receipts[out["requestId"]] == 2, "recorded twice (lost answer + re-send) but stored once")
    bodies = [r.body for r in srv.of("deletion")]
    check(all({k: v for k, v in b.items()} == bodies[0] for b in bodies), "re-sends differ")
    req = srv.deletions[out["requestId"]]
    check(anon in req["anonymousIds"], f"anonymousIds {req['anonymousIds']} lacks the install's id {anon}")
    check("userId" not in req, "userId sent although identify() was never called")
    check(not any(w in srv.events for w in wiped), "events queued before the deletion request were sent")
    after = c.track(d, srv, "after")
    check(c.flush(d, srv).returncode == 0, "flush after forget failed")
    m = srv.events[after[0]]
    check(m["anonymousId"] != anon, "the anonymous id did not change with the deletion request")
    check(m["context"]["footfall"]["seq"] > max_seq, f"seq {m['context']['footfall']['seq']} after forget is not above {max_seq}")
    st = [r for r in c.export(d).get("rightsRequests", []) if json.dumps(r).find(out["requestId"]) >= 0]
    check(st and "acknowledged" in json.dumps(st[0]), f"export rightsRequests {st}")


@scenario
def deletion_refused(c: Ctx):
    """A deletion request answered 400 is marked refused with the reason and not sent again."""
    srv = c.server()
    d = c.data_dir()
    srv.script("deletion", S.status(400, body=b'{"error":{"code":"invalid_request","message":"no thanks"}}'))
    p = c.cli("forget", "--data-dir", d, "--endpoint", srv.base_url, "--timeout-s", "10")
    check(p.returncode != 0, "forget reported success after a 400")
    check("refused" in p.stderr and "no thanks" in p.stderr, f"forget stderr: {p.stderr.strip()}")
    n = len(srv.of("deletion"))
    check(n == 1, f"{n} deletion attempts after a 400, expected 1")
    check(c.flush(d, srv).returncode == 0, "flush failed")
    rr = c.export(d).get("rightsRequests", [])
    check(rr and "refused" in json.dumps(rr) and "HTTP 400: no thanks" in json.dumps(rr), f"rightsRequests {json.dumps(rr)[:300]}")
    ids_sent = {r.body["requestId"] for r in srv.of("deletion")}
    check(len(srv.of("deletion")) == 1 and len(ids_sent) == 1, "the refused deletion request was sent again")


@scenario
def config_etag_revalidation(c: Ctx):
    """GET /v1/config: Accept: application/json; 200 + ETag applied; If-None-Match exactly as received gets 304; a
    changed document is applied; a policy the SDK refuses is not applied and its ETag not cached; 404 and 5xx keep
    the policy and never pause event uploads."""
    srv = c.server()
    d = c.data_dir()

    def needs_prompt():
        return c.ok("consent", "needs-prompt", "--data-dir", d, "--endpoint", srv.base_url)

    srv.set_config(policy(3))
    needs_prompt()
    cfg = srv.of("config")
    check(len(cfg) == 1 and cfg[0].status == 200, f"config requests {cfg}")
    check(cfg[0].headers.get("If-None-Match") is None, "If-None-Match sent before any policy was held")
    check(c.consent_status(d)["policy_version"] == 3, "policy 3 not applied")
    etag3 = srv.etag()
    needs_prompt()
    cfg = srv.of("config")
    check(cfg[-1].headers.get("If-None-Match") == etag3 and cfg[-1].status == 304,
          f"second fetch If-None-Match {cfg[-1].headers.get('If-None-Match')!r} status {cfg[-1].status}, expected {etag3} and 304")
    srv.set_config(policy(4))
    needs_prompt()
    check(srv.of("config")[-1].status == 200 and c.consent_status(d)["policy_version"] == 4, "policy 4 not applied")
    etag4 = srv.etag()
    bad = policy(5)
    bad["consent"]["purposes"][1]["materialChangeVersion"] = 6  # above policyVersion: the SDK refuses it
    srv.set_config(bad)
    needs_prompt()
    check(c.consent_status(d)["policy_version"] == 4, "an invalid policy (materialChangeVersion > policyVersion) was applied")
    needs_prompt()
    last = srv.of("config")[-1]
    check(last.headers.get("If-None-Match") == etag4 and last.status == 200,
          f"after a refused policy the SDK sent If-None-Match {last.headers.get('If-None-Match')!r}, expected the "
          "applied policy's ETag (the refused one is not cached)")
    # 404 and 503 keep the policy; config trouble never pauses event uploads.
    c.grant(d, "analytics")
    for fault in (S.status(404), S.status(503)):
        srv.script("config", fault)
        ids = c.track(d, srv, "e")
        p = c.flush(d, srv)
        check(p.returncode == 0, f"flush failed after config {fault.describe()}: {p.stderr.strip()}")
        check(ids[0] in srv.events, f"event not delivered after config {fault.describe()}")
        check(c.consent_status(d)["policy_version"] == 4, f"policy changed after config {fault.describe()}")
    # The SDK sends the ETag back "exactly as received", a weak one included.
    srv.etag_prefix = "W/"
    srv.set_config(policy(6))
    needs_prompt()
    weak = "W/" + srv.etag()
    needs_prompt()
    last = srv.of("config")[-1]
    check(last.headers.get("If-None-Match") == weak and last.status == 304,
          f"a weak ETag came back as {last.headers.get('If-None-Match')!r}, expected {weak!r}")
    check(c.consent_status(d)["policy_version"] == 6, "policy 6 not applied")
    srv.set_config(None)
    ids = c.track(d, srv, "e")
    check(c.flush(d, srv).returncode == 0 and ids[0] in srv.events, "no-config 404 paused uploads")
    check(c.consent_status(d)["policy_version"] == 6, "policy dropped after a 404 no_config")


@scenario
def lower_policy_version_not_applied(c: Ctx):
    """Serving policyVersion 12 then 10: 10 must not be applied (a lower policy version is never applied)."""
    srv = c.server()
    d = c.data_dir()
    srv.set_config(policy(12))
    c.ok("consent", "needs-prompt", "--data-dir", d, "--endpoint", srv.base_url)
    check(c.consent_status(d)["policy_version"] == 12, "policy 12 not applied")
    srv.set_config(policy(10))
    c.ok("consent", "needs-prompt", "--data-dir", d, "--endpoint", srv.base_url)
    v = c.consent_status(d)["policy_version"]
    check(v == 12, f"policy_version {v} after serving 10 over 12: a lower version was applied")


@scenario
def endpoint_forms(c: Ctx):
    """Base URL: a path prefix is kept and a trailing slash dropped; a query string, http://localhost and a
    non-loopback http:// host are refused at start-up, before any request."""
    srv = c.server(prefix="/prefix")
    d = c.data_dir()
    c.grant(d, "analytics")
    ids = c.track(d, srv, "e", count=2)
    p = c.flush(d, srv, endpoint=srv.base_url + "/")
    check(p.returncode == 0, f"flush with a prefix failed: {p.stderr.strip()}")
    assert_exactly_once(srv, ids)
    check(all(r.raw_path.startswith("/prefix/v1/") for r in srv.requests if r.endpoint != "parked"),
          f"paths {[r.raw_path for r in srv.requests]}")
    for bad in (srv.base_url + "?x=1", f"http://localhost:{srv.port}", "http://10.0.0.1:9", "http://example.com"):
        n = len(srv.requests)
        p = c.cli("track", "--data-dir", c.data_dir("bad"), "--endpoint", bad, "--name", "e")
        check(p.returncode != 0, f"endpoint {bad!r} was accepted; protocol.md § Transport says it is refused at start-up")
        check(len(srv.requests) == n, f"requests were sent with endpoint {bad!r}")


@scenario
def credentials_in_endpoint_url(c: Ctx):
    """Credentials in the endpoint URL are refused at configuration time, and only one Authorization header is
    ever sent."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    url = f"http://user:pw@127.0.0.1:{srv.port}"
    p = c.cli("track", "--data-dir", d, "--endpoint", url, "--api-key", "k", "--name", "e")
    p2 = c.cli("flush", "--data-dir", d, "--endpoint", url, "--api-key", "k", "--timeout-s", "5")
    multi = [r for r in srv.requests if len(r.headers.get_all("Authorization")) > 1]
    check(not multi, f"{len(multi)} requests carried more than one Authorization header: "
                     f"{multi[0].headers.get_all('Authorization') if multi else ''}")
    check(p.returncode != 0 and p2.returncode != 0, "an endpoint with credentials was accepted")
    check(not srv.requests, f"{len(srv.requests)} requests sent to an endpoint with credentials")


def held_by_retry_after(c: Ctx):
    """One event queued, then a flush answered 503 with `Retry-After: 600`: (server, data dir, that flush)."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    c.track(d, srv, "e")
    srv.script("batch", S.status(503, retry_after="600"))
    p = c.flush(d, srv, timeout_s=5)
    check(p.returncode != 0, "flush succeeded through a 10-minute Retry-After")
    return srv, d, p


@scenario
def retry_after_hold_survives_restart(c: Ctx):
    """After 503 Retry-After: 600, a new process that tracks and flushes sends no batch while the hold runs."""
    srv, d, p = held_by_retry_after(c)
    check(len(batch_requests(srv)) == 1, "more than one batch request during the hold")
    c.track(d, srv, "e2", endpoint=srv.base_url)
    c.flush(d, srv, timeout_s=3)
    n = len(batch_requests(srv))
    check(n == 1, f"{n - 1} batch requests from a new process during a Retry-After hold")


@scenario
def retry_after_hold_is_explained(c: Ctx):
    """`flush --timeout-s` under a Retry-After hold says the server asked it to wait, and until when."""
    _, _, p = held_by_retry_after(c)
    err = p.stderr
    check(re.search(r"(?i)retry-after|asked|server.*wait", err), f"flush does not say the server asked it to wait: {err.strip()}")
    check(re.search(r"(?i)until\W+\S*\d", err), f"flush does not say until when: {err.strip()}")


@scenario
def tls_certificate_error_pauses(c: Ctx):
    """A certificate that does not chain to a trusted root: the lane pauses with status certificate_invalid instead
    of being retried quickly."""
    if not shutil.which("openssl"):
        raise ScenarioFailure("openssl CLI not found: cannot make a self-signed certificate")
    # A private CA the SDK does not know, and a leaf for 127.0.0.1 signed by it (made now, never committed).
    t = lambda n: os.path.join(c.tmp, n)  # noqa: E731
    with open(t("leaf.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", t("ca.key"), "-out", t("ca.pem"), "-days", "2",
         "-subj", "/CN=footfall conformance CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", t("key.pem"), "-out", t("leaf.csr"), "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", t("leaf.csr"), "-CA", t("ca.pem"), "-CAkey", t("ca.key"), "-CAcreateserial",
         "-out", t("crt.pem"), "-days", "2", "-extfile", t("leaf.ext")],
    ):
        subprocess.run(["openssl", *cmd], check=True, capture_output=True)
    key, crt = t("key.pem"), t("crt.pem")
    srv = c.server(tls=(crt, key))
    plain = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    c.track(d, plain, "e")
    p = c.flush(d, srv, timeout_s=4)
    check(p.returncode != 0, "flush succeeded against an untrusted certificate")
    check(not srv.requests, "a request got through an untrusted certificate")
    st = c.status(d)
    text = json.dumps(st) + p.stderr
    check("certificate_invalid" in text, f"no certificate_invalid in status/flush output: {p.stderr.strip()[:300]}")
    check(srv.tls_handshake_failures <= 3, f"{srv.tls_handshake_failures} TLS handshakes in 4 s: retried quickly instead of pausing")
    check("paus" in p.stderr.lower(), f"flush does not say paused: {p.stderr.strip()[:300]}")


@scenario
def identify_and_reset_commands(c: Ctx):
    """`footfall identify --data-dir D USER_ID [--traits JSON]` sends an identify message and later events carry
    userId; `footfall reset --data-dir D` drops it, rotates anonymousId and sessionId, seq continues; a later
    deletion request names both anonymous ids."""
    srv = c.server()
    d = c.data_dir()
    c.grant(d, "analytics")
    c.ok("identify", "--data-dir", d, "shopper-42", "--traits", '{"tier":"gold"}')
    ids = c.track(d, srv, "e")
    check(c.flush(d, srv).returncode == 0, "flush failed")
    idents = [m for m in srv.events.values() if m["type"] == "identify"]
    check(len(idents) == 1 and idents[0]["userId"] == "shopper-42" and idents[0]["traits"] == {"tier": "gold"},
          f"identify messages {idents}")
    before = srv.events[ids[0]]
    check(before.get("userId") == "shopper-42", "a track after identify lacks userId")
    c.ok("reset", "--data-dir", d)
    after_ids = c.track(d, srv, "e")
    check(c.flush(d, srv).returncode == 0, "flush failed")
    after = srv.events[after_ids[0]]
    check("userId" not in after, "userId still sent after reset")
    check(after["anonymousId"] != before["anonymousId"], "anonymousId unchanged by reset")
    check(after["context"]["footfall"]["sessionId"] != before["context"]["footfall"]["sessionId"], "sessionId unchanged by reset")
    check(after["context"]["footfall"]["seq"] > before["context"]["footfall"]["seq"], "seq did not continue across reset")
    c.ok("forget", "--data-dir", d, "--endpoint", srv.base_url, "--timeout-s", "20")
    req = list(srv.deletions.values())[0]
    check({before["anonymousId"], after["anonymousId"]} <= set(req["anonymousIds"]),
          f"deletion anonymousIds {req['anonymousIds']} lack an id replaced by reset()")


# ------------------------------------------------------------------------------------------------- the wallet
# protocol.md § The wallet and docs/wallet.md (formats). The server's issuer signs a grant per (coupon, holder);
# the CLI pins its key set with `--keyset` (remembered in the data directory).
def wallet_cli(c: Ctx, d: str, srv: S.ConformanceServer, command: str, *args: str, keyset: bool = False,
               expect_rc: int = 0) -> list[dict]:
    """`footfall wallet COMMAND` against `srv`; its JSON lines. `keyset=True` pins the server's key set first."""
    extra: list[str] = []
    if keyset:
        path = os.path.join(c.tmp, f"keyset-{srv.port}.json")
        with open(path, "wb") as f:
            f.write(srv.wallet.keyset_bytes())
        extra = ["--keyset", path]
    p = c.cli("wallet", command, "--data-dir", d, "--endpoint", srv.base_url, *extra, *args)
    check(p.returncode == expect_rc, f"`footfall wallet {command} {' '.join(args)}` exited {p.returncode} "
                                     f"(expected {expect_rc}): {p.stderr.strip()[:300]}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def wallet_list(c: Ctx, d: str, srv: S.ConformanceServer, *args: str) -> dict[str, dict]:
    """The wallet by coupon id. A device may hold one id under several serials (an anonymous shopper's serial
    withdrawn once they sign in, next to theirs); the list names live coupons first, and the first row wins."""
    coupons: dict[str, dict] = {}
    for x in wallet_cli(c, d, srv, "list", *args):
        coupons.setdefault(x["id"], x)
    return coupons


def wallet_serial(c: Ctx, d: str, srv: S.ConformanceServer, coupon_id: str, serial: str) -> dict:
    """The row of one serial of a coupon, whatever else the device holds under that id."""
    rows = [x for x in wallet_cli(c, d, srv, "list") if x["id"] == coupon_id and x["serial"] == serial]
    check(len(rows) == 1, f"{coupon_id}/{serial} listed {len(rows)} times")
    return rows[0]


def feed_requests(srv: S.ConformanceServer) -> list[S.Request]:
    return srv.of("wallet_changes")


def since_of(r: S.Request) -> Optional[str]:
    return r.query().get("since", [None])[0]


@scenario
def wallet_feed_lists_issued_coupon(c: Ctx):
    """§ GET /v1/wallet/changes: the first pull has no `since` and gets the full listing; the grant verifies
    against the pinned key set and is stored with its display document (bound by the terms reference); the device
    names the holder in X-Footfall-Anonymous-Id; `Date` is on every wallet answer."""
    srv = c.server()
    srv.wallet.add_coupon("xmas", title="¥300 off", terms="One use per shopper.", discount=(2, 300),
                          valid_until=int(time.time()) + 10 * 86400)
    d = c.data_dir()
    wallet_cli(c, d, srv, "sync", keyset=True)
    coupons = wallet_list(c, d, srv)
    check(set(coupons) == {"xmas"}, f"wallet list {list(coupons)}, expected the issued coupon")
    x = coupons["xmas"]
    anon = c.export(d)["anonymousId"]
    held = srv.wallet.held["anon:" + anon]["xmas"]
    check(x["serial"] == held.serial, f"serial {x['serial']}, the grant names {held.serial}")
    check(x["state"] == "available" and x["usable_now"] is True, f"state {x}")
    check(x["title"] == "¥300 off" and x["terms"] == "One use per shopper.",
          f"display document not shown although its hash is the signed terms reference: {x}")
    check(x["uses_allowed"] == 1 and x["uses"] == 0, f"uses {x}")
    want_until = S._rfc3339(held.grant_fields.not_after)
    check(x["valid_until"] == want_until, f"valid_until {x['valid_until']}, the grant's not_after is {want_until}")
    reqs = feed_requests(srv)
    check(reqs and since_of(reqs[0]) is None, "the first pull carries `since`")
    check(all(r.headers.get("X-Footfall-Anonymous-Id") == anon for r in reqs),
          f"feed requests do not name the holder {anon}")
    check(all(r.status in (200, 304) for r in reqs), f"feed answers {[r.status for r in reqs]}")


@scenario
def wallet_forged_grant_refused(c: Ctx):
    """§ GET /v1/wallet/changes, Bad entries do not spoil the feed: a grant whose signature does not verify (one
    byte flipped) is not stored or shown and is counted per reason; a display document whose hash is not the
    signed terms reference is not shown (`display_mismatch`); the rest of the answer applies."""
    srv = c.server()
    for cid in ("good", "forged", "retitled"):
        srv.wallet.add_coupon(cid, title=f"title of {cid}")
    srv.wallet.forged.add("forged")
    srv.wallet.display_tampered.add("retitled")
    d = c.data_dir()
    # Every CLI command opens the SDK, which pulls at start-up ("It also runs at start-up"): that pull gets a 503
    # (the wallet is kept, retried at the next pull), so the explicit pull's report is the one that applies the feed.
    srv.script("wallet_changes", S.status(503))
    reports = wallet_cli(c, d, srv, "sync", keyset=True)
    check([r.status for r in feed_requests(srv)][:2] == [503, 200], "the 503 pull was not retried by the explicit sync")
    coupons = wallet_list(c, d, srv)
    check("forged" not in coupons, f"a grant with a flipped signature byte is listed: {coupons.get('forged')}")
    check(coupons.get("good", {}).get("title") == "title of good", f"the good coupon: {coupons.get('good')}")
    r = coupons.get("retitled")
    check(r is not None and r["title"] is None and "FREE" not in json.dumps(r),
          f"a display document that is not the signed one is shown: {r}")
    text = json.dumps(reports)
    check("bad_signature" in text, f"the refusal is not reported as bad_signature: {reports}")
    check("display_mismatch" in text, f"the display refusal is not reported as display_mismatch: {reports}")


@scenario
def wallet_tombstone_keeps_coupon(c: Ctx):
    """§ GET /v1/wallet/changes: a tombstone (`revoked`) keeps the coupon with its reason and time: "nothing is
    deleted silently"; a later pull asks with the cursor of the answer it applied."""
    srv = c.server()
    srv.wallet.add_coupon("spring")
    d = c.data_dir()
    wallet_cli(c, d, srv, "sync", keyset=True)
    check(wallet_list(c, d, srv)["spring"]["state"] == "available", "coupon not available after the first sync")
    srv.wallet.tombstone("spring", "revoked")
    n = len(feed_requests(srv))
    wallet_cli(c, d, srv, "sync")
    coupons = wallet_list(c, d, srv)
    check("spring" in coupons, "a revoked coupon was deleted from the wallet (nothing is deleted silently)")
    s = coupons["spring"]
    check(s["state"] == "revoked" and s["usable_now"] is False and s["ended_at"], f"after a revoked tombstone: {s}")
    later = feed_requests(srv)[n:]
    check(later and all(since_of(r) in srv.wallet.cursors for r in later), "a later pull without a served cursor")
    wallet_cli(c, d, srv, "present", "spring", "--store", "s1", "--no-send", expect_rc=4)


@scenario
def wallet_410_starts_over(c: Ctx):
    """§ GET /v1/wallet/changes, Start over: 410 drops the cursor and ETag, the device pulls again without
    `since`, and the full listing (with its hasMore pages) reconciles: a coupon it does not name becomes
    `withdrawn`, the others stay."""
    srv = c.server()
    srv.wallet.page_size = 1  # every answer one coupon: hasMore paging
    for cid in ("a", "b", "gone"):
        srv.wallet.add_coupon(cid)
    d = c.data_dir()
    wallet_cli(c, d, srv, "sync", keyset=True)
    check(set(wallet_list(c, d, srv)) == {"a", "b", "gone"}, "three pages not all applied")
    paged = [r for r in feed_requests(srv) if r.status == 200]
    check(len(paged) >= 3, f"page size 1, 3 coupons: {len(paged)} pages asked")
    srv.wallet.coupons["gone"].holders = set()  # the issuer no longer lists it for anyone ...
    srv.wallet.held.clear()  # ... and forgot every holder's state with the cursors
    srv.wallet.forget_cursors()
    n = len(feed_requests(srv))
    srv.script("wallet_changes", S.status(503))  # the start-up pull; the explicit pull meets the 410 (see above)
    reports = wallet_cli(c, d, srv, "sync")
    after = feed_requests(srv)[n:]
    statuses = [r.status for r in after]
    check(410 in statuses, f"the device never asked with its old cursor: {statuses}")
    i = statuses.index(410)
    check(i + 1 < len(after) and since_of(after[i + 1]) is None and after[i + 1].headers.get("If-None-Match") is None,
          "after 410 the next pull is not without `since` and ETag")
    check(any(r.get("started_over") for r in reports), f"the sync report does not say it started over: {reports}")
    coupons = wallet_list(c, d, srv)
    check(coupons.get("gone", {}).get("state") == "withdrawn", f"not in the full listing, not withdrawn: {coupons.get('gone')}")
    check(coupons["a"]["state"] == "available" and coupons["b"]["state"] == "available",
          f"coupons on the listing's pages were not kept: {coupons}")


@scenario
def wallet_etag_304(c: Ctx):
    """§ GET /v1/wallet/changes, 304: the ETag is sent back only with the cursor it answered, exactly as
    received (checked on every request), and a pull with nothing new gets 304 and changes nothing."""
    srv = c.server()
    srv.wallet.add_coupon("x")
    d = c.data_dir()
    for _ in range(3):
        wallet_cli(c, d, srv, "sync", keyset=True)
    reqs = feed_requests(srv)
    check(any(r.status == 304 for r in reqs), f"no 304 in {[(since_of(r), r.status) for r in reqs]}")
    check(all(r.headers.get("If-None-Match") is None for r in reqs if since_of(r) is None),
          "If-None-Match sent on a pull without `since`")
    check(wallet_list(c, d, srv)["x"]["state"] == "available", "a 304 changed the wallet")


def _redeem_setup(c: Ctx, srv: S.ConformanceServer, d: str, coupon: str = "xmas", *args: str) -> dict:
    wallet_cli(c, d, srv, "sync", *args, keyset=True)
    out = wallet_cli(c, d, srv, "present", coupon, "--store", "tokyo-1", "--no-send", *args)
    check(len(out) == 1 and {"code", "counter", "device"} <= set(out[0]), f"present printed {out}")
    return out[0]


@scenario
def wallet_offline_redemption_delivered(c: Ctx):
    """Present offline, then `footfall flush`: the redemption carries the code the device printed, which verifies
    from docs/wallet.md's formats (Base45, code layout, the issuer's grant, the P-256 proof, fresh at
    `presentedAt`); the first answer is lost and the re-send has the same redemptionId and JSON, answered with the
    first answer; `accepted` on the last use makes the coupon `redeemed` with the store and this device."""
    srv = c.server()
    srv.wallet.add_coupon("xmas")
    d = c.data_dir()
    shown = _redeem_setup(c, srv, d)
    check(not srv.of("wallet_redemptions"), "present --no-send sent the redemption")
    code = S.parse_code(shown["code"])
    anon = c.export(d)["anonymousId"]
    held = srv.wallet.held["anon:" + anon]["xmas"]
    check(code.grant == S.till_part(held.grant), "the code does not carry the till part of the grant the issuer served")
    check(S.device_id(code.device_key) == shown["device"], f"device {shown['device']} is not the first 8 bytes of "
                                                           f"SHA-256 of the code's key ({S.device_id(code.device_key)})")
    check(code.counter == shown["counter"] and code.challenge_flag == 0, f"counter/challenge {code}")
    check(S.verify_device_proof(code, b""), "the device proof does not verify over the documented message")
    check(abs(code.bucket * 30 - time.time()) < 120, f"time bucket {code.bucket} is not now / 30")
    srv.script("wallet_redemptions", S.lost())
    c.flush_until(d, srv, lambda: len(srv.of("wallet_redemptions")) >= 2
                  and srv.of("wallet_redemptions")[-1].status == 200, "redemption re-sent after a lost answer")
    reqs = srv.of("wallet_redemptions")
    check(reqs[0].status is None and reqs[0].ids() == reqs[1].ids() and reqs[0].body["redemptions"] == reqs[1].body["redemptions"],
          "the re-send after a lost answer is not the same redemption JSON")
    rid = reqs[0].ids()[0]
    rec = srv.wallet.redemptions[rid]
    check(rec["result"]["status"] == "accepted", f"the server's verdict from the docs: {rec['result']}")
    check(rec["request"]["code"] == shown["code"] and rec["request"]["storeId"] == "tokyo-1", "not the code shown")
    check(srv.wallet.redemption_receipts[rid] == 2 and held.uses == 1, "the re-send spent the serial twice")
    x = wallet_list(c, d, srv)["xmas"]
    check(x["state"] == "redeemed" and x["store_id"] == "tokyo-1" and x["device"] == shown["device"],
          f"after accepted: {x}")


@scenario
def wallet_double_spend_rejected(c: Ctx):
    """§ POST /v1/wallet/redemptions: one shopper (a user id with non-ASCII characters, percent-encoded in
    X-Footfall-User-Id) holds one serial on two phones; both present a single-use coupon offline; the first
    delivered is `accepted`, the second `double_spend` attributed to its device key, and that phone shows the
    coupon `rejected`."""
    srv = c.server()
    srv.wallet.add_coupon("xmas")
    user = "Søren Ōno/42"
    phones = [c.data_dir("a"), c.data_dir("b")]
    shown = []
    for d in phones:
        c.grant(d, "analytics")  # signing in is an identify event
        shown.append(_redeem_setup(c, srv, d, "xmas", "--user-id", user))
    serials = {S.parse_code(s["code"]).grant for s in shown}
    check(len(serials) == 1, "two phones of one signed-in shopper hold different grants (one serial per holder)")
    check(shown[0]["device"] != shown[1]["device"], "two phones share a device key")
    # The CLI signs in after opening the SDK, so its start-up pull names the anonymous holder; the pulls after
    # the identify name the user, percent-encoded (every byte but A-Z a-z 0-9 - . _ ~).
    uids = {r.headers.get("X-Footfall-User-Id") for r in feed_requests(srv)} - {None}
    check(uids == {"S%C3%B8ren%20%C5%8Cno%2F42"}, f"X-Footfall-User-Id {uids}")
    check(set(srv.wallet.held) >= {"user:" + user}, f"holders seen by the issuer: {list(srv.wallet.held)}")
    c.flush_until(phones[0], srv, lambda: len(srv.wallet.redemptions) == 1, "phone a's redemption delivered")
    # Phone b's feed is unreachable while it delivers (anything but 200/304/410 keeps the wallet as it is), so
    # what its coupon shows is the issuer's answer alone, not the tombstone of phone a's use.
    srv.script("wallet_changes", *[S.status(503) for _ in range(100)])
    c.flush_until(phones[1], srv, lambda: len(srv.wallet.redemptions) == 2, "phone b's redemption delivered")
    serial = srv.wallet.held["user:" + user]["xmas"].serial
    # Each phone also holds the serial it was served while anonymous (its start-up pull ran before the sign-in),
    # withdrawn by the signed-in listing; the user's serial is the one that was presented.
    b = wallet_serial(c, phones[1], srv, "xmas", serial)
    check(b["state"] == "rejected" and "double_spend" in (b["state_reason"] or ""),
          f"phone b after the answer double_spend: {b}")
    with srv.lock:
        srv.faults["wallet_changes"].clear()
    results = [r["result"]["status"] for r in srv.wallet.redemptions.values()]
    check(results == ["accepted", "double_spend"], f"verdicts {results}")
    second = list(srv.wallet.redemptions.values())[1]
    check(second["double_spend_device"] == shown[1]["device"], "the double spend is not attributed to phone b's key")
    check(all(r["request"].get("userId") == user for r in srv.wallet.redemptions.values()), "userId in the body")
    a = wallet_serial(c, phones[0], srv, "xmas", serial)
    check(a["state"] == "redeemed" and a["device"] == shown[0]["device"], f"phone a: {a}")
    # Then phone b's feed brings the tombstone of phone a's use: the coupon is kept (nothing is deleted silently)
    # and, if the tombstone's reason becomes its state, with the store and the device key that redeemed it.
    wallet_cli(c, phones[1], srv, "sync")
    b = wallet_serial(c, phones[1], srv, "xmas", serial)
    check(b["state"] in ("rejected", "redeemed"), f"phone b after the tombstone: {b}")
    if b["state"] == "redeemed":
        check(b["store_id"] == "tokyo-1" and b["device"] == shown[0]["device"], f"phone b's tombstone detail: {b}")


@scenario
def wallet_clips_documented_fields(c: Ctx):
    """§ POST /v1/wallet/clips: the clip carries clipId (a UUID), couponId and serial as the grant names them,
    clippedAt and the holder; a lost answer is re-sent with the same clipId and counted as a duplicate."""
    srv = c.server()
    srv.wallet.add_coupon("spring", uses_allowed=2, offline=(1, 2, 100000))
    d = c.data_dir()
    wallet_cli(c, d, srv, "sync", keyset=True)
    srv.script("wallet_clips", S.lost())
    t0 = time.time()
    out = wallet_cli(c, d, srv, "clip", "spring")
    check(out and out[0].get("clipped") is True, f"clip printed {out}")
    c.flush_until(d, srv, lambda: any(r.status == 200 for r in srv.of("wallet_clips")), "clip delivered")
    reqs = srv.of("wallet_clips")
    check(reqs[0].status is None and len(reqs) >= 2, f"clip requests {reqs}")
    check(all(r.body["clips"] == reqs[0].body["clips"] for r in reqs), "a re-sent clip is not the same JSON")
    clip = reqs[0].body["clips"][0]
    anon = c.export(d)["anonymousId"]
    held = srv.wallet.held["anon:" + anon]["spring"]
    check(S.UUID_RE.match(clip["clipId"]) and clip["couponId"] == "spring" and clip["serial"] == held.serial
          and clip["anonymousId"] == anon and "userId" not in clip, f"clip {clip}")
    at = S._parse_rfc3339(clip["clippedAt"])
    check(at is not None and t0 - 2 <= at <= time.time() + 1, f"clippedAt {clip['clippedAt']}")
    check(len(srv.wallet.clips) == 1 and srv.wallet.clip_receipts[clip["clipId"]] == len(reqs), "clip stored twice")
    check(wallet_list(c, d, srv)["spring"]["state"] == "clipped", "not clipped on the device")


@scenario
def harness_self_test(c: Ctx):
    """The test double itself, fed the docs' own examples and deliberately broken requests: it answers as the docs
    say, and its conformance checks fire (so the scenarios above can fail)."""
    import http.client
    import gzip as gz

    examples = c.validator.doc["paths"]["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    batch_example = examples["trackAndIdentify"]["value"]
    records_example = c.validator.doc["components"]["examples"]["ConsentRecordBatch"]["value"]
    deletion_example = c.validator.doc["paths"]["/v1/rights/deletion"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]["afterReset"]["value"]
    sdk_headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "X-Footfall-Protocol": "1",
                   "User-Agent": "footfall/0.1.0 (linux)", "Accept": "*/*"}
    srv = c.server()

    def send(path, doc=None, raw=None, headers=None, method="POST", drop_headers=(), server=srv):
        body = raw if raw is not None else (gz.compress(json.dumps(doc, separators=(",", ":")).encode()) if doc is not None else None)
        h = {**(sdk_headers if method == "POST" else {"X-Footfall-Protocol": "1", "User-Agent": "footfall/0.1.0 (linux)",
                                                      "Accept": "application/json"}), **(headers or {})}
        for k in drop_headers:
            h.pop(k, None)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        n = len(server.failures)
        return resp.status, dict(resp.getheaders()), (json.loads(data) if data.startswith(b"{") else data), n

    def failures_since(n0):
        return srv.failures[n0:]

    def expect(result, status_code, failing: Optional[str] = None, code: Optional[str] = None):
        st, hdrs, body, _ = result
        check(st == status_code, f"answer {st} {body}, expected {status_code}")
        if code:
            check(body["error"]["code"] == code, f"error code {body}, expected {code}")
        return hdrs, body

    n0 = len(srv.failures)
    _, body = expect(send("/v1/batch", batch_example), 200)
    check(body == {"accepted": 2, "duplicates": 0}, f"{body}")
    _, body = expect(send("/v1/batch", batch_example), 200)
    check(body == {"accepted": 0, "duplicates": 2}, f"a repeated batch: {body}")
    check(not failures_since(n0), f"the docs' own batch example was flagged: {failures_since(n0)}")
    _, body = expect(send("/v1/consent-records", records_example), 200)
    check(body == {"accepted": 2, "duplicates": 0}, f"{body}")
    expect(send("/v1/rights/deletion", deletion_example), 202)
    _, body = expect(send("/v1/rights/deletion", deletion_example), 202)
    check(body == {"status": "acknowledged", "requestId": deletion_example["requestId"]} and len(srv.deletions) == 1, f"{body}")
    check(not failures_since(n0), f"the docs' own examples were flagged: {failures_since(n0)}")

    counter = iter(range(1, 65536))

    def mutated(fn):
        doc = json.loads(json.dumps(batch_example))
        fn(doc)
        for m in doc["batch"]:  # fresh ids, so no case is a re-send of another
            m["messageId"] = m["messageId"][:-4] + format(next(counter), "04x")
        return doc

    cases = [
        ("an unknown message field", mutated(lambda d: d["batch"][0].update(extra=1)), None, {}, (), 200, "x-footfall-exhaustive"),
        ("a missing header", mutated(lambda d: None), None, {}, ("X-Footfall-Protocol",), 200, "X-Footfall-Protocol is missing"),
        ("a bad User-Agent", mutated(lambda d: None), None, {"User-Agent": "curl/8"}, (), 200, "User-Agent"),
        ("identity encoding", None, json.dumps(mutated(lambda d: None), separators=(",", ":")).encode(),
         {"Content-Encoding": "identity"}, (), 200, "always gzips"),
        ("whitespace", None, gz.compress(json.dumps(mutated(lambda d: None), indent=1).encode()), {}, (), 200, "whitespace"),
        ("a null userId", mutated(lambda d: d["batch"][0].update(userId=None)), None, {}, (), 200, "userId"),
        ("seq out of order", mutated(lambda d: d["batch"][0]["context"]["footfall"].update(seq=99)), None, {}, (), 200, "seq order"),
        ("a bad timestamp", mutated(lambda d: d["batch"][1].update(timestamp="yesterday")), None, {}, (), 400, "timestamp"),
    ]
    for label, doc, raw, headers, drop, want, needle in cases:
        before = len(srv.failures)
        expect(send("/v1/batch", doc, raw=raw, headers=headers, drop_headers=drop), want)
        check(any(needle in f for f in srv.failures[before:]), f"{label}: not flagged ({srv.failures[before:]})")
    n_events = len(srv.events)
    _, body = expect(send("/v1/batch", mutated(lambda d: d["batch"][1].update(timestamp="yesterday"))), 400, code="invalid_event")
    check("event " in body["error"]["message"] and len(srv.events) == n_events, "400 must name the event and store nothing")
    bad = json.loads(json.dumps(records_example))
    bad["records"][1]["decisions"]["marketing"] = True
    n_rec = len(srv.records)
    _, body = expect(send("/v1/consent-records", bad), 400, code="invalid_record")
    check(bad["records"][1]["record_id"] in body["error"]["message"] and len(srv.records) == n_rec, f"{body}")
    expect(send("/v1/batch", raw=b"x", headers={"Content-Encoding": "br"}), 415, code="unsupported_encoding")
    expect(send("/v1/batch", raw=gz.compress(b" " * (S.DEFAULT_MAX_DECOMPRESSED + 10))), 413, code="payload_too_large")
    hdrs, _ = expect(send("/v1/batch", method="GET"), 405, code="method_not_allowed")
    check(hdrs.get("Allow") == "POST", f"405 Allow {hdrs.get('Allow')}")
    before = len(srv.failures)
    expect(send("/v1/proximity/registry", method="GET"), 404, code="not_found")
    check(any("reserved" in f for f in srv.failures[before:]), "a reserved endpoint was not flagged")
    wallet_self_test(c, srv, send, expect)
    # GET /v1/config: 404 without config, 200 + strong ETag, 304 for a match (exact, weak, *, list).
    expect(send("/v1/config", method="GET"), 404, code="no_config")
    srv.set_config(policy(3))
    hdrs, body = expect(send("/v1/config", method="GET"), 200)
    etag = hdrs["ETag"]
    check(re.match(r'^"[0-9a-f]{64}"$', etag) and hdrs.get("Cache-Control") == "no-cache" and body == policy(3), f"{hdrs}")
    for inm in (etag, "W/" + etag, "*", f'"other", {etag}'):
        before = len(srv.failures)
        hdrs, _ = expect(send("/v1/config", method="GET", headers={"If-None-Match": inm}), 304)
        check(hdrs.get("ETag") == etag, "304 without the ETag")
    expect(send("/v1/config", method="GET", headers={"If-None-Match": '"other"'}), 200)
    check(any("exactly as received" in f for f in srv.failures), "an If-None-Match never served was not flagged")
    # Auth: 401 with WWW-Authenticate; two Authorization headers are flagged.
    keyed = c.server(api_key="k")
    hdrs, _ = expect(send("/v1/batch", batch_example, server=keyed), 401, code="unauthorized")
    check(hdrs.get("WWW-Authenticate", "").startswith("Basic "), f"401 without a Basic challenge: {hdrs}")
    expect(send("/v1/batch", batch_example, headers={"Authorization": "Basic azo="}, server=keyed), 200)
    conn = http.client.HTTPConnection("127.0.0.1", keyed.port, timeout=10)
    conn.putrequest("POST", "/v1/batch", skip_accept_encoding=True)
    body = gz.compress(json.dumps(batch_example, separators=(",", ":")).encode())
    for k, v in [*sdk_headers.items(), ("Authorization", "Basic azo="), ("Authorization", "Basic dTpw"),
                 ("Content-Length", str(len(body)))]:
        conn.putheader(k, v)
    conn.endheaders(body)
    check(conn.getresponse().status == 401, "two Authorization headers were accepted")
    conn.close()
    check(any("Authorization sent 2 times" in f for f in keyed.failures), "two Authorization headers were not flagged")
    check(not srv.server_bugs and not keyed.server_bugs, f"answers against openapi.yaml: {srv.server_bugs + keyed.server_bugs}")
    for s in c.servers:  # everything flagged here was flagged on purpose
        s.failures.clear()


def wallet_self_test(c: Ctx, srv: S.ConformanceServer, send, expect):
    """The wallet formats of server.py against the docs' own examples (openapi.yaml: "Real values": issuer key k1
    is the Ed25519 seed 32 × 0x42, the redemption's device id is 80a217430f068fc1), and the wallet endpoints fed
    the docs' examples and broken requests."""
    from cryptography.hazmat.primitives.asymmetric import ec

    ex = c.validator.doc["components"]["examples"]
    srv.wallet = S.WalletIssuer(seed=bytes([0x42] * 32), nbf=0)
    feed = ex["WalletChanges"]["value"]
    up = feed["upserts"][0]
    grant_bytes = S.b64url_decode(up["grant"])
    g = S.verify_grant(grant_bytes, srv.wallet.keyset, 1796461964)
    check((g.coupon_id, g.serial) == ("spring10", "s-7f3a9c"), f"the docs' grant decodes as {g}")
    check(g.terms_ref == S.terms_ref(S.b64url_decode(up["display"])), "the docs' display is not bound by its terms ref")
    check(S.sign_grant(g, srv.wallet.key) == grant_bytes, "the docs' grant does not re-encode to its bytes")
    check(S.verify_grant(S.till_part(grant_bytes), srv.wallet.keyset, 1796461964).terms_ref == "",
          "the till part alone verifies, without the display fields")
    forged = grant_bytes[:-1] + bytes([grant_bytes[-1] ^ 1])
    for data, want in ((forged, "bad_signature"), (b"\x01" + grant_bytes[1:], "unknown_version"),
                       (grant_bytes + b"x" * 400, "too_large")):
        try:
            S.verify_grant(data, srv.wallet.keyset, 1796461964)
            check(False, f"a grant that should be {want} verified")
        except S.FormatError as e:
            check(e.code == want, f"refused as {e.code}, expected {want}")
    rot = feed["keyset"]
    srv.wallet.key.public_key().verify(S.b64url_decode(rot["sig"]), S.KEYSET_SIG_CONTEXT + S.b64url_decode(rot["keyset"]))
    red = ex["WalletRedemptions"]["value"]
    code = S.parse_code(red["redemptions"][0]["code"])
    check(code.grant == S.till_part(grant_bytes) and code.counter == 1 and code.challenge_flag == 0, "the docs' code layout")
    check(S.device_id(code.device_key) == "80a217430f068fc1", "the docs' device id")
    check(S.verify_device_proof(code, b"") and not S.verify_device_proof(code, b"x"), "the docs' device proof")
    check(S.base45_encode(S.base45_decode(red["redemptions"][0]["code"])) == red["redemptions"][0]["code"], "Base45")
    mine = S.make_code(grant_bytes, ec.generate_private_key(ec.SECP256R1()), 7, 1796461964, b"till")
    check(S.verify_device_proof(S.parse_code(mine), b"till"), "a code made from the docs does not verify")

    anon = red["redemptions"][0]["anonymousId"]
    holder = {"X-Footfall-Anonymous-Id": anon, "X-Footfall-User-Id": "shopper-42"}
    n0 = len(srv.failures)
    _, body = expect(send("/v1/wallet/redemptions", red, headers=holder), 200)
    check(body["results"][0]["status"] == "rejected" and body["results"][0]["reason"] == "a serial this issuer never gave",
          f"the docs' redemption passes every check of the code but not this issuer's serials: {body}")
    _, again = expect(send("/v1/wallet/redemptions", red, headers=holder), 200)
    check(again == body, "a repeated redemptionId does not get the first answer")
    bad = json.loads(json.dumps(red))
    bad["redemptions"][0]["redemptionId"] = bad["redemptions"][0]["redemptionId"][:-1] + "b"
    tampered = S.parse_code(red["redemptions"][0]["code"])
    tampered.signature = tampered.signature[:-1] + bytes([tampered.signature[-1] ^ 1])
    bad["redemptions"][0]["code"] = S.base45_encode(tampered.encode())
    _, body = expect(send("/v1/wallet/redemptions", bad, headers=holder), 200)
    check(body["results"][0]["status"] == "rejected" and "proof" in body["results"][0]["reason"], f"{body}")
    clips = ex["WalletClips"]["value"]
    _, body = expect(send("/v1/wallet/clips", clips, headers=holder), 200)
    _, body2 = expect(send("/v1/wallet/clips", clips, headers=holder), 200)
    check((body, body2) == ({"accepted": 1, "duplicates": 0}, {"accepted": 0, "duplicates": 1}), f"{body} {body2}")
    check(not [f for f in srv.failures[n0:] if "not a grant this issuer gave" not in f],
          f"the docs' wallet examples were flagged: {srv.failures[n0:]}")
    get = {"Accept": "application/json", **holder}
    hdrs, body = expect(send("/v1/wallet/changes", method="GET", headers=get), 200)
    check(body["full"] is True and hdrs.get("Date") and re.match(r'^"[0-9a-f]{64}"$', hdrs["ETag"]), f"{hdrs} {body}")
    since = body["cursor"]
    hdrs2, _ = expect(send(f"/v1/wallet/changes?since={since}", method="GET", headers=get), 200)
    expect(send(f"/v1/wallet/changes?since={since}", method="GET", headers={**get, "If-None-Match": hdrs2["ETag"]}), 304)
    cases = [
        ("an ETag sent with another cursor", "/v1/wallet/changes", {**get, "If-None-Match": hdrs["ETag"]}, 200, "same cursor"),
        ("no holder header", "/v1/wallet/changes", {"Accept": "application/json"}, 400, "X-Footfall-Anonymous-Id is missing"),
        ("a user id not percent-encoded", "/v1/wallet/changes", {**get, "X-Footfall-User-Id": "a b"}, 200, "percent-encoded"),
        ("a cursor never sent", "/v1/wallet/changes?since=bm9wZQ", get, 410, "not a cursor this server sent"),
    ]
    for label, path, headers, want, needle in cases:
        before = len(srv.failures)
        expect(send(path + ("" if "?" in path else f"?since={since}" if "ETag" in label else ""), method="GET",
                    headers=headers), want)
        check(any(needle in f for f in srv.failures[before:]), f"{label}: not flagged ({srv.failures[before:]})")
    before = len(srv.failures)
    expect(send("/v1/wallet/clips", clips), 200)
    check(any("X-Footfall-Anonymous-Id is missing" in f for f in srv.failures[before:]), "a clip without the holder")
    before = len(srv.failures)
    expect(send("/v1/batch", raw=b"", headers=holder, drop_headers=("Content-Encoding",)), 400)
    check(any("x-footfall-anonymous-id" in f for f in srv.failures[before:]), "holder headers on a batch not flagged")


# ---------------------------------------------------------------------------------------------------- runner
def run_one(name: str, fn, validator) -> tuple[bool, str]:
    c = Ctx(name, validator)
    try:
        fn(c)
        problems = [f for s in c.servers for f in s.failures]
        bugs = [b for s in c.servers for b in s.server_bugs]
        if bugs:
            return False, "the test server answered against openapi.yaml (a bug in server.py): " + "; ".join(bugs[:3])
        if problems:
            return False, f"{len(problems)} non-conforming request(s): " + " | ".join(problems[:5])
        return True, ""
    except ScenarioFailure as e:
        extra = [f for s in c.servers for f in s.failures]
        return False, str(e) + (f" [and {len(extra)} non-conforming request(s): {' | '.join(extra[:3])}]" if extra else "")
    except Exception:  # noqa: BLE001
        return False, "error: " + traceback.format_exc(limit=3).strip().replace("\n", " | ")
    finally:
        if VERBOSE:
            for line in c.log:
                print("    " + line.replace("\n", "\n    "))
            for s in c.servers:
                for r in s.requests:
                    print(f"      {r}")
        c.close()


def main() -> int:
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", default="", help="run only scenarios whose name contains this")
    ap.add_argument("-v", action="store_true", help="print the CLI calls and the requests of each scenario")
    args = ap.parse_args()
    VERBOSE = args.v
    if not os.path.exists(FOOTFALL_BIN):
        print(f"conformance: FOOTFALL_BIN {FOOTFALL_BIN} does not exist (cargo build --locked -p footfall-cli)")
        print("conformance: 0 passed, 1 failed")
        return 1
    unknown = set(EXPECTED_TO_BE_FIXED) - {n for n, _ in SCENARIOS}
    validator = S.Validator()
    passed = failed = xfailed = 0
    started = time.monotonic()
    for name, fn in SCENARIOS:
        if args.k not in name:
            continue
        t = time.monotonic()
        ok, why = run_one(name, fn, validator)
        took = f"({time.monotonic() - t:.1f}s)"
        if name in EXPECTED_TO_BE_FIXED:
            if ok:
                failed += 1
                print(f"FAIL  {name} {took}: passes now; remove it from EXPECTED_TO_BE_FIXED ({EXPECTED_TO_BE_FIXED[name]})")
            else:
                xfailed += 1
                print(f"XFAIL {name} {took}: expected until fixed: {EXPECTED_TO_BE_FIXED[name]}\n      observed: {why}")
        elif ok:
            passed += 1
            print(f"PASS  {name} {took}")
        else:
            failed += 1
            print(f"FAIL  {name} {took}: {why}")
        sys.stdout.flush()
    for n in sorted(unknown):
        failed += 1
        print(f"FAIL  EXPECTED_TO_BE_FIXED names {n!r}, which is not a scenario")
    print(f"({xfailed} expected failure(s) listed in EXPECTED_TO_BE_FIXED, in {time.monotonic() - started:.0f}s)")
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
