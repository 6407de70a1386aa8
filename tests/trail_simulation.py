"""A simulated organization trail: log files and digests signed exactly as CloudTrail
signs them, with a locally generated RSA key. For tests and benchmarks (no AWS account)."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone
from typing import Iterator, Mapping

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trail_validators.digests.chain import StoredObject
from trail_validators.digests.layout import ChainId, TrailLocation
from trail_validators.digests.log_files import CHUNK


T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)
"""The hour the simulated trails start at."""


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@dataclass
class SigningKey:
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    @property
    def der(self) -> bytes:
        """PKCS#1 RSAPublicKey DER, the form CloudTrail publishes."""
        return self.private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)

    @property
    def fingerprint(self) -> str:
        return hashlib.md5(self.der).hexdigest()

    def sign(self, message: bytes, algorithm: hashes.HashAlgorithm | None = None) -> str:
        return self.private.sign(message, padding.PKCS1v15(), algorithm or hashes.SHA256()).hex()


@dataclass
class SimulatedTrail:
    location: TrailLocation
    key: SigningKey = field(default_factory=SigningKey)
    objects: dict[str, StoredObject] = field(default_factory=dict)
    seed: int = 1

    @property
    def public_keys(self) -> dict[str, bytes]:
        return {self.key.fingerprint: self.key.der}

    def deliver(self, chain: ChainId, start: datetime, hours: int, logs_per_hour: int = 2,
                stopped_hours: frozenset[int] = frozenset()) -> list[str]:
        """Hourly digests (and their logs) from ``start``; during ``stopped_hours`` logging
        is stopped: no logs, no digest, and the next digest starts a new chain."""
        rng = random.Random(f"{self.seed}{chain}{start}")
        previous: dict | None = None
        digest_keys = []
        for hour in range(hours):
            if hour in stopped_hours:
                previous = None
                continue
            begin = start + timedelta(hours=hour)
            end = begin + timedelta(hours=1, seconds=rng.randint(0, 50))
            log_keys = [self.put_log(chain, begin + timedelta(minutes=2 + n * 55 // max(1, logs_per_hour)), rng)
                        for n in range(logs_per_hour)]
            key, previous = self.put_digest(chain, begin, end, log_keys, previous)
            digest_keys.append(key)
        return digest_keys

    def put_log(self, chain: ChainId, time: datetime, rng: random.Random) -> str:
        unique = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))
        key = (f"{self.location.log_day_prefix(chain, time)}{chain.account}_CloudTrail_{chain.region}_"
               f"{time:%Y%m%dT%H%MZ}_{unique}.json.gz")
        body = json.dumps({"Records": [{"eventVersion": "1.11", "eventTime": f"{time:%Y-%m-%dT%H:%M:%SZ}",
                                        "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                                        "awsRegion": chain.region, "recipientAccountId": chain.account,
                                        "requestID": unique}]}).encode()
        self.objects[key] = StoredObject(_gzip(body), {})
        return key

    def put_digest(self, chain: ChainId, begin: datetime, end: datetime, log_keys: list[str],
                   previous: dict | None, backfill_generated: datetime | None = None,
                   signing_key: SigningKey | None = None, **overrides) -> tuple[str, dict]:
        """A standard digest, or with ``backfill_generated`` a backfill digest made then
        (``signing_key``: the key CloudTrail published at that time)."""
        key = self.location.digest_key(chain, end, backfill=backfill_generated is not None)
        signing_key = signing_key or self.key
        end_text = f"{end:%Y-%m-%dT%H:%M:%SZ}"
        body = {
            "awsAccountId": chain.account,
            "digestStartTime": f"{begin:%Y-%m-%dT%H:%M:%SZ}", "digestEndTime": f"{end:%Y-%m-%dT%H:%M:%SZ}",
            "digestS3Bucket": self.location.bucket, "digestS3Object": key,
            "digestPublicKeyFingerprint": signing_key.fingerprint, "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": f"{end:%Y-%m-%dT%H:%M:%SZ}", "oldestEventTime": f"{begin:%Y-%m-%dT%H:%M:%SZ}",
            "previousDigestS3Bucket": previous and self.location.bucket,
            "previousDigestS3Object": previous and previous["key"],
            "previousDigestHashValue": previous and previous["sha256"],
            "previousDigestHashAlgorithm": previous and "SHA-256",
            "previousDigestSignature": previous and previous["signature"],
            "logFiles": [{"s3Bucket": self.location.bucket, "s3Object": log_key,
                          "hashValue": hashlib.sha256(gzip.decompress(self.objects[log_key].data)).hexdigest(),
                          "hashAlgorithm": "SHA-256", "newestEventTime": end_text, "oldestEventTime": end_text}
                         for log_key in log_keys],
            **overrides,
        }
        self.objects[key] = self.signed(body, signing_key)
        if backfill_generated is not None:
            self.objects[key].metadata["backfill-generation-timestamp"] = f"{backfill_generated:%Y-%m-%dT%H:%M:%SZ}"
        return key, {"key": key, "sha256": hashlib.sha256(json.dumps(body).encode()).hexdigest(),
                     "signature": self.objects[key].metadata["signature"]}

    def signed(self, body: dict, key: SigningKey | None = None,
               algorithm: hashes.HashAlgorithm | None = None) -> StoredObject:
        raw = json.dumps(body).encode()
        to_sign = "\n".join((body["digestEndTime"], f"{body['digestS3Bucket']}/{body['digestS3Object']}",
                             hashlib.sha256(raw).hexdigest(), body["previousDigestSignature"] or "null")).encode()
        signature = (key or self.key).sign(to_sign, algorithm)
        return StoredObject(_gzip(raw), {"signature": signature, "signature-algorithm": "SHA256withRSA"})

    def upload(self, s3) -> None:
        """Put every object, with its metadata, in the trail's bucket (which must exist):
        ``s3`` is a boto3 S3 client, moto's in the tests."""
        for key, stored in self.objects.items():
            s3.put_object(Bucket=self.location.bucket, Key=key, Body=stored.data, Metadata=dict(stored.metadata))

    # -- tampering helpers ---------------------------------------------------------------
    def digest_body(self, key: str) -> dict:
        return json.loads(gzip.decompress(self.objects[key].data))

    def replace_digest_body(self, key: str, body: dict, resign: bool = False,
                            signing_key: SigningKey | None = None) -> None:
        """Write ``body`` at ``key``, re-signed (as a key holder could) or keeping the old signature."""
        if resign:
            signed = self.signed(body, signing_key)  # other metadata (a backfill timestamp) stays
            self.objects[key] = StoredObject(signed.data, {**self.objects[key].metadata, **signed.metadata})
        else:
            self.objects[key] = StoredObject(_gzip(json.dumps(body).encode()), self.objects[key].metadata)


class MemoryReader:
    """An ObjectReader over a dict of objects, for tests."""

    def __init__(self, objects: Mapping[str, StoredObject]) -> None:
        self.objects = objects

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def list_after(self, prefix: str, start_after: str) -> Iterator[str]:
        return iter([key for key in self.list_keys(prefix) if key > start_after])

    def list_children(self, prefix: str) -> list[str]:
        return self.list_level(prefix)[1]

    def list_level(self, prefix: str) -> tuple[list[str], list[str]]:
        below = [k[len(prefix):] for k in self.objects if k.startswith(prefix)]
        return (sorted(prefix + rest for rest in below if "/" not in rest),
                sorted({rest.split("/", 1)[0] for rest in below if "/" in rest}))

    def get(self, key: str, max_bytes: int | None = None) -> StoredObject | None:
        stored = self.objects.get(key)
        if stored is None or max_bytes is None:
            return stored
        return StoredObject(stored.data[:max_bytes + 1], stored.metadata)

    def stream(self, key: str) -> Iterator[bytes] | None:
        stored = self.objects.get(key)
        if stored is None:
            return None
        return (stored.data[offset:offset + CHUNK] for offset in range(0, len(stored.data), CHUNK))
