"""A local stand-in for S3 and CloudTrail that costs the tools' machine next to nothing.

moto answers every request once. Its answers to successful GETs (objects and listings)
are then replayed from memory by a small asyncio front, after a fixed delay that mimics
S3's latency. Unlike moto's server (several ms of Python per request, on the same two
cores as the tools), the front spends tens of microseconds per request, so what is timed
is the tools, not the mock. Anything else (HEAD, CloudTrail calls) goes through to moto.
ListPublicKeys, which moto lacks, is answered from the keys it is given.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import threading
from collections import Counter
from datetime import datetime, timedelta

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class _MotoWithPublicKeys:
    """moto's WSGI app, plus an answer to CloudTrail ListPublicKeys."""

    def __init__(self) -> None:
        self.app = DomainDispatcherApplication(create_backend_app)
        self.keys_body = b'{"PublicKeyList": []}'

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").endswith("ListPublicKeys"):
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                      ("Content-Length", str(len(self.keys_body)))])
            return [self.keys_body]
        return self.app(environ, start_response)


class _KeepAlive(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs) -> None:
        pass


class ReplayServer:
    """``endpoint`` is what the tools use; ``moto_endpoint`` sets the data up, undelayed."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.replies: dict[bytes, bytes] = {}
        self.requests: Counter[str] = Counter()
        """Requests served, by kind (S3 LIST, GET, HEAD; other APIs by their target)."""
        self._moto = _MotoWithPublicKeys()
        self._back = make_server("127.0.0.1", 0, self._moto, threaded=True, request_handler=_KeepAlive)
        threading.Thread(target=self._back.serve_forever, daemon=True).start()
        self.moto_endpoint = f"http://127.0.0.1:{self._back.server_port}"
        self._local = threading.local()
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        started.wait()
        self.endpoint = f"http://127.0.0.1:{self._port}"

    def publish_keys(self, public_keys: dict[str, bytes], valid_from: datetime, valid_to: datetime) -> None:
        self._moto.keys_body = json.dumps({"PublicKeyList": [
            {"Value": base64.b64encode(der).decode(), "Fingerprint": fingerprint,
             "ValidityStartTime": (valid_from - timedelta(days=30)).timestamp(),
             "ValidityEndTime": (valid_to + timedelta(days=30)).timestamp()}
            for fingerprint, der in public_keys.items()]}).encode()

    def shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._back.shutdown()

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=512))
        self._port = server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request_line := await reader.readline():
                method, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.requests[_kind(method, target, headers)] += 1
                await asyncio.sleep(self.delay)
                replay_key = request_line if method == "GET" else None
                reply = self.replies.get(replay_key) if replay_key else None
                if reply is None:
                    status, reply = await asyncio.to_thread(self._forward, method, target, headers, body)
                    if replay_key and status == 200:
                        self.replies[replay_key] = reply
                writer.write(reply)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _forward(self, method: str, target: str, headers: dict, body: bytes) -> tuple[int, bytes]:
        if not hasattr(self._local, "connection"):
            self._local.connection = http.client.HTTPConnection("127.0.0.1", self._back.server_port)
        connection = self._local.connection
        for attempt in (1, 2):  # moto may have closed the kept-alive connection: reopen once
            try:
                connection.request(method, target, body=body or None, headers=headers)
                response = connection.getresponse()
                content = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                if attempt == 2:
                    raise
        head = [f"HTTP/1.1 {response.status} {response.reason}"]
        head += [f"{name}: {value}" for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP]
        length = response.getheader("Content-Length") if method == "HEAD" else str(len(content))
        if length is not None:
            head.append(f"Content-Length: {length}")
        return response.status, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + content


def _kind(method: str, target: str, headers: dict) -> str:
    if "x-amz-target" in headers:
        return headers["x-amz-target"].rpartition(".")[2]
    if method == "GET":
        return "S3 LIST" if "list-type=2" in target or "delimiter=" in target else "S3 GET"
    return f"S3 {method}"
