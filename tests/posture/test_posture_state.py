"""The scheduled posture check's memory: a condition is a kind on a resource (one bucket's
lost TLS deny does not hide the other's); a part that cannot be read keeps only its own
conditions open (a stop, restart and stop again of the trail alerts twice while the key is
unreadable)."""

from __future__ import annotations

import json

from trail_validators.contract import PostureKind
from trail_validators.posture.judge import PostureObservation, judge_status, state_changes

ACCOUNT, REGION = "111111111111", "eu-west-1"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-trail"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TRAIL_BUCKET, ACCESS_BUCKET = "org-trail-logs", "org-trail-access-logs"


def tls_policy(bucket: str) -> str:
    return json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                      "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


TRAIL = {"IsMultiRegionTrail": True, "IsOrganizationTrail": True, "LogFileValidationEnabled": True}
KEY = {"Arn": KEY_ARN, "KeyState": "Enabled", "Enabled": True}
POLICIES = {TRAIL_BUCKET: tls_policy(TRAIL_BUCKET), ACCESS_BUCKET: tls_policy(ACCESS_BUCKET)}


def judged(**changes):
    observation = PostureObservation(**{"trail": TRAIL, "status": {"IsLogging": True}, "key": KEY,
                                        "bucket_policies": POLICIES, **changes})
    return judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN)


def test_a_second_bucket_losing_its_tls_deny_alerts_while_the_first_is_still_open():
    first = state_changes([], judged(bucket_policies={**POLICIES, ACCESS_BUCKET: None}))
    assert [f.keys for f in first.appeared] == [(ACCESS_BUCKET,)]
    both = state_changes(first.open_kinds, judged(bucket_policies={TRAIL_BUCKET: None, ACCESS_BUCKET: None}))
    assert [(f.kind, f.keys) for f in both.appeared] == [(PostureKind.BUCKET_TLS_DENY_MISSING, (TRAIL_BUCKET,))]
    healed = state_changes(both.open_kinds, judged(bucket_policies={**POLICIES, ACCESS_BUCKET: None}))
    assert healed.appeared == [] and len(healed.cleared) == 1 and TRAIL_BUCKET in healed.cleared[0]


def test_an_unreadable_key_does_not_freeze_the_trails_conditions():
    key_denied = {"key": None, "errors": ((KEY_ARN, f"the key {KEY_ARN} (AccessDeniedException)"),)}
    stopped = state_changes([], judged(status={"IsLogging": False}, **key_denied))
    assert PostureKind.LOGGING_STOPPED in [f.kind for f in stopped.appeared]
    restarted = state_changes(stopped.open_kinds, judged(**key_denied))
    assert any(c.startswith(PostureKind.LOGGING_STOPPED) for c in restarted.cleared)
    stopped_again = state_changes(restarted.open_kinds, judged(status={"IsLogging": False}, **key_denied))
    assert PostureKind.LOGGING_STOPPED in [f.kind for f in stopped_again.appeared]


def test_an_unreadable_part_keeps_its_own_conditions_open():
    disabled = state_changes([], judged(key={**KEY, "KeyState": "Disabled", "Enabled": False}))
    assert [f.kind for f in disabled.appeared] == [PostureKind.KEY_DISABLED]
    unreadable = state_changes(disabled.open_kinds, judged(key=None, errors=((KEY_ARN, "the key (Throttling)"),)))
    assert unreadable.cleared == [] and any(c.startswith(PostureKind.KEY_DISABLED) for c in unreadable.open_kinds)


def test_conditions_stored_by_kind_alone_are_not_alerted_again():
    """State written before conditions had a resource: the same open kind is the same condition."""
    changes = state_changes([PostureKind.LOGGING_STOPPED], judged(status={"IsLogging": False}))
    assert changes.appeared == [] and changes.cleared == []
    assert changes.open_kinds == [f"{PostureKind.LOGGING_STOPPED}@{TRAIL_ARN}"]


# -- the trail's destination, compared with the deployed one --------------------------------
DEPLOYED = {"S3BucketName": TRAIL_BUCKET, "S3KeyPrefix": "org", "KmsKeyId": KEY_ARN,
            "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/cloudtrail/org-trail:*",
            "CloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/CloudTrailLogs",
            "SnsTopicARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:org-trail-delivery"}


def judged_with_destination(**trail):
    observation = PostureObservation(trail={**TRAIL, **DEPLOYED, **trail}, status={"IsLogging": True}, key=KEY,
                                     bucket_policies=POLICIES)
    return judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN, expected_trail=DEPLOYED)


def test_the_deployed_destination_is_no_finding():
    assert judged_with_destination() == []


def test_the_log_group_arn_with_or_without_its_wildcard_is_the_same_destination():
    assert judged_with_destination(CloudWatchLogsLogGroupArn=DEPLOYED["CloudWatchLogsLogGroupArn"][:-2]) == []


def test_an_update_trail_to_another_destination_is_a_finding_of_the_schedule():
    for setting, value in (("S3BucketName", "attacker-bucket"), ("S3KeyPrefix", "elsewhere"),
                           ("S3KeyPrefix", None), ("KmsKeyId", KEY_ARN.replace(ACCOUNT, "999999999999")),
                           ("CloudWatchLogsLogGroupArn", None), ("CloudWatchLogsRoleArn", None),
                           ("SnsTopicARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:other")):
        findings = judged_with_destination(**{setting: value})
        assert [(f.kind, f.details["setting"]) for f in findings] == [
            (PostureKind.TRAIL_DESTINATION_CHANGED, setting)], setting


def test_two_destination_changes_are_two_conditions():
    bucket = state_changes([], judged_with_destination(S3BucketName="attacker-bucket"))
    both = state_changes(bucket.open_kinds, judged_with_destination(S3BucketName="attacker-bucket",
                                                                    CloudWatchLogsLogGroupArn=None))
    assert [f.details["setting"] for f in both.appeared] == ["CloudWatchLogsLogGroupArn"]


def test_a_key_named_by_alias_must_be_a_key_of_the_aliass_account_and_region():
    alias = f"arn:aws:kms:{REGION}:222222222222:alias/org-trail"
    ours = f"arn:aws:kms:{REGION}:222222222222:key/abcd"
    observation = PostureObservation(trail={**TRAIL, **DEPLOYED, "KmsKeyId": ours}, status={"IsLogging": True})
    expected = {**DEPLOYED, "KmsKeyId": alias}
    assert judge_status(observation, expected_selectors=None, trail_arn=TRAIL_ARN, expected_trail=expected) == []
    elsewhere = PostureObservation(trail={**TRAIL, **DEPLOYED, "KmsKeyId": ours.replace("222222222222", "999999999999")},
                                   status={"IsLogging": True})
    assert [f.kind for f in judge_status(elsewhere, expected_selectors=None, trail_arn=TRAIL_ARN,
                                         expected_trail=expected)] == [PostureKind.TRAIL_DESTINATION_CHANGED]
