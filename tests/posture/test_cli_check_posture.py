"""``secure-trail check-posture`` on moto: the same core as the Lambda; exit 0 healthy,
1 findings, 2 errors (unreadable parts, bad input)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from trail_validators.cli.main import main
from trail_validators.contract import PostureKind

REGION, ACCOUNT, TRAIL, BUCKET = "eu-west-1", "123456789012", "org-trail", "org-trail-logs-test"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
SELECTORS = [{"Name": "All management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]


@pytest.fixture
def trail(aws_env, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3, kms, cloudtrail = (boto3.client(n, region_name=REGION) for n in ("s3", "kms", "cloudtrail"))
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        key = kms.create_key()["KeyMetadata"]["Arn"]
        cloudtrail.create_trail(Name=TRAIL, S3BucketName=BUCKET, IsMultiRegionTrail=True, IsOrganizationTrail=True,
                                EnableLogFileValidation=True, KmsKeyId=key)
        cloudtrail.put_event_selectors(TrailName=TRAIL, AdvancedEventSelectors=SELECTORS)
        cloudtrail.start_logging(Name=TRAIL)
        yield {"cloudtrail": cloudtrail, "s3": s3, "kms": kms, "key": key}


def run(capsys, *args) -> tuple[int, dict]:
    code = main(["check-posture", "--trail-arn", TRAIL_ARN, "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_a_healthy_trail_exits_0(trail, capsys):
    code, report = run(capsys, "--expected-selectors", json.dumps(SELECTORS))
    assert (code, report["verdict"], report["findings"]) == (0, "healthy", [])
    assert report["checked"] == {"trail": True, "key": True, "buckets": [BUCKET], "selectors": True}


def test_findings_exit_1_with_each_condition(trail, capsys):
    trail["cloudtrail"].stop_logging(Name=TRAIL)
    trail["s3"].delete_bucket_policy(Bucket=BUCKET)
    code, report = run(capsys, "--expected-selectors", json.dumps([]))
    assert code == 1 and report["verdict"] == "findings"
    assert {f["kind"] for f in report["findings"]} == {
        PostureKind.LOGGING_STOPPED, PostureKind.BUCKET_TLS_DENY_MISSING, PostureKind.EVENT_SELECTORS_CHANGED}


def test_the_text_report_names_each_finding(trail, capsys):
    trail["cloudtrail"].stop_logging(Name=TRAIL)
    assert main(["check-posture", "--trail-arn", TRAIL_ARN]) == 1
    out = capsys.readouterr().out
    assert "FINDINGS" in out and PostureKind.LOGGING_STOPPED in out and "not compared" in out


def test_an_unreadable_part_exits_2(trail, capsys):
    missing_key = trail["key"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    code, report = run(capsys, "--key-arn", missing_key)
    assert code == 2 and report["verdict"] == "error"
    assert PostureKind.CHECK_FAILED in {f["kind"] for f in report["findings"]}


@pytest.mark.parametrize("args", [["--trail-arn", "not-an-arn"], ["--trail-arn", "arn:aws:s3:::bucket"],
                                  ["--trail-arn", TRAIL_ARN, "--expected-selectors", "{"],
                                  ["--trail-arn", TRAIL_ARN, "--expected-selectors", "@/nonexistent/file"]])
def test_bad_input_exits_2(args, aws_env, capsys):
    try:
        code = main(["check-posture", *args])
    except SystemExit as exit_:  # argparse rejects a bad type itself
        code = exit_.code
    assert code == 2


def test_a_missing_trail_is_a_finding(trail, capsys):
    trail["cloudtrail"].delete_trail(Name=TRAIL)
    code, report = run(capsys)
    assert code == 1 and [f["kind"] for f in report["findings"]] == [PostureKind.TRAIL_MISSING]
