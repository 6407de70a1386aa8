"""The checks, by the name ``controls.CONTROLS`` uses. Each reads the assembly and returns
evidence items, or :class:`NotApplicable` with the reason."""

from __future__ import annotations

from typing import Callable

from ..model import NotApplicable
from . import access, guarantees, monitoring, storage, trail


def outside_template(_assembly, *, reason: str) -> NotApplicable:
    """A control about resources this project does not deploy."""
    return NotApplicable(reason)


CHECKS: dict[str, Callable] = {
    "outside_template": outside_template,
    **{name: getattr(trail, name) for name in (
        "multi_region_management_events", "trail_logging", "log_file_validation", "encrypted_with_kms",
        "cloudwatch_logs", "tagged", "event_data_stores_encrypted", "s3_data_events")},
    **{name: getattr(storage, name) for name in (
        "public_access_blocked", "not_public", "denies_non_tls", "denies_old_tls", "access_logging", "no_acls",
        "lifecycle", "noncurrent_versions_expire", "versioning", "object_lock", "kms_encrypted", "key_rotation",
        "topics_encrypted")},
    "metric_filter_alarm": monitoring.metric_filter_alarm,
    **{name: getattr(guarantees, name) for name in (
        "source_arn_on_cloudtrail_grants", "encryption_context_on_cloudtrail_keys", "topics_tls_only",
        "access_log_tls_evidence", "digest_validation_alerts", "tls_audit_alerts", "organization_trail",
        "retained", "log_group_protected", "data_events_exclude_log_buckets", "cdk_nag_clean",
        "trail_logs_retained")},
    **{name: getattr(access, name) for name in ("keys_not_public", "log_buckets_unchangeable")},
}
