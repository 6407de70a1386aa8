"""The enrichment core on realistic subscription payloads and hostile ones: what becomes a
document (and with which fields and tags), what is rejected (and counted with its event id),
what fails the payload as a whole."""

from __future__ import annotations

import base64
import gzip
import ipaddress
import json
import re
import tracemalloc
import zlib

import pytest

import analytics_samples as samples
from trail_validators.analytics import bounded
from trail_validators.analytics.detections import RULES, detect
from trail_validators.analytics.documents import MAX_DOCUMENT_BYTES
from trail_validators.analytics.enrich import enrich
from trail_validators.analytics.filter_pattern import PatternError, compile_pattern
from trail_validators.analytics.schema import BOOLEAN, DATE, IP, KEYWORD, TEXT, all_fields
from trail_validators.analytics.subscription import MAX_DECODED_BYTES, PayloadError, decode
from trail_validators.contract.monitoring_controls import MONITORING_CONTROLS

PREFIX = "cloudtrail"


def run(event: dict):
    return enrich(decode(event), index_prefix=PREFIX, account_names=samples.ACCOUNTS)


def by_name(enrichment) -> dict[str, dict]:
    return {d.source["eventName"] + ":" + d.source["account"]["id"]: d.source for d in enrichment.documents}


def _source_of(pattern: str) -> str:
    found = re.search(r'\$\.eventSource\s*=\s*"?([a-z0-9.-]+)"?', pattern)
    return found.group(1) if found else "ec2.amazonaws.com"


# -- detections: the CIS controls' own patterns ------------------------------------------
# What the console sign-in patterns ask beyond the event name.
SATISFYING = {
    "CloudWatch.3": {"identity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/alice",
                                  "accountId": "111111111111", "userName": "alice"},
                     "additionalEventData": {"MFAUsed": "No"}, "responseElements": {"ConsoleLogin": "Success"}},
    "CloudWatch.6": {"errorMessage": "Failed authentication"},
}


@pytest.mark.parametrize("control", MONITORING_CONTROLS, ids=lambda c: c.control_id)
def test_every_event_name_of_every_cis_pattern_is_tagged(control):
    assert control.event_names or control.control_id in ("CloudWatch.1", "CloudWatch.2"), control
    for event_name in control.event_names:
        record = samples.record(event_name, _source_of(control.filter_pattern),
                                **SATISFYING.get(control.control_id, {}))
        tags = detect(record).tags
        assert tags, f"{control.control_id}: {event_name} is tagged by no rule"
        assert control.metric_name in tags


def test_one_rule_per_control_in_the_table():
    assert [rule.control for rule in RULES] == list(MONITORING_CONTROLS)
    assert len({rule.tag for rule in RULES}) == len(MONITORING_CONTROLS)


@pytest.mark.parametrize("record, expected", [
    # CloudWatch.3 counts IAM users only: a root sign-in is CloudWatch.1's.
    (samples.root_console_login("111111111111"), {"RootUserUsage"}),
    (samples.record("ConsoleLogin", "signin.amazonaws.com", **SATISFYING["CloudWatch.3"]), {"ConsoleSignInWithoutMfa"}),
    (samples.root_console_login("111111111111", mfa="Yes"), {"RootUserUsage"}),
    (samples.failed_console_login("222222222222"), {"ConsoleAuthenticationFailures"}),
    (samples.access_denied("333333333333"), {"UnauthorizedApiCalls"}),
    (samples.record("RunInstances", "ec2.amazonaws.com", errorCode="Client.UnauthorizedOperation"),
     {"UnauthorizedApiCalls"}),
    (samples.record("StopLogging", "cloudtrail.amazonaws.com"), {"CloudTrailConfigurationChanges"}),
    (samples.record("ScheduleKeyDeletion", "kms.amazonaws.com"), {"KmsKeyDisableOrDeletion"}),
    (samples.record("DisableKey", "not-kms.amazonaws.com"), set()),  # the pattern requires KMS's source
    (samples.record("PutBucketPolicy", "s3.amazonaws.com"), {"S3BucketPolicyChanges"}),
    # CloudWatch.4 names no event source: its alarm counts Organizations' CreatePolicy too.
    (samples.record("CreatePolicy", "organizations.amazonaws.com"), {"OrganizationsChanges"}),
    (samples.record("CreatePolicy", "iam.amazonaws.com"), {"IamPolicyChanges"}),
    (samples.record("CreateRoute", "ec2.amazonaws.com"), {"RouteTableChanges"}),
    (samples.record("CreateRoute", "elsewhere.amazonaws.com"), set()),
    (samples.record("DescribeInstances", "ec2.amazonaws.com"), set()),
    (samples.seed_001_cloudtrail_generate_data_key(), set()),
    # Root acting through a service (invokedBy) is not root usage, as in CloudWatch.1.
    (samples.record("ListBuckets", "s3.amazonaws.com", identity={"type": "Root", "invokedBy": "x.amazonaws.com"}),
     set()),
])
def test_detection_tags_follow_the_cis_conditions(record, expected):
    assert set(detect(record).tags) == expected


@pytest.mark.parametrize("pattern, event, expected", [
    ('{ $.a = "x*z" }', {"a": "xyyz"}, True),
    ('{ $.a = "x*z" }', {"a": "xyy"}, False),
    ('{ $.a = x[1]* }', {"a": "x[1]2"}, True),  # only * is a wildcard
    ('{ $.a != "Yes" }', {}, False),  # a missing field compares false, != too
    ('{ $.a != "Yes" }', {"a": "No"}, True),
    ('{ $.a NOT EXISTS }', {"b": 1}, True),
    ('{ $.a.b IS NULL }', {"a": {"b": None}}, True),
    ('{ $.a = "true" }', {"a": True}, True),
    ('{ $.a = "x" }', {"a": ["x"]}, False),
    ('{ $.a = "x" }', "not an object", False),
    ('{ ($.a = 1) || ($.b = 2) && ($.c = 3) }', {"a": "1"}, True),
])
def test_filter_pattern_semantics(pattern, event, expected):
    assert compile_pattern(pattern)(event) is expected


@pytest.mark.parametrize("pattern", ['$.a = 1', '{ $.a > 1 }', '{ ($.a = 1 }', '{ $.a = }', '{ a = 1 }', '{ $.a = 1 ) }'])
def test_a_pattern_outside_the_supported_subset_is_refused(pattern):
    with pytest.raises(PatternError):
        compile_pattern(pattern)


# -- realistic payloads --------------------------------------------------------------------
def realistic_event() -> dict:
    records = [
        samples.seed_001_cloudtrail_generate_data_key("111111111111", 1),
        samples.seed_001_user_decrypts_log("222222222222", 2),
        samples.root_console_login("333333333333", 3),
        samples.failed_console_login("222222222222", 4),
        samples.access_denied("333333333333", 5),
        samples.record("PutBucketPolicy", "s3.amazonaws.com", account="222222222222", offset=6,
                       requestParameters={"bucketName": "org-trail-logs-222222222222-eu-west-1",
                                          "bucketPolicy": {"Statement": [{"Effect": "Allow"}]}}),
        samples.record("StopLogging", "cloudtrail.amazonaws.com", offset=7,
                       requestParameters={"name": "arn:aws:cloudtrail:eu-west-1:111111111111:trail/org-trail"}),
        samples.record("ScheduleKeyDeletion", "kms.amazonaws.com", account="222222222222", offset=8,
                       requestParameters={"keyId": "alias/org-trail", "pendingWindowInDays": 7}),
        samples.record("CreateAccount", "organizations.amazonaws.com", offset=9),
        samples.record("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", account="444444444444", offset=10),
    ]
    malformed = [("9001", "not json at all"), ("9002", "[1, 2, 3]"), ("9003", json.dumps({"eventName": "X"})),
                 ("9004", '{"eventID": NaN}'), ("9005", json.dumps({**samples.record("A", "b"), "eventTime": 17}))]
    return samples.payload(records, extra_messages=malformed)


def test_a_realistic_payload_yields_one_document_per_record_and_counts_the_rest():
    enrichment = run(realistic_event())
    assert enrichment.received == 15 and len(enrichment.documents) == 10
    assert sorted(r.event_id for r in enrichment.rejections) == ["9001", "9002", "9003", "9004", "9005"]
    docs = by_name(enrichment)
    root = docs["ConsoleLogin:333333333333"]
    assert root["detection"] == {"tags": ["RootUserUsage"], "controls": ["CloudWatch.1"]}
    assert root["account"] == {"id": "333333333333", "name": "workload-prod"}
    assert root["principal"]["type"] == "Root" and root["source"]["ip"] == "198.51.100.23"
    assert root["@timestamp"] == "2026-11-25T04:00:03Z" and root["region"] == "eu-west-1"
    assert root["cloudwatch"]["logGroup"] == samples.LOG_GROUP
    role = docs["StopLogging:111111111111"]
    assert role["principal"]["sessionIssuer"] == {"type": "Role", "arn": "arn:aws:iam::111111111111:role/Ops",
                                                  "userName": "Ops"}
    assert role["principal"]["mfaAuthenticated"] is True
    assert "arn:aws:cloudtrail:eu-west-1:111111111111:trail/org-trail" in role["targets"]
    assert "org-trail-logs-222222222222-eu-west-1" in docs["PutBucketPolicy:222222222222"]["targets"]
    service = docs["GenerateDataKey:111111111111"]
    assert service["principal"] == {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
    assert "ip" not in service["source"] and service["source"]["address"] == "cloudtrail.amazonaws.com"
    assert docs["Decrypt:222222222222"]["principal"]["mfaAuthenticated"] is False
    assert docs["AuthorizeSecurityGroupIngress:444444444444"]["account"] == {"id": "444444444444"}  # no name known
    assert docs["GetObject:333333333333"]["errorCode"] == "AccessDenied"


def test_documents_go_to_daily_indices_under_their_event_id():
    enrichment = run(realistic_event())
    for document in enrichment.documents:
        assert document.index == "cloudtrail-2026.11.25"
        assert document.id == document.source["eventID"]
    late = samples.record("CreateVpc", "ec2.amazonaws.com", offset=-5 * 3600)  # the day before, UTC
    assert run(samples.payload([late])).documents[0].index == "cloudtrail-2026.11.24"


def test_a_control_message_yields_nothing():
    batch = decode(samples.payload([], message_type="CONTROL_MESSAGE"))
    assert not batch.is_data
    assert enrich(batch, index_prefix=PREFIX, account_names={}).documents == ()


def _assert_conforms_to_schema(source: dict) -> None:
    for path, kind in all_fields().items():
        value = source
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        values = value if isinstance(value, list) and kind == KEYWORD else [value]
        for item in values:
            if kind in (KEYWORD, TEXT, DATE):
                assert isinstance(item, str), (path, item)
            elif kind == BOOLEAN:
                assert isinstance(item, bool), (path, item)
            elif kind == IP:
                ipaddress.ip_address(item)


def test_every_indexed_field_has_its_mapped_type():
    for document in run(realistic_event()).documents:
        _assert_conforms_to_schema(document.source)


# -- hostile records -----------------------------------------------------------------------
WRONG_VALUES = [{"a": 1}, ["x"], 12, 1.5, True, None, "", "x" * 5000]


@pytest.mark.parametrize("field", ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName",
                                   "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage",
                                   "requestParameters", "responseElements", "additionalEventData", "requestID",
                                   "eventID", "readOnly", "eventType", "managementEvent", "recipientAccountId",
                                   "resources", "principal", "source", "@timestamp", "detection"])
def test_a_wrong_type_in_any_field_is_rejected_or_dropped_never_indexed_as_is(field):
    for position, wrong in enumerate(WRONG_VALUES):
        record = samples.root_console_login("111111111111", position)
        record[field] = wrong
        enrichment = run(samples.payload([record]))
        assert len(enrichment.documents) + len(enrichment.rejections) == 1
        for document in enrichment.documents:
            _assert_conforms_to_schema(document.source)
            assert len(json.dumps(document.source)) <= MAX_DOCUMENT_BYTES


def test_identity_fields_of_the_wrong_type_leave_the_principal_out():
    record = samples.root_console_login("111111111111")
    record["userIdentity"] = {"type": ["Root"], "arn": {"x": 1}, "sessionContext": "nope", "accountId": 5}
    source = run(samples.payload([record])).documents[0].source
    assert source["principal"] == {"accountId": "5"}
    assert source["detection"]["tags"] == []  # both sign-in rules need a type ("Root", "IAMUser")


def test_the_record_s_own_derived_names_never_overwrite_the_enrichment():
    record = {**samples.access_denied("111111111111"), "account": {"name": "forged"}, "detection": "none"}
    source = run(samples.payload([record])).documents[0].source
    assert source["account"] == {"id": "111111111111", "name": "management"}
    assert source["detection"]["tags"] == ["UnauthorizedApiCalls"]
    assert source["malformedFields"] == ["account", "detection"]


def test_an_oversized_event_is_bounded_and_flagged():
    huge = {"items": [{"k": "v" * 4000, "n": n} for n in range(120)], "note": "x" * 200_000}
    record = samples.record("PutBucketPolicy", "s3.amazonaws.com", requestParameters=huge,
                            responseElements={"big": ["y" * 3000] * 100})
    enrichment = run(samples.payload([record]))
    source = enrichment.documents[0].source
    assert len(json.dumps(source)) <= MAX_DOCUMENT_BYTES
    assert source["truncatedFields"] == ["requestParameters", "responseElements"]
    assert source["detection"]["tags"] == ["S3BucketPolicyChanges"]


def test_deep_nesting_is_cut_at_the_bound_or_rejected_when_past_the_parser():
    nested: dict = {"leaf": "x"}
    for _ in range(50):
        nested = {"n": nested}
    record = samples.record("CreateVpc", "ec2.amazonaws.com", requestParameters=nested)
    source = run(samples.payload([record])).documents[0].source
    depth, value = 0, source["requestParameters"]
    while isinstance(value, dict):
        value, depth = value["n"], depth + 1
    assert depth == bounded.MAX_DEPTH and value == bounded.DEPTH_MARKER
    assert "requestParameters" in source["truncatedFields"]
    too_deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    enrichment = run(samples.payload([], extra_messages=[("deep", too_deep)]))
    assert [(r.event_id, r.reason) for r in enrichment.rejections] == [("deep", "message nested too deep to parse")]


def test_a_message_over_the_size_limit_is_rejected_not_parsed():
    message = json.dumps(samples.record("CreateVpc", "ec2.amazonaws.com", requestParameters={"x": "y" * 1_100_000}))
    enrichment = run(samples.payload([], extra_messages=[("big", message)]))
    assert enrichment.rejections[0].reason.startswith("message over")


@pytest.mark.parametrize("message, reason", [
    ('{"a": Infinity}', "message is not JSON"),
    ('{"a": NaN}', "message is not JSON"),
    ('"a string"', "message is not a JSON object"),
])
def test_json_that_python_would_accept_but_opensearch_would_not_is_rejected(message, reason):
    assert run(samples.payload([], extra_messages=[("x", message)])).rejections[0].reason == reason


@pytest.mark.parametrize("number", ["1e999", "-1e999", "9" * 5000, str(2**63), str(-2**63 - 1)])
def test_an_out_of_range_number_is_kept_as_text_and_the_record_is_still_indexed_and_tagged(number):
    record = samples.record("StopLogging", "cloudtrail.amazonaws.com",
                            requestParameters={"name": "org-trail", "padding": {"n": 0}})
    message = json.dumps(record).replace('{"n": 0}', '{"n": ' + number + "}")
    enrichment = run(samples.payload([message]))
    assert not enrichment.rejections and len(enrichment.documents) == 1
    source = enrichment.documents[0].source
    assert source["requestParameters"]["padding"]["n"] == number[:bounded.MAX_STRING_CHARS]
    assert source["detection"]["tags"] == ["CloudTrailConfigurationChanges"]
    json.dumps(source)  # the document serializes whatever the number was


def test_numbers_in_range_stay_numbers():
    record = samples.record("CreateVpc", "ec2.amazonaws.com", requestParameters={
        "big": 2**63 - 1, "small": -2**63, "ratio": 1.5e300})
    (document,) = run(samples.payload([record])).documents
    assert document.source["requestParameters"] == {"big": 2**63 - 1, "small": -2**63, "ratio": 1.5e300}


@pytest.mark.parametrize("where", ["before", "nested", "bounded"])
def test_padding_cannot_push_the_resource_fields_out_of_targets(where):
    padding = {f"p{n:03}": f"value-{n}" for n in range(150)}
    parameters = {"before": {**padding, "bucketName": "org-trail-logs"},
                  "nested": {"deep": [padding] * 3, "bucketName": "org-trail-logs"},
                  "bounded": {**padding, "policy": ["x"] * 500, "bucketName": "org-trail-logs"}}[where]
    record = samples.record("PutBucketLifecycle", "s3.amazonaws.com", requestParameters=parameters)
    (document,) = run(samples.payload([record])).documents
    assert document.source["targets"][0] == "org-trail-logs"


def test_targets_list_cloudtrails_resources_and_still_other_values():
    record = samples.record("DisableKey", "kms.amazonaws.com", requestParameters={"keyId": "k-1", "note": "x"},
                            resources=[{"ARN": "arn:aws:kms:eu-west-1:111111111111:key/k-1"}])
    (document,) = run(samples.payload([record])).documents
    assert document.source["targets"] == ["k-1", "arn:aws:kms:eu-west-1:111111111111:key/k-1", "x"]


def test_an_event_time_far_from_its_log_event_is_rejected():
    record = samples.record("CreateVpc", "ec2.amazonaws.com", eventTime="9999-12-31T23:59:59Z")
    assert run(samples.payload([record])).rejections[0].reason == "eventTime is too far from the log event's timestamp"


def test_malformed_log_events_inside_a_good_envelope_are_rejections():
    body = {"messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s",
            "logEvents": [{"id": "a", "timestamp": 1, "message": {"not": "a string"}}, "text", {"timestamp": 1},
                          {"id": "b", "timestamp": "soon", "message": "{}"}]}
    batch = decode(samples.encode(json.dumps(body).encode()))
    assert [(r.event_id, r.reason) for r in batch.rejections] == [
        ("a", "log event message is not a string"), ("#1", "log event without a string id"),
        ("#2", "log event without a string id"), ("b", "log event timestamp is not an integer")]


# -- hostile payloads ------------------------------------------------------------------------
def test_a_gzip_bomb_is_refused_with_bounded_memory():
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    data = bomb.compress(b'{"messageType":"DATA_MESSAGE","logEvents":["') + b"".join(
        bomb.compress(b"A" * 1024 * 1024) for _ in range(1024)) + bomb.flush()  # 1 GiB inflated
    event = {"awslogs": {"data": base64.b64encode(data).decode()}}
    tracemalloc.start()
    with pytest.raises(PayloadError, match="gzip bomb"):
        decode(event)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * MAX_DECODED_BYTES


@pytest.mark.parametrize("event, message", [
    ({}, "awslogs"), ({"awslogs": "x"}, "awslogs"), ({"awslogs": {"data": 5}}, "awslogs"), ([], "awslogs"),
    ({"awslogs": {"data": "!!!"}}, "base64"),
    ({"awslogs": {"data": base64.b64encode(b"plain").decode()}}, "gzip"),
    ({"awslogs": {"data": base64.b64encode(gzip.compress(b"{}")[:-4]).decode()}}, "truncated"),
    ({"awslogs": {"data": base64.b64encode(gzip.compress(b"{}") + b"junk").decode()}}, "after"),
    (samples.encode(b"not json"), "not JSON"),
    (samples.encode(b"[]"), "not a JSON object"),
    (samples.encode(b'{"messageType": "OTHER"}'), "messageType"),
    (samples.encode(b'{"messageType": "DATA_MESSAGE", "owner": 1, "logGroup": "g", "logStream": "s"}'), "strings"),
    (samples.encode(b'{"messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s", '
                    b'"logEvents": {}}'), "logEvents"),
    (samples.encode(b'[' * 100_000 + b']' * 100_000), "not JSON"),
])
def test_an_unreadable_payload_is_a_payload_error(event, message):
    with pytest.raises(PayloadError, match=message):
        decode(event)


def test_lone_surrogates_are_replaced_so_the_document_encodes_as_utf8():
    record = samples.record("CreateVpc", "ec2.amazonaws.com", userAgent="agent\ud800",
                            requestParameters={"\udfff key": ["\ud83d\ude00 pair", "lone \udc00"]})
    raw = json.dumps(record)  # escaped: "\ud800" in the message text
    body = {"messageType": "DATA_MESSAGE", "owner": "1\ud800", "logGroup": "g", "logStream": "s",
            "logEvents": [{"id": "e1", "timestamp": int(samples.BASE_TIME.timestamp() * 1000), "message": raw}]}
    enrichment = run(samples.encode(json.dumps(body).encode()))
    source = enrichment.documents[0].source
    json.dumps(source, ensure_ascii=False).encode("utf-8")  # what the bulk request sends
    assert source["userAgent"].startswith("agent\ufffd") and "\U0001F600 pair" in source["targets"]
    assert source["cloudwatch"]["owner"].startswith("1\ufffd")


def test_random_wrong_types_never_crash_and_never_break_the_mapping():
    import copy
    import random

    rng = random.Random(15)
    values = [None, True, 0, -1, 2**70, 1.5, "", "x", "\x00", [], {}, [1, {}], {"a": {"b": []}}, "9" * 5000,
              "2026-11-25T04:00:00Z", "999999999999"]
    paths = [("eventTime",), ("eventID",), ("userIdentity",), ("userIdentity", "type"),
             ("userIdentity", "sessionContext"), ("userIdentity", "sessionContext", "sessionIssuer"),
             ("userIdentity", "sessionContext", "attributes", "mfaAuthenticated"), ("recipientAccountId",),
             ("sourceIPAddress",), ("awsRegion",), ("additionalEventData",), ("additionalEventData", "MFAUsed"),
             ("requestParameters",), ("errorCode",), ("readOnly",), ("eventName",), ("eventSource",)]
    for _ in range(500):
        record = samples.root_console_login("111111111111")
        for _ in range(rng.randint(1, 4)):
            *parents, leaf = rng.choice(paths)
            node = record
            for parent in parents:
                node = node.setdefault(parent, {}) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node[leaf] = copy.deepcopy(rng.choice(values))
        enrichment = run(samples.payload([record]))
        assert len(enrichment.documents) + len(enrichment.rejections) == 1
        for document in enrichment.documents:
            _assert_conforms_to_schema(document.source)


@pytest.mark.parametrize("name, value", [("principal.arn", "arn:aws:iam::111111111111:role/Innocent"),
                                         ("detection.tags", "nothing to see"), ("source.ip", "not an address"),
                                         ("", "blank"), ("   ", "blank"), ("a..b", 1), (".hidden", 1)])
def test_a_record_field_named_as_a_path_or_blank_is_dropped_not_indexed(name, value):
    """A written log event with such a top-level name would add a value to an enrichment
    field (a forged principal) or make OpenSearch refuse the document (the batch fails)."""
    record = {**samples.access_denied("111111111111"), name: value}
    source = enrich(decode(samples.payload([record])), index_prefix="cloudtrail",
                    account_names={}).documents[0].source
    assert name not in source
    assert source["malformedFields"] == [name]
    assert source["principal"]["arn"] != value and source["detection"]["tags"] == ["UnauthorizedApiCalls"]
