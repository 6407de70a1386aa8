"""A local HTTP server on 127.0.0.1 that speaks OpenSearch's ``_bulk`` protocol (NDJSON
action + source lines, per-item results) with scripted faults, for the analytics sink's
tests: whole-request 429s and 5xx, item-level failures a given number of times, items that
always fail with a 400. It keeps every document it indexed and how often each was written."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Faults:
    request_statuses: list[int] = field(default_factory=list)
    """Status of the next whole requests, in turn (e.g. [429, 503]); then normal service."""
    item_failures: dict[str, list[int]] = field(default_factory=dict)
    """_id -> statuses of its next item results, in turn; then it is indexed."""
    always_reject: dict[str, int] = field(default_factory=dict)
    """_id -> status it gets every time (a mapping error: 400)."""


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler that reads request bodies and answers JSON."""

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class BulkServer:
    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.documents: dict[tuple[str, str], dict] = {}
        self.writes: Counter = Counter()
        self.requests: list[int] = []
        """Number of documents in each _bulk request received."""
        self.request_bytes: list[int] = []
        self._lock = threading.Lock()
        server = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self._body()
                if not self.path.split("?")[0].endswith("/_bulk"):
                    return self._reply(404, {"error": "not found"})
                status, reply = server.bulk(body)
                self._reply(status, reply)

            do_PUT = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "BulkServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def bulk(self, body: bytes) -> tuple[int, dict]:
        lines = [line for line in body.split(b"\n") if line.strip()]
        with self._lock:
            self.requests.append(len(lines) // 2)
            self.request_bytes.append(len(body))
            if self.faults.request_statuses:
                status = self.faults.request_statuses.pop(0)
                return status, {"error": {"type": "simulated", "reason": f"HTTP {status}"}, "status": status}
            items = []
            for action_line, source_line in zip(lines[::2], lines[1::2]):
                (op, action), = json.loads(action_line).items()
                index, doc_id = action["_index"], action["_id"]
                status = self._item_status(doc_id)
                if status >= 300:
                    items.append({op: {"_index": index, "_id": doc_id, "status": status,
                                       "error": {"type": "simulated_exception", "reason": f"item {status}"}}})
                    continue
                created = (index, doc_id) not in self.documents
                if op == "create" and not created:  # as OpenSearch: the document stays as it was
                    items.append({op: {"_index": index, "_id": doc_id, "status": 409, "error": {
                        "type": "version_conflict_engine_exception", "reason": "document already exists"}}})
                    continue
                self.documents[(index, doc_id)] = json.loads(source_line)
                self.writes[(index, doc_id)] += 1
                items.append({op: {"_index": index, "_id": doc_id, "status": 201 if created else 200,
                                   "result": "created" if created else "updated"}})
            return 200, {"took": 1, "errors": any(next(iter(i.values()))["status"] >= 300 for i in items),
                         "items": items}

    def _item_status(self, doc_id: str) -> int:
        if doc_id in self.faults.always_reject:
            return self.faults.always_reject[doc_id]
        queued = self.faults.item_failures.get(doc_id)
        return queued.pop(0) if queued else 200
