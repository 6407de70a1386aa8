"""validate-logs says why its counts differ from `aws cloudtrail validate-logs` on the same
data (awscli customizations/cloudtrail/validation.py: one account and region a run, digests
named from the window's start to an hour after its end, each run of missing digests one
INVALID digest file, every log file of those valid digests, no log folder listed)."""

import json
from datetime import timedelta

from conftest import MOTO_TRAIL_ARN as TRAIL_ARN
from conftest import MOTO_TRAIL_BUCKET as BUCKET
from trail_simulation import T0
from trail_validators.cli.main import main
from trail_validators.cli.report import aws_cli_differences
from trail_validators.digests.chain import ChainResult
from trail_validators.digests.layout import ChainId
from trail_validators.digests.run import RunResult
WINDOW_ARGS = ["--start-time", (T0 + timedelta(minutes=5)).isoformat(),
               "--end-time", (T0 + timedelta(hours=3, minutes=20)).isoformat()]


def test_the_report_says_why_its_counts_differ_from_the_aws_clis(org_trail, capsys):
    victim = next(k for k in org_trail.objects if "/111111111111/CloudTrail-Digest/us-east-1/" in k and "T02" in k)
    org_trail.s3.delete_object(Bucket=BUCKET, Key=victim)
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


def test_a_single_clean_chain_differs_only_by_the_logs_after_the_window(org_trail, capsys):
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
