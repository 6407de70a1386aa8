"""Checks of the CloudTrail trail itself (CIS section 3, Security Hub CloudTrail.*)."""

from __future__ import annotations

from typing import Any

from ..assembly import Assembly
from ..model import Evidence, NotApplicable
from ..resources import referenced, resources
from .parts import (LOG_GROUP, definite, field_selectors, is_true, key_of, logging_on, missing, prop, strings,
                    trails)


def _each_trail(assembly: Assembly, check) -> list[Evidence]:
    found = trails(assembly)
    if not found:
        return [missing("AWS::CloudTrail::Trail")]
    return [item for trail in found for item in check(trail)]


def _management_read_write(trail) -> Evidence:
    advanced_present, advanced = trail.get("AdvancedEventSelectors")
    basic_present, basic = trail.get("EventSelectors")
    if advanced_present:
        for number, selector in enumerate(advanced if isinstance(advanced, list) else []):
            named = field_selectors(selector)
            if set(named) == {"eventCategory"} and set(named["eventCategory"]) == {"Field", "Equals"} \
                    and strings(named["eventCategory"].get("Equals")) == ["Management"]:
                return prop(trail, f"AdvancedEventSelectors[{number}]", lambda _: True,
                            ok="an advanced selector logs every management event, read and write "
                               "(eventCategory = Management, no readOnly or other filter)", bad="")
        return prop(trail, "AdvancedEventSelectors", lambda _: False, ok="",
                    bad="no advanced selector logs all read and write management events unfiltered")
    if basic_present:
        for number, selector in enumerate(basic if isinstance(basic, list) else []):
            if isinstance(selector, dict) and is_true(selector.get("IncludeManagementEvents", True)) \
                    and selector.get("ReadWriteType", "All") == "All" \
                    and not selector.get("ExcludeManagementEventSources"):
                return prop(trail, f"EventSelectors[{number}]", lambda _: True,
                            ok="an event selector logs all read and write management events", bad="")
        return prop(trail, "EventSelectors", lambda _: False, ok="",
                    bad="no event selector logs all read and write management events")
    return _default_selectors(trail)


def _default_selectors(trail) -> Evidence:
    return Evidence(trail.stack.name, trail.logical_id, trail.type, "AdvancedEventSelectors", None, True,
                    "neither EventSelectors nor AdvancedEventSelectors is set, so the trail logs all read "
                    "and write management events (CloudTrail's default)", present=False)


def multi_region_management_events(assembly: Assembly) -> list[Evidence]:
    return _each_trail(assembly, lambda trail: [
        logging_on(trail),
        prop(trail, "IsMultiRegionTrail", is_true, ok="the trail logs every region",
             bad="the trail is not multi-region: events of other regions are not logged"),
        _management_read_write(trail)])


def trail_logging(assembly: Assembly) -> list[Evidence]:
    return _each_trail(assembly, lambda trail: [logging_on(trail)])


def log_file_validation(assembly: Assembly) -> list[Evidence]:
    return _each_trail(assembly, lambda trail: [
        logging_on(trail),
        prop(trail, "EnableLogFileValidation", is_true,
             ok="CloudTrail delivers signed hourly digests, so deleted or changed log files can be proven",
             bad="log file validation is off: no digests, tampering cannot be proven")])


def _kms_key(assembly: Assembly, trail) -> list[Evidence]:
    evidence = [prop(trail, "KMSKeyId", lambda value: definite(trail, value),
                     ok="log files and digests are encrypted with this customer managed KMS key (SSE-KMS)",
                     bad="no KMSKeyId: logs are only SSE-S3 encrypted")]
    key = key_of(assembly, trail, "KMSKeyId") if evidence[0].holds else None
    if key is not None:
        evidence.append(symmetric(key))
        evidence.append(prop(key, "Enabled", is_true, ok="the key is enabled",
                             bad="the key is created disabled (Enabled is not provably true): CloudTrail cannot "
                                 "encrypt with it, so no log is delivered", absent="the key is enabled (the default)",
                             absent_holds=True))
    elif evidence[0].holds:
        evidence.append(missing("the trail's KMS key", where=trail, path="KMSKeyId",
                                why="the key KMSKeyId names is not a key this assembly provably creates (not "
                                    "found, or its Condition is not provably true)"))
    return evidence


def symmetric(key) -> Evidence:
    present, spec = key.get("KeySpec")
    holds = not present or spec == "SYMMETRIC_DEFAULT"
    return Evidence(key.stack.name, key.logical_id, key.type, "KeySpec", spec, holds,
                    "the key is symmetric (SYMMETRIC_DEFAULT" + ("" if present else ", the default when KeySpec "
                    "is not set") + ")" if holds else "the key is not symmetric: CloudTrail encrypts only with "
                    "symmetric keys", present)


def encrypted_with_kms(assembly: Assembly) -> list[Evidence]:
    return _each_trail(assembly, lambda trail: _kms_key(assembly, trail))


def cloudwatch_logs(assembly: Assembly) -> list[Evidence]:
    def check(trail):
        group = prop(trail, "CloudWatchLogsLogGroupArn", lambda value: definite(trail, value),
                     ok="the trail also delivers to this CloudWatch Logs group",
                     bad="no CloudWatch Logs delivery (cloudWatchLogs=false): no metric filters or alarms "
                         "can watch the events")
        role = prop(trail, "CloudWatchLogsRoleArn", lambda value: definite(trail, value),
                    ok="CloudTrail writes the group through this role", bad="no role to write the log group")
        return [group, role]
    return _each_trail(assembly, check)


def tagged(assembly: Assembly) -> list[Evidence]:
    return _each_trail(assembly, lambda trail: [
        prop(trail, "Tags", lambda value: isinstance(value, list) and len(value) > 0,
             ok="the trail carries tags", bad="the trail has no tags (Security Hub CloudTrail.9 fails "
                                             "without at least one, or the required tag keys)")])


def event_data_stores_encrypted(assembly: Assembly) -> list[Evidence] | NotApplicable:
    stores = resources(assembly, "AWS::CloudTrail::EventDataStore")
    if not stores:
        return NotApplicable("the assembly has no CloudTrail Lake event data store")
    return [prop(store, "KmsKeyId", lambda value: definite(store, value),
                 ok="the event data store is encrypted with a customer managed key",
                 bad="the event data store uses an AWS owned key") for store in stores]


def s3_data_events(assembly: Assembly, *, read_only: bool) -> list[Evidence] | NotApplicable:
    """S3.22 (write) / S3.23 (read): an advanced selector for S3 object data events."""
    found = []
    for trail in trails(assembly):
        selectors = trail.value("AdvancedEventSelectors")
        for number, selector in enumerate(selectors if isinstance(selectors, list) else []):
            named = field_selectors(selector)
            if strings(named.get("eventCategory", {}).get("Equals")) != ["Data"] or \
                    strings(named.get("resources.type", {}).get("Equals")) != ["AWS::S3::Object"]:
                continue
            only = strings(named.get("readOnly", {}).get("Equals"))
            logs_it = not only or only == [str(read_only).lower()]
            found.append(prop(trail, f"AdvancedEventSelectors[{number}]", lambda _: logs_it,
                              ok=f"the trail logs S3 object-level {'read' if read_only else 'write'} events",
                              bad=f"the S3 data-event selector filters out {'read' if read_only else 'write'} "
                                  "events"))
    if not found:
        return NotApplicable("no trail has an S3 data-event selector: object-level logging is opt-in "
                             "(s3DataEvents=true) because of its cost")
    return found


def monitored_log_group(assembly: Assembly) -> tuple[Any, Any]:
    """The multi-region trail that delivers to CloudWatch Logs and its log group resource."""
    for trail in trails(assembly):
        if is_true(trail.value("IsMultiRegionTrail")) and trail.value("CloudWatchLogsLogGroupArn"):
            return trail, referenced(assembly, trail.stack, trail.value("CloudWatchLogsLogGroupArn"), LOG_GROUP)
    return None, None
