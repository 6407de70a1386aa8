"""SecureTrailProps from CDK context (cdk.json or ``-c key=value``).

``-c`` values arrive as strings: numbers and booleans are parsed here, with an error that
names the context key when they do not parse. A boolean is never a number (JSON ``true``
is not 1 day) and a number never a boolean (``1`` is not ``true``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from aws_cdk import aws_logs as logs
from constructs import Node

from .props import ObjectLock, ObjectLockMode, SecureTrailConfigError, SecureTrailProps
from .props.analytics import analytics_from_context

if TYPE_CHECKING:
    from .parts.guardrails import GuardrailsProps


class _Reader:
    def __init__(self, node: Node) -> None:
        self._node = node

    def __call__(self, key: str, parse: Callable[[Any], Any]) -> Any:
        raw = self._node.try_get_context(key)
        if raw is None or raw == "":
            return None
        try:
            return parse(raw)
        except (TypeError, ValueError) as err:
            raise SecureTrailConfigError(f"context {key}: {raw!r} is not valid ({err}).") from None


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text == "true":
        return True
    if text == "false":
        return False
    raise ValueError("expected true or false; a number is not a boolean")


def _int(raw: Any) -> int:
    """A whole number: an int, or a string of digits. ``true`` is not 1 and 1.5 is not 1."""
    if isinstance(raw, bool):
        raise ValueError("expected a whole number; a boolean is not a number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    raise ValueError("expected a whole number")


def _string_list(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def _enum(enum: type, key: str, raw: str) -> Any:
    try:
        return enum(raw.upper())
    except ValueError:
        raise SecureTrailConfigError(
            f"context {key}: {raw!r} is not valid; expected one of {[m.value for m in enum]}.") from None


R = logs.RetentionDays
RETENTION_BY_DAYS = {
    1: R.ONE_DAY, 3: R.THREE_DAYS, 5: R.FIVE_DAYS, 7: R.ONE_WEEK, 14: R.TWO_WEEKS,
    30: R.ONE_MONTH, 60: R.TWO_MONTHS, 90: R.THREE_MONTHS, 120: R.FOUR_MONTHS,
    150: R.FIVE_MONTHS, 180: R.SIX_MONTHS, 365: R.ONE_YEAR, 400: R.THIRTEEN_MONTHS,
    545: R.EIGHTEEN_MONTHS, 731: R.TWO_YEARS, 1096: R.THREE_YEARS, 1827: R.FIVE_YEARS,
    2192: R.SIX_YEARS, 2557: R.SEVEN_YEARS, 2922: R.EIGHT_YEARS, 3288: R.NINE_YEARS,
    3653: R.TEN_YEARS,
}


def _positive_int(raw: Any) -> int:
    value = _int(raw)
    if value < 1:
        raise ValueError("expected a whole number of days, at least 1")
    return value


def _retention(days: int) -> logs.RetentionDays:
    allowed = RETENTION_BY_DAYS
    if days not in allowed:
        raise SecureTrailConfigError(
            f"context cloudWatchLogsRetentionDays: {days} is not a CloudWatch Logs retention; "
            f"expected one of {sorted(allowed)}.")
    return allowed[days]


DEFAULT_OBJECT_LOCK_DAYS = 365
"""``objectLockDays`` when ``objectLockMode`` is set and the days are not."""

# context key -> (prop, parser). An absent or empty key leaves the prop's default.
CONTEXT_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "orgId": ("org_id", str),
    "trailName": ("trail_name", str),
    "managementAccountId": ("management_account_id", str),
    "logArchiveAccountId": ("log_archive_account_id", str),
    "s3KeyPrefix": ("s3_key_prefix", str),
    "logReaderArns": ("log_reader_arns", lambda raw: tuple(_string_list(raw))),
    "logTransitionDays": ("log_transition_days", _int),
    "logExpirationDays": ("log_expiration_days", _int),
    "noncurrentVersionExpirationDays": ("noncurrent_version_expiration_days", _int),
    "accessLogExpirationDays": ("access_log_expiration_days", _int),
    "cloudWatchLogs": ("cloud_watch_logs", _bool),
    "cloudWatchLogsRetentionDays": ("cloud_watch_logs_retention", lambda raw: _retention(_int(raw))),
    "insights": ("insights", _bool),
    "s3DataEvents": ("s3_data_events", _bool),
    "lambdaDataEvents": ("lambda_data_events", _bool),
    "validateDigests": ("validate_digests", _bool),
    "strictDigestValidation": ("strict_digest_validation", _bool),
    "revalidationDays": ("revalidation_days", _int),
    "backfillConcurrency": ("backfill_concurrency", _int),
    "auditAccessLogs": ("audit_access_logs", _bool),
    "minTlsVersion": ("min_tls_version", str),
    "expectedPrincipals": ("expected_principals", lambda raw: tuple(_string_list(raw))),
    "watchPosture": ("watch_posture", _bool),
    "postureCheckMinutes": ("posture_check_interval", _int),
    "autoRestartLogging": ("auto_restart_logging", _bool),
    "alertSubscriptions": ("alert_subscriptions", lambda raw: tuple(_string_list(raw))),
    "disabledMonitoringControls": ("disabled_monitoring_controls", lambda raw: tuple(_string_list(raw))),
    "dashboard": ("dashboard", _bool),
}


def props_from_context(node: Node) -> SecureTrailProps:
    get = _Reader(node)
    kwargs = {prop: value for key, (prop, parse) in CONTEXT_KEYS.items()
              if (value := get(key, parse)) is not None}
    if "org_id" not in kwargs:
        raise SecureTrailConfigError("context orgId is required: pass -c orgId=o-... or set it in cdk.json.")
    lock_mode = get("objectLockMode", str)
    if lock_mode:
        days = get("objectLockDays", _positive_int)
        kwargs["object_lock"] = ObjectLock(_enum(ObjectLockMode, "objectLockMode", lock_mode),
                                           DEFAULT_OBJECT_LOCK_DAYS if days is None else days)
    analytics = analytics_from_context(get, _bool)
    if analytics is not None:
        kwargs["analytics"] = analytics
    return SecureTrailProps(**kwargs)


GUARDRAILS_KEYS = ("guardrails", "guardrailsBreakGlassRoleArn", "guardrailsTargetIds",
                   "guardrailsResourceControlPolicy")
"""``-c guardrails=true`` (@default false) with ``guardrailsBreakGlassRoleArn`` and
``guardrailsTargetIds`` (comma-separated root or OU ids), both required then, and
``guardrailsResourceControlPolicy`` (@default false): the organization shape's control policies."""


def guardrails_from_context(node: Node) -> GuardrailsProps | None:
    from .parts.guardrails import GuardrailsProps

    get = _Reader(node)
    if not get("guardrails", _bool):
        return None
    return GuardrailsProps(break_glass_role_arn=get("guardrailsBreakGlassRoleArn", str) or "",
                           target_ids=tuple(get("guardrailsTargetIds", _string_list) or ()),
                           resource_control_policy=bool(get("guardrailsResourceControlPolicy", _bool)))
