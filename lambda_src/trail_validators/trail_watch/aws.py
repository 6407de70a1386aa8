"""The reads the trail watch makes: a key's versions, a chain's checkpoint."""

from __future__ import annotations

from datetime import datetime

from ..digests.aws import CheckpointStore
from ..digests.layout import ChainId
from .judge import versions_other_than

MAX_VERSION_PAGES = 10


class TrailWatchReader:
    def __init__(self, s3, checkpoints: CheckpointStore, bucket: str) -> None:
        self.s3, self.checkpoints, self.bucket = s3, checkpoints, bucket

    def other_versions(self, key: str, version_id: str | None) -> list[str]:
        """Versions and delete markers of exactly ``key`` but the event's own."""
        listed, params = [], {"Bucket": self.bucket, "Prefix": key}
        for _ in range(MAX_VERSION_PAGES):
            page = self.s3.list_object_versions(**params)
            listed += page.get("Versions", []) + page.get("DeleteMarkers", [])
            if not page.get("IsTruncated"):
                break
            params.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page.get("NextVersionIdMarker", ""))
        return versions_other_than(version_id, listed, key)

    def checkpoint_end(self, chain: ChainId) -> datetime | None:
        anchor = self.checkpoints.load(chain)
        return anchor.end if anchor else None
