"""Judge one S3 object event of the trail bucket. Pure.

Decisions rest only on what the writer of an object cannot choose: the event's type, time,
``reason`` and ``deletion-type`` (S3 and EventBridge set them), the object's version
history (S3 keeps it), the chain's checkpoint (the digest worker's) and the key itself,
parsed strictly. ``requester`` and ``source-ip-address`` are reported, never trusted to
exempt anything; object metadata is never read. A CloudTrail delivery is a new key, with
one version, named for about now: nothing here fires for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from ..contract import TrailWatchKind as Kind
from ..digests.layout import ChainId, TrailLocation, parse_time
from ..findings import Finding, Severity

DELIVERY_SLACK = timedelta(hours=1)
"""How far behind its chain's checkpoint a new object's name time may be before it is
backdated: CloudTrail names a log for about when it writes it, and the checkpoint is a
digest already delivered."""
CREATED, DELETED = "Object Created", "Object Deleted"
LIFECYCLE_EXPIRATION = "Lifecycle Expiration"


@dataclass(frozen=True)
class ObjectEvent:
    detail_type: str
    bucket: str
    key: str
    version_id: str | None
    time: datetime
    reason: str
    deletion_type: str
    requester: str
    source_ip: str

    def details(self) -> dict[str, Any]:
        return {"event": self.detail_type, "version_id": self.version_id, "event_time": self.time.isoformat(),
                "reason": self.reason, "deletion_type": self.deletion_type, "requester": self.requester,
                "source_ip": self.source_ip}


@dataclass(frozen=True)
class TrailObject:
    """A key of the trail's layout: a log or a digest of one chain, in its day folder."""
    chain: ChainId
    is_digest: bool
    time: datetime
    """The name time: a log's, or a digest's end."""
    backfill: bool


class UnreadableEvent(ValueError):
    """The message is not an S3 object event as EventBridge delivers it."""


def parse_event(message: Any) -> ObjectEvent:
    """The fields judged, from an EventBridge S3 event; UnreadableEvent for anything else."""
    try:
        detail_type, detail = message["detail-type"], message["detail"]
        obj, bucket = detail["object"], detail["bucket"]["name"]
        key, version = obj["key"], obj.get("version-id")
        when = parse_time(message["time"])
        fields = [detail_type, bucket, key, detail.get("reason", ""), detail.get("deletion-type", ""),
                  detail.get("requester", ""), detail.get("source-ip-address", "")]
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableEvent(f"not an S3 object event: {type(error).__name__} {str(error)[:80]}") from None
    if not all(isinstance(f, str) for f in fields) or not (version is None or isinstance(version, str)) \
            or detail_type not in (CREATED, DELETED) or not key:
        raise UnreadableEvent("an S3 object event's fields are not the strings S3 sends")
    detail_type, bucket, key, reason, deletion_type, requester, source_ip = fields
    return ObjectEvent(detail_type, bucket, key, version, when, reason, deletion_type, requester, source_ip)


def trail_object(location: TrailLocation, key: str) -> TrailObject | None:
    """What ``key`` is in the trail's layout, or None when it is no log or digest in place."""
    if not key.startswith(location.aws_logs):
        return None
    parts = key[len(location.aws_logs):].split("/")
    if len(parts) != 7 or parts[1] not in ("CloudTrail", "CloudTrail-Digest"):
        return None
    chain = ChainId(parts[0], parts[2])
    if parts[1] == "CloudTrail":
        log = location.log_name_in_place(chain, key)
        return None if log is None else TrailObject(chain, False, log.time, False)
    digest = location.digest_name_in_place(chain, key)
    return None if digest is None else TrailObject(chain, True, digest.end, digest.backfill)


def judge(event: ObjectEvent, location: TrailLocation, *, checkpoint_end: datetime | None,
          other_versions: Sequence[str], expiration_days: int) -> list[Finding]:
    """Findings of one event. ``checkpoint_end``: the end of the chain's checkpoint digest
    (None: the chain has none yet). ``other_versions``: version ids (or delete markers) of
    the key other than the event's own. ``expiration_days``: the deployed lifecycle expiry."""
    where = f"s3://{event.bucket}/{event.key}"
    found = trail_object(location, event.key)
    details = {**event.details(), **({"name_time": found.time.isoformat()} if found else {})}
    if event.bucket != location.bucket:
        return [Finding(Kind.UNREADABLE_EVENT, Severity.HIGH,
                        f"an object event of another bucket ({where}) reached the trail watch", (event.key,), details)]
    if event.detail_type == DELETED:
        if (event.reason == LIFECYCLE_EXPIRATION and found is not None
                and found.time <= event.time - timedelta(days=expiration_days)):
            return []
        return [Finding(Kind.DELETION, Severity.HIGH,
                        f"{where} was deleted ({event.deletion_type or 'deletion'}, {event.reason or 'no reason'}) "
                        f"by {event.requester or 'an unknown requester'}", (event.key,), details)]
    findings = []
    if other_versions:
        findings.append(Finding(Kind.OVERWRITE, Severity.HIGH,
                                f"{where} was written again: {len(other_versions)} other version(s) of the key exist",
                                (event.key,), {**details, "other_versions": list(other_versions[:20])}))
    if found is None:
        findings.append(Finding(Kind.UNRECOGNIZED, Severity.MEDIUM,
                                f"{where} was created under AWSLogs/ but is no CloudTrail log or digest in its "
                                "day folder", (event.key,), details))
    elif (checkpoint_end is not None and not found.backfill
          and found.time < checkpoint_end - DELIVERY_SLACK):
        findings.append(Finding(Kind.BACKDATED, Severity.HIGH,
                                f"{where} was created with a name time ({found.time:%Y-%m-%dT%H:%MZ}) behind its "
                                f"chain's checkpoint ({checkpoint_end:%Y-%m-%dT%H:%M:%SZ}): history already "
                                "validated was written to", (event.key,),
                                {**details, "checkpoint_end": checkpoint_end.isoformat()}))
    return findings


def unreadable(body: str, why: str) -> Finding:
    return Finding(Kind.UNREADABLE_EVENT, Severity.HIGH, f"the trail watch received a message it cannot judge: {why}",
                   (), {"body": body[:500]})


def versions_other_than(version_id: str | None, listed: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """From ListObjectVersions' ``Versions`` and ``DeleteMarkers`` of ``key`` (a prefix
    listing: other keys are left out), the ids that are not the event's own version (an
    event without one is of an unversioned write: S3 lists that version as ``null``)."""
    own = version_id or "null"
    return [str(entry.get("VersionId")) for entry in listed
            if entry.get("Key") == key and entry.get("VersionId") != own]
