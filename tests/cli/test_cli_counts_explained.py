"""validate-logs says why its counts differ from `aws cloudtrail validate-logs` on the same
data (awscli customizations/cloudtrail/validation.py: one account and region a run, digests
named from the window's start to an hour after its end, each run of missing digests one
INVALID digest file, every log file of those valid digests, no log folder listed)."""

import json
from datetime import timedelta

import boto3
import pytest

from trail_simulation import T0, SimulatedTrail
from trail_validators.cli.main import main
from trail_validators.cli.report import aws_cli_differences
from trail_validators.digests import aws as aws_adapters
from trail_validators.digests.chain import ChainResult
from trail_validators.digests.layout import ChainId, TrailLocation
from trail_validators.digests.run import RunResult

BUCKET = "org-trail-bucket"
LOCATION = TrailLocation(BUCKET, "org", "o-a1b2c3d4e5", "org-trail", "us-east-1")
TRAIL_ARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
CHAINS = [ChainId(a, r) for a in ("111111111111", "222222222222") for r in ("us-east-1", "eu-west-1")]
WINDOW_ARGS = ["--start-time", (T0 + timedelta(minutes=5)).isoformat(),
               "--end-time", (T0 + timedelta(hours=3, minutes=20)).isoformat()]


@pytest.fixture
def org(moto_endpoint, monkeypatch):
    sim = SimulatedTrail(LOCATION)
    for chain in CHAINS:
        sim.deliver(chain, T0 - timedelta(hours=1), 6)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key, stored in sim.objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=stored.data, Metadata=dict(stored.metadata))
    boto3.client("cloudtrail").create_trail(Name="org-trail", S3BucketName=BUCKET, S3KeyPrefix="org",
                                            IsMultiRegionTrail=True, IsOrganizationTrail=True,
                                            EnableLogFileValidation=True)
    monkeypatch.setattr(aws_adapters, "cloudtrail_public_keys", lambda factory: lambda region, w: sim.public_keys)
    sim.s3 = s3
    return sim


def test_the_report_says_why_its_counts_differ_from_the_aws_clis(org, capsys):
    victim = next(k for k in org.objects if "/111111111111/CloudTrail-Digest/us-east-1/" in k and "T02" in k)
    org.s3.delete_object(Bucket=BUCKET, Key=victim)
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--output", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    differences = {d["reason"]: d for d in report["aws_cli_differences"]}
    assert differences["chains"]["count"] == 4
    assert differences["missing_digests"]["count"] >= 1
    assert differences["logs_outside_window"]["count"] > 0
    assert "--account-id" in differences["chains"]["message"]
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS]) == 1
    text = capsys.readouterr().out
    assert "Counts differ from aws cloudtrail validate-logs on the same data:" in text
    assert "  - 4 chains (account and region) in one run" in text
    assert text.index("Counts differ") < text.index("Verdict: INVALID")


def test_a_single_clean_chain_differs_only_by_the_logs_after_the_window(org, capsys):
    """The digest after the window lists logs named after its end: the AWS CLI hashes them too."""
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--account-id", "111111111111",
                 "--only-region", "us-east-1", "--query", "aws_cli_differences[].reason"]) == 0
    assert json.loads(capsys.readouterr().out) == ["logs_outside_window"]


def test_logs_listed_only_by_another_trail_and_digests_in_the_jitter_are_explained():
    chain = ChainResult(ChainId("111111111111", "us-east-1"), logs_checked_of_other_trails=3,
                        digests_after_aws_cli_range=1, other_trails={"audit (home region us-east-1)"})
    reasons = {d["reason"]: d for d in aws_cli_differences(RunResult([chain]))}
    assert reasons["logs_of_other_trails"]["count"] == 3
    assert "audit (home region us-east-1)" in reasons["logs_of_other_trails"]["message"]
    assert reasons["digests_after_aws_cli_range"]["count"] == 1 and "chains" not in reasons


def test_a_trail_name_with_braces_or_controls_cannot_break_the_explanation():
    chain = ChainResult(ChainId("111111111111", "us-east-1"), logs_checked_of_other_trails=1,
                        other_trails={"{n}{0}\x1b[2J"})
    (difference,) = aws_cli_differences(RunResult([chain]))
    assert "{n}{0}\\x1b[2J" in difference["message"]
