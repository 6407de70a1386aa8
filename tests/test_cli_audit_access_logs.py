"""`secure-trail audit-access-logs`: inputs, formats and exit codes."""

import gzip
import json

import boto3
import pytest
from moto import mock_aws

from access_log_samples import access_log_line, plain_http_line
from trail_validators.cli import main


@pytest.fixture
def clean_file(tmp_path):
    path = tmp_path / "clean.log"
    path.write_text("\n".join([access_log_line(), access_log_line(tls="TLSv1.3")]) + "\n")
    return path


def test_clean_logs_exit_0_with_an_evidence_table(clean_file, capsys):
    assert main(["audit-access-logs", str(clean_file)]) == 0
    out = capsys.readouterr().out
    assert "TLSv1.2" in out and "TLSv1.3" in out and "Findings: none" in out and "Verdict: PASS" in out


def test_plain_http_success_exits_1_and_is_listed(tmp_path, capsys):
    (tmp_path / "a.log").write_text(plain_http_line(key="AWSLogs/secret.json.gz") + "\n")
    assert main(["audit-access-logs", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "non_tls_success (critical): 1" in out and "AWSLogs/secret.json.gz" in out and "Verdict: FAIL" in out


def test_only_info_findings_exit_0(tmp_path):
    (tmp_path / "a.log").write_text(plain_http_line(status="403") + "\n")
    assert main(["audit-access-logs", str(tmp_path)]) == 0


def test_gzipped_files_in_nested_folders_are_read(tmp_path, capsys):
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "x.gz").write_bytes(gzip.compress((access_log_line(tls="TLSV1.1") + "\n").encode()))
    (tmp_path / "d" / "plain.log").write_text(access_log_line() + "\n")
    assert main(["audit-access-logs", str(tmp_path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["lines"] == 2
    assert report["summary"]["by_tls_version"] == {"TLSv1.1": 1, "TLSv1.2": 1}
    assert [f["kind"] for f in report["findings"]] == ["weak_tls_success"]


def test_json_report_is_stable_for_tooling(clean_file, capsys):
    main(["audit-access-logs", str(clean_file), "--format", "json", "--min-tls", "TLSv1.3"])
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"policy", "summary", "findings"}
    assert report["policy"]["min_tls"] == "TLSv1.3"
    assert set(report["findings"][0]) == {"kind", "severity", "message", "keys", "details"}


def test_since_and_until_bound_the_days(tmp_path, capsys):
    (tmp_path / "a.log").write_text(plain_http_line(time="01/Jan/2020:00:00:00 +0000") + "\n")
    assert main(["audit-access-logs", str(tmp_path), "--since", "2021-01-01"]) == 0
    assert main(["audit-access-logs", str(tmp_path), "--until", "2020-01-01"]) == 1


@mock_aws
def test_reads_an_s3_prefix(capsys, aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="access-logs")
    s3.put_object(Bucket="access-logs", Key="trail-bucket/2021-07-12-00-00-00-A", Body=plain_http_line().encode())
    s3.put_object(Bucket="access-logs", Key="other/ignored", Body=b"garbage")
    assert main(["audit-access-logs", "s3://access-logs/trail-bucket/", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["lines"] == 1
    assert report["findings"][0]["details"]["source"] == "s3://access-logs/trail-bucket/2021-07-12-00-00-00-A"


@pytest.mark.parametrize(("argv", "message"), [
    (["audit-access-logs", "/no/such/path"], "no such file or folder"),
])
def test_input_errors_exit_2_with_a_message_and_no_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["audit-access-logs", "x", "--min-tls", "TLSv2"],
                                  ["audit-access-logs", "x", "--since", "yesterday"],
                                  ["audit-access-logs"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_corrupt_gzip_is_an_error_not_a_pass(tmp_path, capsys):
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 20)
    assert main(["audit-access-logs", str(tmp_path)]) == 2
    assert "corrupt gzip" in capsys.readouterr().err
