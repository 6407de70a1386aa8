"""Context values (cdk.json, ``-c key=value``) become props only when they mean what they
say: a boolean is not a number, a number is not a boolean, zero days is not a year."""

import aws_cdk as cdk
import pytest

from conftest import cdk_json_context
from secure_trail import SecureTrailConfigError
from secure_trail.context import DEFAULT_OBJECT_LOCK_DAYS, props_from_context


def props_with(**context):
    return props_from_context(cdk.App(context={**cdk_json_context(), **context}).node)


@pytest.mark.parametrize("days", [0, "0", -30, "-30"])
def test_object_lock_days_zero_or_less_is_an_error_not_a_year(days):
    with pytest.raises(SecureTrailConfigError, match=r"^context objectLockDays: .*at least 1"):
        props_with(objectLockMode="COMPLIANCE", objectLockDays=days)


def test_object_lock_days_default_only_when_not_given():
    assert props_with(objectLockMode="GOVERNANCE", objectLockDays="").object_lock.retention_days == \
        DEFAULT_OBJECT_LOCK_DAYS
    assert props_with(objectLockMode="GOVERNANCE", objectLockDays=30).object_lock.retention_days == 30


@pytest.mark.parametrize(("key", "value"), [
    ("logTransitionDays", True), ("logExpirationDays", False), ("cloudWatchLogsRetentionDays", True),
    ("objectLockDays", True), ("accessLogExpirationDays", 400.5), ("noncurrentVersionExpirationDays", "1e3"),
])
def test_a_boolean_or_a_fraction_is_not_a_number_of_days(key, value):
    extra = {"objectLockMode": "GOVERNANCE"} if key == "objectLockDays" else {}
    with pytest.raises(SecureTrailConfigError, match=f"^context {key}: {value!r} is not valid"):
        props_with(**{key: value}, **extra)


@pytest.mark.parametrize(("key", "value"), [
    ("insights", 1), ("cloudWatchLogs", 0), ("validateDigests", "1"), ("auditAccessLogs", "0"),
    ("s3DataEvents", "yes"),
])
def test_a_number_is_not_a_boolean(key, value):
    with pytest.raises(SecureTrailConfigError, match=f"^context {key}: {value!r} is not valid.*true or false"):
        props_with(**{key: value})


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("false", False), (" TRUE ", True)])
def test_booleans_and_their_spelling_on_the_command_line_pass(value, expected):
    assert props_with(insights=value).insights is expected


def test_a_trailing_newline_in_context_is_refused_at_synth():
    props = props_with(orgId="o-a1b2c3d4e5\n", logReaderArns=["arn:aws:iam::222222222222:role/A\n"])
    with pytest.raises(SecureTrailConfigError, match=r"^org_id: 'o-a1b2c3d4e5\\n' is not valid"):
        props.validate()
