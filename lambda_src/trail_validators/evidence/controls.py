"""The controls, as data: one row per control, naming the check (code in ``checks/``)
that reads the templates for it, and that check's arguments. The CloudWatch rows come
from ``monitoring_controls.MONITORING_CONTROLS`` (never copied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..contract.monitoring_controls import CIS_BENCHMARK as CIS_MONITORING_BENCHMARK
from ..contract.handover import HANDOVER_PARTS
from ..contract.monitoring_controls import MONITORING_CONTROLS

CIS_LOGGING = "CIS AWS Foundations Benchmark v3.0.0, section 3 (Logging)"
CIS_MONITORING = f"{CIS_MONITORING_BENCHMARK}, section 4 (Monitoring)"
SECURITY_HUB = "AWS Security Hub (AWS Foundational Security Best Practices)"
PROJECT = "secure-trail guarantees"
SOURCES = (CIS_LOGGING, CIS_MONITORING, SECURITY_HUB, PROJECT)
BOTH_BUCKETS = ("trail", "access_log")
TRAIL_BUCKET = ("trail",)


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    source: str
    check: str
    """A name in ``checks.CHECKS``."""
    args: dict[str, Any] = field(default_factory=dict)
    parts: tuple[str, ...] = ()
    """The parts of the trail (``contract.handover.HANDOVER_PARTS``) the control judges: when
    one is brought (not in the assembly), the control is not applicable unless what the
    assembly does show fails (``report.evaluate``)."""


BUCKET_PART, KEY_PART, TOPIC_PART, LOG_GROUP_PART = HANDOVER_PARTS
ON_BUCKET = (BUCKET_PART,)
ON_KEY = (KEY_PART,)


def _na(reason: str) -> dict[str, Any]:
    return {"reason": reason}


CONTROLS: tuple[Control, ...] = (
    Control("CIS.3.1", "CloudTrail is enabled in all regions", CIS_LOGGING, "multi_region_management_events"),
    Control("CIS.3.2", "CloudTrail log file validation is enabled", CIS_LOGGING, "log_file_validation"),
    Control("CIS.3.3", "AWS Config is enabled in all regions", CIS_LOGGING, "outside_template",
            _na("AWS Config recorders are not part of this construct; enable them with AWS Config or Control Tower")),
    Control("CIS.3.4", "S3 bucket access logging is enabled on the CloudTrail S3 bucket", CIS_LOGGING,
            "access_logging", {"roles": TRAIL_BUCKET}, parts=ON_BUCKET),
    Control("CIS.3.5", "CloudTrail logs are encrypted at rest using KMS CMKs", CIS_LOGGING, "encrypted_with_kms",
            parts=ON_KEY),
    Control("CIS.3.6", "Rotation for customer-created symmetric CMKs is enabled", CIS_LOGGING, "key_rotation",
            parts=ON_KEY),
    Control("CIS.3.7", "VPC flow logging is enabled in all VPCs", CIS_LOGGING, "outside_template",
            _na("VPC flow logs belong to each VPC's stack, not to the trail")),
    Control("CIS.3.8", "Object-level logging for write events is enabled for S3 buckets", CIS_LOGGING,
            "s3_data_events", {"read_only": False}),
    Control("CIS.3.9", "Object-level logging for read events is enabled for S3 buckets", CIS_LOGGING,
            "s3_data_events", {"read_only": True}),
    *(Control(f"CIS.{control.cis_section}", control.title, CIS_MONITORING, "metric_filter_alarm",
              {"control_id": control.control_id}, parts=(LOG_GROUP_PART,))
      for control in sorted(MONITORING_CONTROLS, key=lambda control: int(control.cis_section.split(".")[1]))),
    Control("CloudTrail.1", "CloudTrail is enabled with at least one multi-Region trail that includes read and "
            "write management events", SECURITY_HUB, "multi_region_management_events"),
    Control("CloudTrail.2", "CloudTrail has encryption at rest enabled", SECURITY_HUB, "encrypted_with_kms",
            parts=ON_KEY),
    Control("CloudTrail.3", "At least one CloudTrail trail is enabled", SECURITY_HUB, "trail_logging"),
    Control("CloudTrail.4", "CloudTrail log file validation is enabled", SECURITY_HUB, "log_file_validation"),
    Control("CloudTrail.5", "CloudTrail trails are integrated with Amazon CloudWatch Logs", SECURITY_HUB,
            "cloudwatch_logs"),
    Control("CloudTrail.6", "The S3 bucket used to store CloudTrail logs is not publicly accessible", SECURITY_HUB,
            "not_public", {"roles": TRAIL_BUCKET}, parts=ON_BUCKET),
    Control("CloudTrail.7", "S3 bucket access logging is enabled on the CloudTrail S3 bucket", SECURITY_HUB,
            "access_logging", {"roles": TRAIL_BUCKET}, parts=ON_BUCKET),
    Control("CloudTrail.9", "CloudTrail trails are tagged", SECURITY_HUB, "tagged"),
    Control("CloudTrail.10", "CloudTrail Lake event data stores are encrypted with customer managed keys",
            SECURITY_HUB, "event_data_stores_encrypted"),
    *(Control(control.control_id, control.title, SECURITY_HUB, "metric_filter_alarm",
              {"control_id": control.control_id}, parts=(LOG_GROUP_PART,))
      for control in MONITORING_CONTROLS if control.control_id.startswith("CloudWatch.")),
    Control("KMS.4", "AWS KMS key rotation is enabled", SECURITY_HUB, "key_rotation", parts=ON_KEY),
    Control("KMS.5", "KMS keys are not publicly accessible: no wildcard or outside principal may use a key "
            "without a condition that pins the caller to this deployment", SECURITY_HUB, "keys_not_public",
            parts=ON_KEY),
    Control("S3.2", "S3 buckets block public read access", SECURITY_HUB, "not_public", {"roles": BOTH_BUCKETS},
            parts=ON_BUCKET),
    Control("S3.3", "S3 buckets block public write access", SECURITY_HUB, "not_public", {"roles": BOTH_BUCKETS},
            parts=ON_BUCKET),
    Control("S3.5", "S3 buckets require requests to use SSL", SECURITY_HUB, "denies_non_tls",
            {"roles": BOTH_BUCKETS}, parts=ON_BUCKET),
    Control("S3.8", "S3 buckets block public access", SECURITY_HUB, "public_access_blocked",
            {"roles": BOTH_BUCKETS}, parts=ON_BUCKET),
    Control("S3.9", "S3 bucket server access logging is enabled (the trail bucket; the access-log bucket is "
            "the logging target and cannot log into itself)", SECURITY_HUB, "access_logging",
            {"roles": TRAIL_BUCKET}, parts=ON_BUCKET),
    Control("S3.10", "S3 buckets with versioning enabled have lifecycle configurations", SECURITY_HUB,
            "noncurrent_versions_expire", {"roles": BOTH_BUCKETS}, parts=ON_BUCKET),
    Control("S3.12", "ACLs are not used to manage user access to S3 buckets", SECURITY_HUB, "no_acls",
            {"roles": BOTH_BUCKETS}, parts=ON_BUCKET),
    Control("S3.13", "S3 buckets have lifecycle configurations", SECURITY_HUB, "lifecycle", {"roles": BOTH_BUCKETS},
            parts=ON_BUCKET),
    Control("S3.14", "S3 buckets have versioning enabled", SECURITY_HUB, "versioning", {"roles": BOTH_BUCKETS},
            parts=ON_BUCKET),
    Control("S3.15", "S3 buckets have Object Lock enabled (the trail bucket)", SECURITY_HUB, "object_lock",
            {"roles": TRAIL_BUCKET}, parts=ON_BUCKET),
    Control("S3.17", "S3 buckets are encrypted at rest with AWS KMS keys (the trail bucket; server access logs "
            "can only be delivered to SSE-S3)", SECURITY_HUB, "kms_encrypted", {"roles": TRAIL_BUCKET},
            parts=ON_BUCKET),
    Control("S3.22", "S3 buckets log object-level write events", SECURITY_HUB, "s3_data_events",
            {"read_only": False}),
    Control("S3.23", "S3 buckets log object-level read events", SECURITY_HUB, "s3_data_events",
            {"read_only": True}),
    Control("SNS.1", "SNS topics are encrypted at rest using AWS KMS", SECURITY_HUB, "topics_encrypted",
            parts=(TOPIC_PART,)),
    Control("ST.1", "Every CloudTrail grant (key, bucket, topic policies, role trust) requires aws:SourceArn of "
            "this deployment's trail (NIST SP 800-53 AC-6)", PROJECT, "source_arn_on_cloudtrail_grants",
            parts=(BUCKET_PART, KEY_PART, TOPIC_PART)),
    Control("ST.2", "CloudTrail encrypts with the key only under its own encryption context (NIST SP 800-53 AC-6)",
            PROJECT, "encryption_context_on_cloudtrail_keys", parts=ON_KEY),
    Control("ST.3", "The trail bucket refuses requests below TLS 1.2 (NIST SP 800-53 SC-8(1))", PROJECT,
            "denies_old_tls", {"roles": TRAIL_BUCKET}, parts=ON_BUCKET),
    Control("ST.4", "SNS topics refuse publishing without TLS (NIST SP 800-53 SC-8(1))", PROJECT, "topics_tls_only",
            parts=(TOPIC_PART,)),
    Control("ST.5", "The access-log bucket receives the trail bucket's TLS evidence, and only it "
            "(NIST SP 800-53 AU-9)", PROJECT, "access_log_tls_evidence", parts=ON_BUCKET),
    Control("ST.6", "Digest validation is on, a digest validator runs, and tampering raises an alarm "
            "(NIST SP 800-53 AU-9(3))", PROJECT, "digest_validation_alerts"),
    Control("ST.7", "A request that reached the trail bucket without TLS raises an alarm (NIST SP 800-53 SI-4)",
            PROJECT, "tls_audit_alerts"),
    Control("ST.8", "An organization trail with global service events (NIST SP 800-53 AU-12)", PROJECT,
            "organization_trail"),
    Control("ST.9", "Logs, evidence and keys survive deleting the stack (DeletionPolicy Retain; NIST SP 800-53 "
            "AU-9)", PROJECT, "retained", parts=(BUCKET_PART, KEY_PART, LOG_GROUP_PART)),
    Control("ST.10", "The trail's CloudWatch Logs group is KMS-encrypted and kept at least a year "
            "(NIST SP 800-53 AU-9, AU-11)", PROJECT, "log_group_protected", parts=(LOG_GROUP_PART,)),
    Control("ST.11", "S3 data events never log the log buckets themselves", PROJECT,
            "data_events_exclude_log_buckets", parts=ON_BUCKET),
    Control("ST.12", "The cdk-nag packs reported no unacknowledged finding", PROJECT, "cdk_nag_clean"),
    Control("ST.13", "The trail bucket keeps logs at least 365 days, and so does the CloudWatch Logs copy "
            "(NIST SP 800-53 AU-11)", PROJECT, "trail_logs_retained", parts=(BUCKET_PART, LOG_GROUP_PART)),
    Control("ST.14", "Only the log-delivery services may write the log buckets, and no principal may delete or "
            "change their objects or policies (NIST SP 800-53 AU-9)", PROJECT, "log_buckets_unchangeable",
            {"roles": BOTH_BUCKETS}, parts=ON_BUCKET),
)
