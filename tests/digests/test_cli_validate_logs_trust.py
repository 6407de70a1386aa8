"""`secure-trail validate-logs` given hostile arguments, or a bucket shared with other trails."""

import gzip
import json
from datetime import timedelta

import pytest

from conftest import MOTO_TRAIL_ARN as TRAIL_ARN
from conftest import MOTO_TRAIL_BUCKET as BUCKET
from test_cli_validate_logs import WINDOW_ARGS
from trail_simulation import T0, SimulatedTrail
from trail_validators.cli.main import main
from trail_validators.digests.chain import StoredObject
from trail_validators.digests.layout import ChainId


@pytest.mark.parametrize("times", [
    ["--start-time", "0001-01-01"], ["--start-time", "0001-01-01T00:00:00+01:00"], ["--start-time", "2010-06-01"],
    ["--start-time", "2026-01-01", "--end-time", "9999-12-31"], ["--start-time", "2999-01-01"],
])
def test_times_before_cloudtrail_or_after_now_are_usage_errors(times, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["validate-logs", "--trail-arn", TRAIL_ARN, *times])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "outside the times a trail can have logs for" in err or "is not a time" in err
    assert "Traceback" not in err


def test_a_wrong_trail_name_with_s3_bucket_says_no_digests_of_that_trail(org_trail, capsys):
    wrong = TRAIL_ARN.replace("trail/org-trail", "trail/old_org-trail")
    assert main(["validate-logs", "--trail-arn", wrong, *WINDOW_ARGS, "--s3-bucket", BUCKET, "--s3-prefix", "org"]) == 2
    err = capsys.readouterr().err
    assert "no digests of trail old_org-trail" in err and "digests of other trails are there: org-trail" in err


def test_a_wrong_home_region_with_s3_bucket_says_no_digests_of_that_trail(org_trail, capsys):
    wrong = TRAIL_ARN.replace(":us-east-1:", ":eu-west-3:")
    assert main(["validate-logs", "--trail-arn", wrong, *WINDOW_ARGS, "--s3-bucket", BUCKET, "--s3-prefix", "org"]) == 2
    assert "no digests of trail org-trail (home region eu-west-3)" in capsys.readouterr().err


@pytest.fixture
def laundered(org_trail):
    """A third account whose logging was stopped for two hours, with a log put in the gap."""
    sim = SimulatedTrail(org_trail.location, key=org_trail.key)
    chain = ChainId("333333333333", "us-east-1")
    sim.deliver(chain, T0 - timedelta(hours=1), 6, stopped_hours=frozenset({2, 3}))
    key = (f"{sim.location.log_day_prefix(chain, T0)}333333333333_CloudTrail_us-east-1_"
           f"{T0 + timedelta(hours=1, minutes=30):%Y%m%dT%H%MZ}_LAUNDEREDxxxxxxx.json.gz")
    sim.objects[key] = StoredObject(gzip.compress(b'{"Records": []}'), {})
    sim.upload(org_trail.s3)
    return key


def test_a_log_in_a_gap_is_a_counted_warning_by_default(laundered, capsys):
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["log_objects"]["not_vouched"] == 1 and report["strict"] is False and report["valid"] is True
    assert [f["keys"] for f in report["findings"] if f["kind"] == "unverifiable_log"] == [[laundered]]


def test_strict_fails_a_run_with_a_log_no_valid_digest_vouches_for(laundered, capsys):
    assert main(["validate-logs", "--trail-arn", TRAIL_ARN, *WINDOW_ARGS, "--strict"]) == 1
    out = capsys.readouterr().out
    assert "1 not vouched for" in out and "Verdict: INVALID" in out and "strict" in out
