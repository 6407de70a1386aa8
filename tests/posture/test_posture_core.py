"""The posture watcher's pure core: which calls are alerts (exactly one, naming who, what,
when and why), which are nothing (another resource, however similar its name), which are
rejections (malformed, another account or region); the scheduled check's conditions and
its once-per-state-change alerts."""

from __future__ import annotations

import json

import pytest

from posture_events import (ACCOUNT, ALIAS, BUCKETS, KEY_ARN, LOG_GROUP, REGION, SOURCE_IP, TRAIL_ARN, USER_AGENT,
                            WATCHED, WATCHED_CALLS, api_call_event, stack_calls, validator_calls)
from trail_validators.contract import PostureKind
from trail_validators.contract.weakening_calls import WEAKENING_CALLS, call_named
from trail_validators.findings import Severity
from trail_validators.posture.judge import (MAX_FIELD_CHARS, PostureObservation, Rejection,
                                            WatchedResources, has_tls_deny, judge_api_call, judge_status,
                                            state_changes)


def event(source, name, parameters, resources=None, **overrides):
    return api_call_event(source, name, parameters, account=overrides.pop("account", ACCOUNT),
                          region=overrides.pop("region", REGION), resources=resources, **overrides)


def test_the_samples_cover_every_call_the_issue_names():
    covered = {(source, name) for source, name, _, _ in WATCHED_CALLS}
    covered |= {(source, call_named(source, name) and next(n for n, c in WEAKENING_CALLS[source].items()
                                                          if c is call_named(source, name)))
                for source, name, _, _ in validator_calls(trail_name="org-trail", account=ACCOUNT, region=REGION)}
    covered |= {(source, name) for source, name, _ in stack_calls(stack="SecureTrail", account=ACCOUNT, region=REGION)}
    assert covered == {(source, name) for source, calls in WEAKENING_CALLS.items() for name in calls}
    # the issue's, bucket notifications, key alias, log group filters, the rest of the buckets' and log group's
    # settings, the validators' functions, rules, topics and backfill, the stack's alarms, queues and table,
    # CloudTrail's delegated administration
    assert len(covered) == 6 + 13 + 2 + (5 + 2) + 4 + 3 + 6 + 3 + (10 + 5 + 4 + 3) + (4 + 3 + 2) + 2


@pytest.mark.parametrize("source,name,parameters,resources", WATCHED_CALLS,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(WATCHED_CALLS)])
def test_each_weakening_call_is_one_finding_naming_who_what_when_and_why(source, name, parameters, resources):
    sample = event(source, name, parameters, resources)
    finding = judge_api_call(sample, WATCHED)
    assert finding is not None and not isinstance(finding, Rejection)
    assert finding.kind == PostureKind.WEAKENING_API_CALL
    details = finding.details
    assert details["principal_arn"] == sample["detail"]["userIdentity"]["arn"]
    assert (details["source_ip"], details["user_agent"]) == (SOURCE_IP, USER_AGENT)
    assert details["event_name"] == name and details["event_time"] == "2026-11-25T04:12:31Z"
    assert details["resource"] in {TRAIL_ARN, "org-trail", *BUCKETS, KEY_ARN, KEY_ARN.rsplit("/", 1)[1], LOG_GROUP,
                                   ALIAS}
    assert details["why"] and details["principal_arn"] in finding.message and name in finding.message
    assert finding.severity >= Severity.HIGH


UNRELATED = [
    ("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": f"{BUCKETS[0]}-copy"}),
    ("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": f"x{BUCKETS[0]}"}),
    ("s3.amazonaws.com", "DeleteBucket", {"bucketName": BUCKETS[0].upper()}),
    ("s3.amazonaws.com", "DeleteBucketPolicy", {"bucketName": "someone-elses-bucket"}),
    ("cloudtrail.amazonaws.com", "StopLogging", {"name": "org-trail-2"}),
    ("cloudtrail.amazonaws.com", "StopLogging", {"name": "org-trai"}),
    ("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN.replace(ACCOUNT, "999999999999")}),
    ("cloudtrail.amazonaws.com", "DeleteTrail", {"name": f"{TRAIL_ARN}x"}),
    ("kms.amazonaws.com", "ScheduleKeyDeletion", {"keyId": KEY_ARN[:-1] + "1"}),
    ("kms.amazonaws.com", "DisableKey", {"keyId": KEY_ARN.rsplit("/", 1)[1][:8]}),
    ("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": f"{LOG_GROUP}-old"}),
    ("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": "/aws/cloudtrail/org"}),
    # a call that does not weaken anything, on our own bucket
    ("s3.amazonaws.com", "GetBucketPolicy", {"bucketName": BUCKETS[0]}),
    ("kms.amazonaws.com", "EnableKey", {"keyId": KEY_ARN}),
    ("kms.amazonaws.com", "UpdateAlias", {"aliasName": "alias/org-trail-old", "targetKeyId": "x"}),
    ("kms.amazonaws.com", "DeleteAlias", {"aliasName": "alias/org-trail-delivery"}),
    ("sqs.amazonaws.com", "DeleteQueue", {"queueUrl": BUCKETS[0]}),
]


@pytest.mark.parametrize("source,name,parameters", UNRELATED, ids=[f"{u[1]}-{i}" for i, u in enumerate(UNRELATED)])
def test_a_call_on_another_resource_or_a_harmless_call_is_nothing(source, name, parameters):
    sample = event("s3.amazonaws.com", name, parameters)
    sample["detail"]["eventSource"] = source
    assert judge_api_call(sample, WATCHED) is None


def test_a_resource_named_only_in_another_field_is_nothing():
    """The bucket's name in the policy text of another bucket does not make it ours."""
    sample = event("s3.amazonaws.com", "PutBucketPolicy",
                   {"bucketName": "other", "policy": json.dumps({"Resource": f"arn:aws:s3:::{BUCKETS[0]}"})})
    assert judge_api_call(sample, WATCHED) is None


@pytest.mark.parametrize("where", [{"account": "999999999999"}, {"region": "us-east-1"}])
def test_an_event_of_another_account_or_region_is_a_rejection(where):
    assert isinstance(judge_api_call(event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN},
                                           **where), WATCHED), Rejection)


def test_a_detail_that_contradicts_the_envelope_is_a_rejection():
    sample = event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN})
    sample["detail"]["recipientAccountId"] = "999999999999"
    assert isinstance(judge_api_call(sample, WATCHED), Rejection)
    sample = event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN})
    sample["detail"]["awsRegion"] = "us-east-1"
    assert isinstance(judge_api_call(sample, WATCHED), Rejection)


def _without(path):
    sample = event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN})
    node = sample
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return sample


MALFORMED = [None, [], "StopLogging", 7, {}, {"detail-type": "AWS API Call via CloudTrail"},
             {"detail-type": "AWS API Call via CloudTrail", "detail": "x"},
             {"detail-type": "AWS API Call via CloudTrail", "detail": {"eventSource": 1, "eventName": []}},
             _without(("detail", "eventName")), _without(("detail", "eventSource")), _without(("detail-type",)),
             _without(("account",)), _without(("region",))]


@pytest.mark.parametrize("sample", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_event_is_a_rejection_not_a_crash(sample):
    assert isinstance(judge_api_call(sample, WATCHED), Rejection)


@pytest.mark.parametrize("missing", [("detail", "userIdentity"), ("detail", "sourceIPAddress"),
                                     ("detail", "userAgent"), ("detail", "eventTime"), ("detail", "eventID")])
def test_a_weakening_call_missing_who_or_when_still_alerts(missing):
    finding = judge_api_call(_without(missing), WATCHED)
    assert finding is not None and not isinstance(finding, Rejection)
    if missing[1] == "userIdentity":
        assert finding.details["principal_arn"] is None and "an unnamed principal" in finding.message


def test_parameters_of_the_wrong_type_are_nothing_not_a_crash():
    for parameters in (None, [], "x", {"bucketName": ["a"]}, {"bucketName": {"x": 1}}):
        assert judge_api_call(event("s3.amazonaws.com", "PutBucketPolicy", parameters), WATCHED) is None
    sample = event("kms.amazonaws.com", "DisableKey", {"keyId": 5}, resources=["x", {"ARN": None}, 3])
    assert judge_api_call(sample, WATCHED) is None


def test_huge_fields_are_cut_in_the_alert():
    sample = event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN}, principal="A" * 1_000_000)
    sample["detail"]["userAgent"] = "U" * 1_000_000
    finding = judge_api_call(sample, WATCHED)
    assert len(finding.details["principal_arn"]) <= MAX_FIELD_CHARS + 3
    assert len(finding.details["user_agent"]) <= MAX_FIELD_CHARS + 3
    assert len(json.dumps(finding.to_dict())) < 10_000


def test_a_failed_call_still_alerts_but_lower_and_says_it_failed():
    finding = judge_api_call(event("s3.amazonaws.com", "DeleteBucketPolicy", {"bucketName": BUCKETS[1]},
                                   error_code="AccessDenied"), WATCHED)
    assert finding.severity == Severity.MEDIUM and "failed: AccessDenied" in finding.message


def test_a_watcher_without_the_trail_ignores_trail_calls():
    """The Log Archive's watcher: buckets and key only (the trail account watches the trail)."""
    log_archive = WatchedResources(trail_arn=TRAIL_ARN, account=ACCOUNT, region=REGION, watch_trail=False,
                                   buckets=BUCKETS, key_arn=KEY_ARN)
    assert judge_api_call(event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN}), log_archive) is None
    assert judge_api_call(event("logs.amazonaws.com", "DeleteLogGroup", {"logGroupName": LOG_GROUP}),
                          log_archive) is None
    assert judge_api_call(event("s3.amazonaws.com", "DeleteBucket", {"bucketName": BUCKETS[0]}), log_archive)


# -- the scheduled check -----------------------------------------------------------------
SELECTORS = [{"Name": "All management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
TLS_DENY = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKETS[0]}", f"arn:aws:s3:::{BUCKETS[0]}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
HEALTHY = dict(trail={"IsMultiRegionTrail": True, "IsOrganizationTrail": True, "LogFileValidationEnabled": True},
               status={"IsLogging": True}, selectors={"AdvancedEventSelectors": SELECTORS},
               key={"Arn": KEY_ARN, "KeyState": "Enabled", "Enabled": True},
               bucket_policies={BUCKETS[0]: json.dumps({"Version": "2012-10-17", "Statement": [TLS_DENY]})})


def kinds(**changes):
    observation = PostureObservation(**{**HEALTHY, **changes})
    return {f.kind for f in judge_status(observation, expected_selectors=SELECTORS, trail_arn=TRAIL_ARN)}


def test_a_healthy_trail_has_no_finding():
    assert kinds() == set()


@pytest.mark.parametrize("changes,kind", [
    ({"status": {"IsLogging": False}}, PostureKind.LOGGING_STOPPED),
    ({"status": {"IsLogging": True, "LatestDeliveryError": "AccessDenied"}}, PostureKind.DELIVERY_ERROR),
    ({"status": {"IsLogging": True, "LatestDigestDeliveryError": "NoSuchBucket"}}, PostureKind.DIGEST_DELIVERY_ERROR),
    ({"status": {"IsLogging": True, "LatestCloudWatchLogsDeliveryError": "AccessDenied"}},
     PostureKind.CLOUDWATCH_LOGS_DELIVERY_ERROR),
    ({"trail": {**HEALTHY["trail"], "LogFileValidationEnabled": False}}, PostureKind.LOG_FILE_VALIDATION_OFF),
    ({"trail": {**HEALTHY["trail"], "IsMultiRegionTrail": False}}, PostureKind.NOT_MULTI_REGION),
    ({"trail": {**HEALTHY["trail"], "IsOrganizationTrail": False}}, PostureKind.NOT_ORGANIZATION_TRAIL),
    ({"selectors": {"AdvancedEventSelectors": [{"Name": "x", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}]}},
     PostureKind.EVENT_SELECTORS_CHANGED),
    ({"selectors": {"EventSelectors": [{"ReadWriteType": "All"}]}}, PostureKind.EVENT_SELECTORS_CHANGED),
    ({"key": {"Arn": KEY_ARN, "KeyState": "Disabled", "Enabled": False}}, PostureKind.KEY_DISABLED),
    ({"key": {"Arn": KEY_ARN, "KeyState": "PendingDeletion", "Enabled": False, "DeletionDate": "2026-12-02"}},
     PostureKind.KEY_PENDING_DELETION),
    ({"bucket_policies": {BUCKETS[0]: None}}, PostureKind.BUCKET_TLS_DENY_MISSING),
    ({"trail_found": False}, PostureKind.TRAIL_MISSING),
    ({"errors": ("the trail (AccessDenied)",)}, PostureKind.CHECK_FAILED),
])
def test_each_condition_is_its_finding(changes, kind):
    assert kinds(**changes) == {kind}


def test_empty_operators_as_the_api_may_return_them_are_no_difference():
    found = [{"Name": "x", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"], "StartsWith": [],
                                               "NotEquals": None}]}]
    assert kinds(selectors={"AdvancedEventSelectors": found}) == set()


def test_selector_names_are_labels_only():
    renamed = [{**SELECTORS[0], "Name": "renamed"}]
    assert kinds(selectors={"AdvancedEventSelectors": renamed}) == set()


@pytest.mark.parametrize("statement", [
    {**TLS_DENY, "Effect": "Allow"},
    {**TLS_DENY, "Principal": {"AWS": "arn:aws:iam::111111111111:root"}},
    {**TLS_DENY, "Action": "s3:GetObject"},
    {**TLS_DENY, "Resource": [f"arn:aws:s3:::{BUCKETS[0]}"]},
    {**TLS_DENY, "Resource": [f"arn:aws:s3:::{BUCKETS[0]}-other", f"arn:aws:s3:::{BUCKETS[0]}-other/*"]},
    {**TLS_DENY, "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
    {**TLS_DENY, "Condition": {"StringEquals": {"aws:SecureTransport": "false"}}},
    {k: v for k, v in TLS_DENY.items() if k != "Action"} | {"NotAction": "s3:GetObject"},
])
def test_a_statement_that_does_not_deny_all_plain_http_is_not_the_tls_deny(statement):
    assert not has_tls_deny(json.dumps({"Statement": [statement]}), BUCKETS[0])


def test_the_tls_deny_is_recognized_in_the_forms_s3_returns():
    assert has_tls_deny(json.dumps({"Statement": [{**TLS_DENY, "Principal": "*"}]}), BUCKETS[0])
    assert has_tls_deny(json.dumps({"Statement": {**TLS_DENY, "Action": ["s3:GetObject", "s3:*"]}}), BUCKETS[0])
    for junk in (None, "", "{", "[]", json.dumps({"Statement": "x"}), json.dumps({"Statement": [1, None]})):
        assert not has_tls_deny(junk, BUCKETS[0])


def test_state_changes_alert_once_when_a_condition_appears_and_once_when_it_clears():
    stopped = judge_status(PostureObservation(**{**HEALTHY, "status": {"IsLogging": False}}),
                           expected_selectors=SELECTORS, trail_arn=TRAIL_ARN)
    first = state_changes([], stopped)
    assert [f.kind for f in first.appeared] == [PostureKind.LOGGING_STOPPED] and first.cleared == []
    second = state_changes(first.open_kinds, stopped)
    assert second.appeared == [] and second.cleared == []
    third = state_changes(second.open_kinds, [])
    assert third.appeared == [] and third.cleared == [f"{PostureKind.LOGGING_STOPPED}@{TRAIL_ARN}"]
    assert third.open_kinds == []


def test_two_findings_of_one_kind_are_one_condition():
    stopped = judge_status(PostureObservation(**{**HEALTHY, "errors": ("a", "b")}), expected_selectors=SELECTORS,
                           trail_arn=TRAIL_ARN)
    assert len(stopped) == 2 and len(state_changes([], stopped).appeared) == 1


def test_trail_names_and_key_ids_match_whatever_their_case_bucket_names_do_not():
    """A trail or key named in another case cannot slip past; S3 refuses upper-case names."""
    for source, name, parameters in (("cloudtrail.amazonaws.com", "StopLogging", {"name": "ORG-Trail"}),
                                     ("cloudtrail.amazonaws.com", "DeleteTrail", {"name": TRAIL_ARN.upper()}),
                                     ("kms.amazonaws.com", "DisableKey", {"keyId": KEY_ARN.rsplit("/", 1)[1].upper()})):
        assert judge_api_call(event(source, name, parameters), WATCHED), parameters


JUNK = [None, 0, -1, 1.5, True, "", "x" * 300_000, "\u2028\x1b[31m", [], [None], {}, {"ARN": KEY_ARN}, [[[]]]]


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))


def test_any_field_of_any_sample_replaced_by_junk_never_crashes_the_judge():
    """Every field of every sample event (nested ones too), each replaced by each junk value."""
    import copy
    judged = 0
    for source, name, parameters, resources in WATCHED_CALLS[::4]:
        sample = event(source, name, parameters, resources)
        for path in list(_paths(sample)):
            for junk in JUNK:
                mutated = copy.deepcopy(sample)
                node = mutated
                for part in path[:-1]:
                    node = node[part]
                node[path[-1]] = junk
                verdict = judge_api_call(mutated, WATCHED)
                assert verdict is None or isinstance(verdict, Rejection) or verdict.kind == PostureKind.WEAKENING_API_CALL
                if not isinstance(verdict, Rejection) and verdict is not None:
                    assert len(json.dumps(verdict.to_dict())) < 20_000
                judged += 1
    assert judged > 1000


def test_an_odd_event_id_becomes_a_bounded_marker():
    from trail_validators.posture.judge import event_id
    sample = event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN}, event_id="ü" * 10_000)
    marker = event_id(sample)
    assert marker.startswith("sha256-") and len(marker) == 71
    plain = event("cloudtrail.amazonaws.com", "StopLogging", {"name": TRAIL_ARN}, event_id="0a1b-2c3d")
    assert event_id(plain) == "0a1b-2c3d"


QUEUE_HOSTS = (f"sqs.{REGION}.amazonaws.com", f"sqs.{REGION}.amazonaws.com.cn", f"sqs.{REGION}.api.aws",
               f"{REGION}.queue.amazonaws.com")


@pytest.mark.parametrize("scheme", ["https", "http"])
@pytest.mark.parametrize("host", QUEUE_HOSTS, ids=["standard", "china", "dual-stack", "legacy"])
def test_a_queue_of_the_stack_is_ours_in_every_spelling_of_its_url(scheme, host):
    """The SQS API takes the queue URL a caller sends (CloudTrail records it as sent): the China
    partitions' host, the dual-stack host, the legacy one and plain http all name our queue."""
    watched = WatchedResources(trail_arn=TRAIL_ARN, account=ACCOUNT, region=REGION, stack_name="SecureTrail")
    url = f"{scheme}://{host}/{ACCOUNT}/SecureTrail-SecureTrailPostureWatcherFailedCallsWorkQueue-1"
    finding = judge_api_call(event("sqs.amazonaws.com", "PurgeQueue", {"queueUrl": url}), watched)
    assert finding is not None and not isinstance(finding, Rejection) and finding.details["resource"] == url
    for other in (url.replace(f"/{ACCOUNT}/", "/222222222222/"), url.replace("/SecureTrail-", "/SecureTrailX-"),
                  url.replace(REGION, "us-east-1")):
        assert judge_api_call(event("sqs.amazonaws.com", "PurgeQueue", {"queueUrl": other}), watched) is None, other
