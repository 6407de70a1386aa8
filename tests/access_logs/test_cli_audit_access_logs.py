"""`secure-trail audit-access-logs`: inputs, formats and exit codes."""

import gzip
import json
import os
import sys
import tracemalloc

import boto3
import pytest
from moto import mock_aws

from access_log_samples import access_log_line, plain_http_line
from trail_validators.access_logs import sources as log_sources
from trail_validators.access_logs.audit import MEMORY_BUDGET_BYTES
from trail_validators.cli.main import main


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
    assert set(report) == {"schema_version", "policy", "verdict", "nothing_audited", "summary", "findings"}
    assert report["schema_version"] == 1
    assert report["verdict"] == "fail" and report["nothing_audited"] is None
    assert report["policy"]["min_tls"] == "TLSv1.3"
    assert set(report["findings"][0]) == {"kind", "severity", "message", "keys", "details"}


def test_since_and_until_bound_the_days(tmp_path, capsys):
    (tmp_path / "a.log").write_text(plain_http_line(time="01/Jan/2020:00:00:00 +0000") + "\n"
                                    + access_log_line(time="01/Jan/2021:00:00:00 +0000") + "\n")
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


def test_corrupt_gzip_is_a_finding_and_the_other_inputs_are_still_audited(tmp_path, capsys):
    (tmp_path / "a-bad.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 20)
    (tmp_path / "b-truncated.gz").write_bytes(gzip.compress((access_log_line() + "\n").encode() * 3)[:-8])
    (tmp_path / "c.log").write_text(plain_http_line() + "\n")
    assert main(["audit-access-logs", str(tmp_path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert sorted(f["kind"] for f in report["findings"]) == ["corrupt_log_object", "corrupt_log_object",
                                                             "non_tls_success"]
    assert report["summary"]["objects"] == 3 and report["summary"]["records"] == 4


# -- 1. only "\n" ends a record ------------------------------------------------------------

@pytest.mark.parametrize("separator", ["\u2028", "\u0085", "\v", "\f"])
def test_a_line_break_in_a_user_agent_cannot_turn_plain_http_into_a_pass(separator, tmp_path, capsys):
    forged_tail = 'x" - id SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader h TLSv1.2 - -'
    forged_head = plain_http_line(bucket="other").split(' "-" "-"')[0] + ' "-" "z'
    line = plain_http_line(operation="REST.GET.OBJECT", user_agent=forged_tail + separator + forged_head)
    (tmp_path / "a.log").write_bytes((line + "\n").encode())
    assert main(["audit-access-logs", str(tmp_path), "--bucket", "trail-bucket"]) == 1
    out = capsys.readouterr().out
    assert "non_tls_success (critical): 1" in out and "Verdict: FAIL" in out


# -- 2. nothing audited is never a pass ------------------------------------------------------

@pytest.mark.parametrize(("files", "flags", "why"), [
    ({}, [], "the inputs hold no log object"),
    ({"empty.log": ""}, [], "hold no lines"),
    ({"a.log": plain_http_line() + "\n"}, ["--bucket", "another-bucket"], "1 outside the bucket"),
    ({"a.log": plain_http_line() + "\n"}, ["--since", "2030-01-01"], "1 outside the bucket or days"),
])
def test_nothing_audited_exits_2_and_says_so(files, flags, why, tmp_path, capsys):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert main(["audit-access-logs", str(tmp_path), *flags]) == 2
    captured = capsys.readouterr()
    assert "nothing was audited: " in captured.err and why in captured.err
    assert "Verdict: NOTHING AUDITED" in captured.out
    assert main(["audit-access-logs", str(tmp_path), *flags, "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "nothing_audited" and why in report["nothing_audited"]


@mock_aws
def test_an_s3_prefix_without_objects_exits_2(capsys, aws_env):
    boto3.client("s3").create_bucket(Bucket="access-logs")
    assert main(["audit-access-logs", "s3://access-logs/trail-bucket/"]) == 2
    assert "nothing was audited: the inputs hold no log object" in capsys.readouterr().err


def test_since_after_until_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "a.log").write_text(access_log_line() + "\n")
    assert main(["audit-access-logs", str(tmp_path), "--since", "2026-02-01", "--until", "2026-01-01"]) == 2
    assert "after until" in capsys.readouterr().err


# -- 3. bounded memory ------------------------------------------------------------------------

def test_a_gzip_bomb_among_the_inputs_is_a_finding_within_the_budget_and_the_rest_is_audited(tmp_path, capsys):
    (tmp_path / "a-bomb.gz").write_bytes(gzip.compress(b"\0" * 2**24, 9) * 64)  # 1 MB, inflates to 1 GiB
    (tmp_path / "b.log").write_text(plain_http_line() + "\n")
    tracemalloc.start()
    try:
        code = main(["audit-access-logs", str(tmp_path), "--format", "json"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1 and peak < MEMORY_BUDGET_BYTES
    report = json.loads(capsys.readouterr().out)
    assert sorted(f["kind"] for f in report["findings"]) == ["non_tls_success", "oversized_log_object"]


# -- 4. inputs ---------------------------------------------------------------------------------

def test_symlinked_folders_are_followed_once_even_through_a_loop(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.log").write_text(plain_http_line() + "\n")
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "top" / "loop").symlink_to(tmp_path / "top", target_is_directory=True)
    assert main(["audit-access-logs", str(tmp_path / "top"), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["records"] == 1
    # The same file reached twice (as an input and through a link) is audited once.
    assert main(["audit-access-logs", str(tmp_path / "top"), str(tmp_path / "real" / "a.log"), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["records"] == 1


def one_clear_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_an_unreadable_file_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "a.log").write_text(access_log_line() + "\n")

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(log_sources, "open", refuse, raising=False)
    assert main(["audit-access-logs", str(tmp_path)]) == 2
    assert "a.log: cannot read: Permission denied" in one_clear_line(capsys)


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: root / ("a" * 300), "File name too long"),
    (lambda root: (root / "dangling").symlink_to(root / "gone") or root, "no such file or folder"),
    (lambda root: os.mkfifo(root / "pipe") or root, "not a regular file or folder"),
])
def test_inputs_that_cannot_be_read_exit_2_with_one_line(make, message, tmp_path, capsys):
    assert main(["audit-access-logs", str(make(tmp_path))]) == 2
    assert message in one_clear_line(capsys)


def test_a_missing_cli_dependency_exits_2_with_the_fix(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now raises ImportError
    assert main(["audit-access-logs", "s3://access-logs/trail-bucket/"]) == 2
    assert "pip install ./lambda_src" in one_clear_line(capsys)


def test_misnamed_inputs_and_log_text_print_as_data(tmp_path, capsys):
    name = os.fsdecode(b"\xff-undecodable-name.log")
    (tmp_path / name).write_text("garbage\n" + plain_http_line(key="k\x1b[2J") + "\n")
    assert main(["audit-access-logs", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    out.encode("utf-8")  # no lone surrogates: printable on any UTF-8 terminal
    assert "\\xff-undecodable-name.log:1: not parsed" in out and "\x1b" not in out and "k\\x1b[2J" in out
