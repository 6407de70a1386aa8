"""``secure-trail analytics setup`` against a local OpenSearch stand-in, and the shipped
saved objects and index template checked against the documents the enrichment builds."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import ThreadingHTTPServer

import pytest

import analytics_samples as samples
from opensearch_bulk_server import JsonHandler
from trail_validators.analytics.enrich import enrich
from trail_validators.cli.index_template import index_template, template_name
from trail_validators.analytics.schema import all_fields
from trail_validators.cli.analytics_setup import DEFAULT_INDEX_PATTERN_TITLE, saved_objects
from trail_validators.analytics.subscription import decode
from trail_validators.cli.main import main


class FakeOpenSearch:
    """Answers PUT _index_template/<name> and the Dashboards saved-objects import."""

    def __init__(self, import_status: int = 200) -> None:
        self.templates: dict[str, dict] = {}
        self.imports: list[tuple[dict, bytes]] = []
        fake = self

        class Handler(JsonHandler):
            def do_PUT(self) -> None:
                body = self._body()
                match = re.fullmatch(r"/_index_template/([\w.-]+)", self.path)
                if not match:
                    return self._reply(404, {"error": self.path})
                fake.templates[match.group(1)] = json.loads(body)
                self._reply(200, {"acknowledged": True})

            def do_POST(self) -> None:
                body = self._body()
                if not self.path.startswith("/_dashboards/api/saved_objects/_import"):
                    return self._reply(404, {"error": self.path})
                fake.imports.append((dict(self.headers), body))
                count = body.count(b'{"attributes":')
                self._reply(import_status, {"success": import_status == 200, "successCount": count})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake():
    server = FakeOpenSearch()
    yield server
    server.close()


def test_setup_creates_the_template_and_imports_the_saved_objects(fake, capsys):
    assert main(["analytics", "setup", "--endpoint", fake.url, "--service", "es", "--index-prefix", "audit"]) == 0
    assert fake.templates == {template_name("audit"): index_template("audit")}
    headers, body = fake.imports[0]
    assert headers["osd-xsrf"] == "true" and headers["Content-Type"].startswith("multipart/form-data")
    assert b'"title":"audit-*"' in body and DEFAULT_INDEX_PATTERN_TITLE.encode() not in body
    out = capsys.readouterr().out
    assert "index template audit-secure-trail" in out and "10 saved objects imported" in out


def test_a_failed_import_is_an_error_on_one_line():
    server = FakeOpenSearch(import_status=400)
    try:
        assert main(["analytics", "setup", "--endpoint", server.url, "--service", "aoss"]) == 2
    finally:
        server.close()


def test_a_dead_endpoint_is_an_error_not_a_traceback(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert main(["analytics", "setup", "--endpoint", dead, "--service", "es"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_bad_endpoint_is_refused(capsys):
    assert main(["analytics", "setup", "--endpoint", "ftp://x", "--service", "es"]) == 2
    assert "endpoint" in capsys.readouterr().err


# -- the shipped saved objects -------------------------------------------------------------
def _objects() -> list[dict]:
    return [json.loads(line) for line in saved_objects("cloudtrail").splitlines()]


def test_saved_objects_have_the_views_the_analysts_need():
    titles = {o["attributes"]["title"] for o in _objects()}
    assert {"Root user activity", "Console sign-ins without MFA", "Denied calls by principal",
            "Changes to the trail, its bucket and its key", "Top callers by account"} <= titles
    assert [o["type"] for o in _objects()].count("index-pattern") == 1
    assert len({o["id"] for o in _objects()}) == len(_objects())


def test_every_reference_resolves_to_a_shipped_object():
    ids = {(o["type"], o["id"]) for o in _objects()}
    for saved in _objects():
        for reference in saved["references"]:
            assert (reference["type"], reference["id"]) in ids, reference


def _fields_used(saved: dict) -> set[str]:
    attributes = saved["attributes"]
    used = set(attributes.get("columns", []))
    source = json.loads(attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
    used |= set(re.findall(r"([A-Za-z@][\w.]*):", source.get("query", {}).get("query", "")))
    for aggregation in json.loads(attributes.get("visState", "{}")).get("aggs", []):
        if "field" in aggregation["params"]:
            used.add(aggregation["params"]["field"])
    return used | ({attributes["timeFieldName"]} if "timeFieldName" in attributes else set())


def test_every_field_a_view_uses_is_mapped_by_the_template():
    mapped = set(all_fields())
    for saved in _objects():
        assert _fields_used(saved) <= mapped, (saved["id"], _fields_used(saved) - mapped)


def test_the_views_queries_name_tags_the_enrichment_emits():
    from trail_validators.analytics.detections import RULES
    tags = {rule.tag for rule in RULES}
    for saved in _objects():
        query = json.loads(saved["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
        text = query.get("query", {}).get("query", "")
        for group in re.findall(r"detection\.tags:\(?([\w ]+)\)?", text):
            named = {word for word in group.split() if word not in ("or", "and")}
            assert named <= tags, named - tags


def test_the_template_maps_what_documents_hold_under_the_prefix():
    body = index_template("cloudtrail")
    assert body["index_patterns"] == ["cloudtrail-*"] and body["template"]["mappings"]["dynamic"] is False
    mappings = body["template"]["mappings"]["properties"]
    assert mappings["principal"]["properties"]["sessionIssuer"]["properties"]["arn"]["type"] == "keyword"
    assert mappings["source"]["properties"]["ip"] == {"type": "ip"}
    assert mappings["@timestamp"] == {"type": "date"}
    assert "settings" not in body["template"]  # OpenSearch Serverless refuses shard settings
    document = enrich(decode(samples.payload([samples.root_console_login("111111111111")])), index_prefix="cloudtrail",
                      account_names={}).documents[0]
    assert document.index.startswith("cloudtrail-")
    assert {"account", "principal", "detection", "source", "cloudwatch"} <= set(mappings) & set(document.source)


def test_without_opensearch_py_the_command_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "opensearchpy", None)
    assert main(["analytics", "setup", "--endpoint", "https://x.eu-west-1.aoss.amazonaws.com", "--service", "aoss"]) == 2
    err = capsys.readouterr().err
    assert "opensearch-py" in err and "[analytics]" in err and err.count("\n") == 1
