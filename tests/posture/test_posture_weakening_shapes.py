"""Posture shapes the watcher must see: a TLS deny narrowed by an extra condition, a status
that cannot be read, a CIS metric filter deleted or rewritten, the access-log bucket's
EventBridge feed turned off."""

from __future__ import annotations

import json

import pytest

from posture_events import api_call_event
from trail_validators.contract import PostureKind
from trail_validators.posture.judge import (PostureObservation, WatchedResources, has_tls_deny, judge_api_call,
                                            judge_status, state_changes)

TRAIL_ARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"
ONLY_ONE_ACCOUNT = {"StringEquals": {"aws:PrincipalAccount": "999999999999"}}


def _tls_policy(bucket: str, **extra_condition) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}, **extra_condition}}]})


def test_the_posture_check_sees_a_tls_deny_narrowed_by_an_extra_condition():
    assert has_tls_deny(_tls_policy("logs"), "logs")
    assert not has_tls_deny(_tls_policy("logs", **ONLY_ONE_ACCOUNT), "logs")
    assert not has_tls_deny(_tls_policy("logs", Bool={"aws:SecureTransport": "false", "aws:ViaAWSService": "false"}),
                            "logs")


def test_a_status_that_cannot_be_read_does_not_clear_an_open_condition():
    stopped = judge_status(PostureObservation(trail={"LogFileValidationEnabled": True, "IsMultiRegionTrail": True,
                                                     "IsOrganizationTrail": True},
                                              status={"IsLogging": False}), expected_selectors=None,
                           trail_arn=TRAIL_ARN)
    first = state_changes([], stopped)
    assert [f.kind for f in first.appeared] == [PostureKind.LOGGING_STOPPED]
    # The next run is throttled reading GetTrailStatus: logging may still be off.
    unreadable = judge_status(PostureObservation(trail={"LogFileValidationEnabled": True, "IsMultiRegionTrail": True,
                                                        "IsOrganizationTrail": True},
                                                 errors=((TRAIL_ARN, "the trail (ThrottlingException)"),)),
                              expected_selectors=None, trail_arn=TRAIL_ARN)
    second = state_changes(first.open_kinds, unreadable)
    assert second.cleared == []
    assert PostureKind.LOGGING_STOPPED in [c.split("@")[0] for c in second.open_kinds]
    # Read again, still stopped: no second alert for the same stop.
    third = state_changes(second.open_kinds, stopped)
    assert PostureKind.LOGGING_STOPPED not in [f.kind for f in third.appeared]
    assert f"{PostureKind.CHECK_FAILED}@{TRAIL_ARN}" in third.cleared


def test_deleting_or_rewriting_a_cis_metric_filter_on_the_trails_log_group_alerts():
    """Without its filter a CIS alarm sees nothing: the quietest way to blind the monitoring."""
    group = "/aws/cloudtrail/org-trail"
    watched = WatchedResources(trail_arn=TRAIL_ARN, account="111111111111", region="us-east-1",
                               log_group_name=group)
    for name, parameters in (("DeleteMetricFilter", {"filterName": "RootUserUsage"}),
                             ("PutMetricFilter", {"filterName": "RootUserUsage", "filterPattern": "{$.x = 1}"}),
                             ("PutSubscriptionFilter", {"filterName": "analytics", "destinationArn": "arn:x"})):
        event = api_call_event("logs.amazonaws.com", name, {"logGroupName": group, **parameters},
                               account="111111111111", region="us-east-1")
        finding = judge_api_call(event, watched)
        assert finding is not None and finding.kind == PostureKind.WEAKENING_API_CALL, name
        other = api_call_event("logs.amazonaws.com", name, {"logGroupName": "/other", **parameters},
                               account="111111111111", region="us-east-1")
        assert judge_api_call(other, watched) is None


@pytest.mark.parametrize("name", ["PutBucketNotification", "PutBucketNotificationConfiguration"])
def test_turning_off_the_access_log_buckets_eventbridge_feed_alerts(name):
    """The access-log audit runs on the bucket's EventBridge notifications: removing them
    stopped it with no alert."""
    watched = WatchedResources(trail_arn=TRAIL_ARN, account="222222222222", region="us-east-1", watch_trail=False,
                               buckets=("trail-logs", "access-logs"))
    event = api_call_event("s3.amazonaws.com", name, {"bucketName": "access-logs", "NotificationConfiguration": {}},
                           account="222222222222", region="us-east-1")
    finding = judge_api_call(event, watched)
    assert finding is not None and finding.kind == PostureKind.WEAKENING_API_CALL
    assert judge_api_call(api_call_event("s3.amazonaws.com", name, {"bucketName": "other"}, account="222222222222",
                                         region="us-east-1"), watched) is None
