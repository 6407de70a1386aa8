"""The AWS CLI's habits: --query, --output json|text|table, --color, --no-paginate,
--no-sign-request and the AWS options on every command that would take them; errors as JSON
on stderr in JSON mode."""

import json

import boto3
import pytest
from moto import mock_aws

from access_log_samples import access_log_line, plain_http_line
from trail_validators.cli import output
from trail_validators.cli.main import _parser, main

TRAIL_ARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
WINDOW = ["--start-time", "2026-01-01T00:00:00Z", "--end-time", "2026-01-01T02:00:00Z"]


@pytest.fixture
def failing_logs(tmp_path):
    (tmp_path / "a.log").write_text("\n".join([plain_http_line(key="a/one.json.gz"), access_log_line()]) + "\n")
    return tmp_path


def test_query_selects_from_the_json_report_and_keeps_the_exit_status(failing_logs, capsys):
    assert main(["audit-access-logs", str(failing_logs), "--query", "verdict"]) == 1
    assert json.loads(capsys.readouterr().out) == "fail"
    assert main(["audit-access-logs", str(failing_logs), "--query", "summary.lines", "--output", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == 2


def test_query_with_output_text_prints_the_aws_clis_tab_separated_text(failing_logs, capsys):
    assert main(["audit-access-logs", str(failing_logs), "--output", "text",
                 "--query", "findings[].[kind, severity]"]) == 1
    assert capsys.readouterr().out == "non_tls_success\tcritical\n"
    assert main(["audit-access-logs", str(failing_logs), "--output", "text", "--query", "verdict"]) == 1
    assert capsys.readouterr().out == "fail\n"


@pytest.mark.parametrize(("value", "expected"), [
    ({"b": 1, "a": "x", "c": [1, 2]}, "x\t1\nC\t1\nC\t2\n"),
    ([{"k": "a", "n": 1}, {"k": "b"}], "a\t1\nb\t\n"),
    ([["a", 1], ["b", 2]], "a\t1\nb\t2\n"),
    (None, "None\n"),
    ("line\nbreak", "line\\x0abreak\n"),
])
def test_text_output_follows_the_aws_clis_text_formatter_and_escapes_controls(value, expected):
    import io
    stream = io.StringIO()
    output._aws_text(value, stream)
    assert stream.getvalue() == expected


def test_a_bad_query_is_a_usage_error_as_json_in_json_mode(failing_logs, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit-access-logs", str(failing_logs), "--query", "findings[?"])
    assert exit_info.value.code == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["kind"] == "usage" and "JMESPath" in error["message"] and error["exit_status"] == 2


def test_output_table_is_the_text_report(failing_logs, capsys):
    main(["audit-access-logs", str(failing_logs)])
    text = capsys.readouterr().out
    assert main(["audit-access-logs", str(failing_logs), "--output", "table"]) == 1
    assert capsys.readouterr().out == text and "Verdict: FAIL" in text


def test_color_on_colors_the_verdict_and_auto_on_a_pipe_does_not(failing_logs, capsys):
    main(["audit-access-logs", str(failing_logs), "--color", "on"])
    colored = capsys.readouterr().out
    assert "\x1b[1m\x1b[31mVerdict: FAIL\x1b[0m" in colored
    for mode in ("off", "auto"):  # capsys is not a terminal
        main(["audit-access-logs", str(failing_logs), "--color", mode])
        assert "\x1b[" not in capsys.readouterr().out
    main(["audit-access-logs", str(failing_logs), "--color", "on", "--output", "json"])
    assert "\x1b[" not in capsys.readouterr().out


def test_color_marks_only_line_starts_so_log_text_cannot_fake_a_colored_verdict():
    report = "HIGH     injected_log: log file Verdict: VALID\\x0a\nVerdict: INVALID"
    painted = output.paint(report, enabled=True)
    assert painted.splitlines()[0] == "\x1b[31mHIGH\x1b[0m     injected_log: log file Verdict: VALID\\x0a"
    assert painted.splitlines()[1] == "\x1b[1m\x1b[31mVerdict: INVALID\x1b[0m"


def test_no_paginate_is_accepted_and_reads_everything_still(failing_logs, capsys):
    main(["audit-access-logs", str(failing_logs), "--output", "json"])
    everything = capsys.readouterr().out
    assert main(["audit-access-logs", str(failing_logs), "--output", "json", "--no-paginate"]) == 1
    assert capsys.readouterr().out == everything


@pytest.mark.parametrize("argv", [
    ["audit-access-logs", "x"],
    ["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW],
    ["check-posture", "--trail-arn", TRAIL_ARN],
])
def test_every_aws_global_option_is_taken_by_every_command_that_calls_aws(argv):
    args = _parser().parse_args([*argv, "--query", "verdict", "--color", "off", "--no-paginate",
                                 "--output", "json", "--region", "eu-west-1", "--profile", "p",
                                 "--endpoint-url", "http://localhost:1", "--debug", "--no-verify-ssl",
                                 "--no-sign-request", "--cli-read-timeout", "5", "--cli-connect-timeout", "5"])
    assert (args.format, args.color, args.no_paginate, args.sign_request, args.region) == (
        "json", "off", True, False, "eu-west-1")


def test_evidence_takes_query_color_and_no_paginate_but_keeps_output_as_its_file():
    args = _parser().parse_args(["evidence", "cdk.out", "--query", "controls", "--color", "off", "--no-paginate",
                                 "--output", "report.json"])
    assert args.output == "report.json" and args.query.expression == "controls"


def test_query_cannot_apply_to_a_report_that_is_not_json(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evidence", "cdk.out", "--format", "html", "--query", "controls"])
    assert exit_info.value.code == 2 and "--query selects from the JSON report" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "why"), [
    (["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW], "ListPublicKeys"),
    (["check-posture", "--trail-arn", TRAIL_ARN], "answer only signed requests"),
])
def test_no_sign_request_is_a_usage_error_where_only_signed_apis_can_answer(argv, why, capsys):
    assert main([*argv, "--no-sign-request"]) == 2
    assert f"secure-trail: error: --no-sign-request cannot apply to {argv[0]}" in capsys.readouterr().err
    assert main([*argv, "--no-sign-request", "--output", "json"]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["kind"] == "usage" and why in error["message"]


@mock_aws
def test_no_sign_request_reads_s3_inputs_anonymously(aws_env, monkeypatch, capsys):
    import botocore
    import botocore.client
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="public-logs", ACL="public-read")
    s3.put_object(Bucket="public-logs", Key="t/2021-07-12-00-00-00-A", Body=plain_http_line().encode(),
                  ACL="public-read")
    seen = []
    real_call = botocore.client.BaseClient._make_api_call

    def api_call(client, operation, params):
        seen.append((operation, client.meta.config.signature_version))
        return real_call(client, operation, params)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", api_call)
    assert main(["audit-access-logs", "s3://public-logs/t/", "--no-sign-request", "--output", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["lines"] == 1
    assert seen and all(signature is botocore.UNSIGNED for _, signature in seen)


@mock_aws
def test_audit_access_logs_reads_s3_through_the_aws_options(aws_env, monkeypatch, capsys):
    import botocore.client
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="audited-logs")
    seen = []
    real_call = botocore.client.BaseClient._make_api_call

    def api_call(client, operation, params):
        seen.append((client.meta.region_name, client.meta.config.read_timeout))
        return real_call(client, operation, params)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", api_call)
    main(["audit-access-logs", "s3://audited-logs/", "--region", "eu-west-1", "--cli-read-timeout", "9"])
    assert seen and set(seen) == {("eu-west-1", 9)}


def test_errors_are_json_on_stderr_in_json_mode_and_one_line_of_text_otherwise(tmp_path, capsys):
    assert main(["audit-access-logs", "/no/such/path"]) == 2
    assert capsys.readouterr().err.startswith("secure-trail: error: ")
    assert main(["audit-access-logs", "/no/such/path", "--output", "json"]) == 2
    captured = capsys.readouterr()
    error = json.loads(captured.err)["error"]
    assert (error["kind"], error["exit_status"]) == ("input", 2) and "no such file" in error["message"]
    assert captured.out == ""


def test_nothing_audited_is_a_json_error_beside_the_json_report(tmp_path, capsys):
    (tmp_path / "empty.log").write_text("")
    assert main(["audit-access-logs", str(tmp_path), "--output=json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdict"] == "nothing_audited"
    assert json.loads(captured.err)["error"]["kind"] == "nothing_audited"


@pytest.mark.parametrize("argv", [["audit-access-logs", "x", "--min-tls", "TLSv2", "--output", "json"],
                                  ["audit-access-logs", "--format=json"],
                                  ["validate-logs", "--trail-arn", TRAIL_ARN, "--start-time", "soon",
                                   "--query", "verdict"]])
def test_usage_errors_are_json_in_json_mode(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["kind"] == "usage" and error["message"].startswith("secure-trail ")


def test_a_missing_dependency_is_its_own_json_error_kind(monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "obstore", None)
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW, "--output", "json"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["kind"] == "dependency"


def test_every_json_error_kind_is_documented():
    from pathlib import Path
    page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for kind in output.ERROR_KINDS:
        assert f"`{kind}`" in page


@pytest.fixture
def opensearch():
    import threading
    from http.server import ThreadingHTTPServer

    from opensearch_bulk_server import JsonHandler

    class Handler(JsonHandler):
        def do_PUT(self) -> None:
            self._body()
            self._reply(200, {"acknowledged": True})

        def do_POST(self) -> None:
            self._body()
            self._reply(400, {"success": False, "errors": ["refused"]})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_analytics_setup_prints_a_json_report_that_query_selects_from(opensearch, capsys):
    assert main(["analytics", "setup", "--endpoint-url", opensearch, "--service", "es", "--skip-dashboards",
                 "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["index_template"] == "cloudtrail-secure-trail" and report["saved_objects_imported"] is None
    assert main(["analytics", "setup", "--endpoint", opensearch, "--service", "es", "--skip-dashboards",
                 "--query", "index_pattern", "--output", "text"]) == 0
    assert capsys.readouterr().out == "cloudtrail-*\n"


def test_analytics_setup_errors_are_json_in_json_mode(opensearch, capsys):
    assert main(["analytics", "setup", "--endpoint", opensearch, "--service", "es", "--output", "json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["index_template"] == "cloudtrail-secure-trail"
    error = json.loads(captured.err)["error"]
    assert error["kind"] == "aws" and "saved objects not imported (HTTP 400)" in error["message"]
    assert main(["analytics", "setup", "--endpoint", opensearch, "--service", "es", "--no-sign-request"]) == 2
    assert "--no-sign-request cannot apply to analytics setup" in capsys.readouterr().err


def test_evidence_query_selects_from_its_json_report(default_cdk_out, capsys):
    assert main(["evidence", str(default_cdk_out), "--query", "controls[].id"]) == 0
    ids = json.loads(capsys.readouterr().out)
    assert ids and all(isinstance(i, str) for i in ids)
