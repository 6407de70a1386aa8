"""`secure-trail validate-logs` against a moto server (S3, CloudTrail), reached through
AWS_ENDPOINT_URL as a user would; ListPublicKeys is stubbed because moto does not
implement it."""

import io
import os
import json
import sys
from datetime import timedelta

import obstore
import pytest

from conftest import MOTO_TRAIL_ARN as TRAIL_ARN
from conftest import MOTO_TRAIL_BUCKET as BUCKET
from conftest import MOTO_TRAIL_CHAINS as CHAINS
from trail_simulation import T0
from trail_validators.cli.main import main
WINDOW_ARGS = ["--start-time", (T0 + timedelta(minutes=5)).isoformat(),
               "--end-time", (T0 + timedelta(hours=4, minutes=20)).isoformat()]


def test_every_account_and_region_of_an_org_trail_in_one_run(org_trail, capsys):
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and report["trail"]["org_id"] == "o-a1b2c3d4e5"
    assert (report["verdict"], report["schema_version"]) == ("valid", 1)
    assert sorted((c["account"], c["region"]) for c in report["chains"]) == sorted((c.account, c.region) for c in CHAINS)
    assert all(c["digests_valid"] == 5 and c["logs_valid"] == 9 for c in report["chains"])
    assert report["log_objects"] == {"log_objects": 32, "vouched": 32, "vouched_by_other_trails": 0, "vouched_by_backfill": 0,
                                     "not_vouched": 0, "pending": 0}


def test_a_deleted_log_exits_1_and_is_named(org_trail, capsys):
    victim = next(k for k in org_trail.objects if "/222222222222/CloudTrail/eu-west-1/" in k and k.endswith(".json.gz")
                  and "T01" in k)
    org_trail.s3.delete_object(Bucket=BUCKET, Key=victim)
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 1
    out = capsys.readouterr().out
    assert f"missing_log: 222222222222/eu-west-1: log file {victim}" in out and "Verdict: INVALID" in out


def test_account_and_region_narrow_the_run(org_trail, capsys):
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--account-id", "111111111111",
                 "--only-region", "eu-west-1", "--format", "json"]) == 0
    chains = json.loads(capsys.readouterr().out)["chains"]
    assert [(c["account"], c["region"]) for c in chains] == [("111111111111", "eu-west-1")]


def test_explicit_bucket_keeps_the_org_id_in_the_path(org_trail, capsys):
    """The AWS CLI drops the org id when given --s3-bucket, finds nothing and exits 0."""
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--s3-bucket", BUCKET,
                 "--s3-prefix", "org", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["chains"]) == 4


def test_a_progress_bar_on_a_terminal_only(org_trail, monkeypatch, capsys):
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: nothing on stderr

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 0
    assert sys.stderr.getvalue().endswith(f"\r[{'#' * 30}] 4/4 chains\n")


def test_nothing_to_validate_is_an_error_not_a_pass(org_trail, capsys):
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--account-id", "999999999999"]) == 2
    assert "no digests of org-trail" in capsys.readouterr().err


def test_an_object_denied_to_the_validator_is_a_finding_and_the_run_goes_on(org_trail, monkeypatch, capsys):
    """Re-encrypted with another key, archived, SSE-C: that object cannot be vouched for."""
    import botocore.client
    from botocore.exceptions import ClientError
    victim = next(k for k in org_trail.objects if "/222222222222/CloudTrail/eu-west-1/" in k and "T01" in k)
    real_get, real_call = obstore.get, botocore.client.BaseClient._make_api_call

    def obstore_get(store, key, **kwargs):
        if key.endswith(victim):
            raise obstore.exceptions.PermissionDeniedError(f"GET {key}: 403 AccessDenied")
        return real_get(store, key, **kwargs)

    def api_call(client, operation, params):
        if operation == "GetObject" and params.get("Key") == victim:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, operation)
        return real_call(client, operation, params)
    monkeypatch.setattr(obstore, "get", obstore_get)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", api_call)
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 1
    out = capsys.readouterr().out
    assert f"unreadable_object: 222222222222/eu-west-1: log file {victim} cannot be read: AccessDenied" in out


def test_a_missing_bucket_exits_2_with_a_message(org_trail, capsys):
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--s3-bucket", "no-such-trail-bucket"]) == 2
    assert "AWS error" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--trail-arn", "not-an-arn", "--start-time", "2026-01-01"], "is not a trail ARN"),
    (["--trail-arn", TRAIL_ARN, "--start-time", "2026-02-01", "--end-time", "2026-01-01"], "before --end-time"),
    (["--trail-arn", "arn:aws:cloudtrail:us-east-1:123456789012:trail/nope", "--start-time", "2026-01-01"],
     "not found"),
])
def test_errors_exit_2_with_a_message_and_no_traceback(org_trail, args, message, capsys):
    assert main(["validate-logs", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_time_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["validate-logs", "--trail-arn", TRAIL_ARN, "--start-time", "last tuesday"])
    assert exit_info.value.code == 2 and "ISO 8601" in capsys.readouterr().err


def test_a_missing_cli_dependency_is_named_with_the_fix(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "obstore", None)  # as if not installed
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 2
    assert "validate-logs needs obstore: install the command line tool" in capsys.readouterr().err


def test_the_aws_clis_global_options_are_taken_as_it_takes_them(org_trail, monkeypatch, capsys):
    """--region is the clients' region (not a filter), --endpoint-url CloudTrail's, --output json
    is --format json; TLS and timeout options reach boto3 and obstore."""
    import botocore.client
    seen = []
    real_call = botocore.client.BaseClient._make_api_call

    def api_call(client, operation, params):
        seen.append((client.meta.service_model.service_name, client.meta.region_name, client.meta.endpoint_url,
                     client.meta.config.read_timeout, client.meta.config.connect_timeout))
        return real_call(client, operation, params)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", api_call)
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--region", "eu-central-1",
                 "--endpoint-url", endpoint, "--cli-read-timeout", "7", "--cli-connect-timeout", "0",
                 "--no-verify-ssl", "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["chains"]) == 4  # every region's chains: --region filters nothing
    assert ("cloudtrail", "eu-central-1", endpoint, 7, None) in seen  # describe-trails
    assert {(service, read, connect) for service, _, _, read, connect in seen} == {
        ("cloudtrail", 7, None), ("s3", 7, None)}


@pytest.mark.parametrize("option", ["--ca-bundle", "--cli-read-timeout"])
def test_a_bad_aws_option_value_is_a_usage_error(option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, option, "/no/such/file"])
    assert exit_info.value.code == 2 and option in capsys.readouterr().err


@pytest.mark.parametrize("command", ["audit-access-logs", "validate-logs"])
def test_every_option_has_help_text(command):
    from trail_validators.cli.main import _parser
    subparsers = next(a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    parser = subparsers.choices[command]
    missing = [a.option_strings or a.dest for a in parser._actions if not a.help and a.dest != "help"]
    assert missing == []
