"""CloudTrail digest files: strict parsing and signature verification. Pure: bytes in.

The signature (hex, in the object's ``signature`` metadata) is RSA PKCS#1 v1.5 with
SHA-256 over four lines: ``digestEndTime``, ``digestS3Bucket/digestS3Object``, the hex
SHA-256 of the decompressed digest, and ``previousDigestSignature`` (or ``null``). A
backfill digest (named ``..._backfill.json.gz``) is signed the same way and carries the time
CloudTrail made it in its ``backfill-generation-timestamp`` metadata.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .layout import is_backfill_key, parse_time

SIGNATURE_ALGORITHM = "SHA256withRSA"
HASH_ALGORITHM = "SHA-256"
# Memory budget of one digest: a real one lists a few hundred log files an hour (about 350
# bytes of JSON each); these caps admit tens of thousands and keep a parse near 64 MiB,
# whatever an attacker writes (a JSON value costs Python far more than its bytes).
MAX_COMPRESSED_DIGEST = 16 * 1024 * 1024
MAX_DIGEST = 16 * 1024 * 1024
MAX_DIGEST_VALUES = 400_000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_PREVIOUS = ("previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue",
             "previousDigestHashAlgorithm", "previousDigestSignature")


class DigestFormatError(ValueError):
    """Not a well-formed CloudTrail digest; the message says what is wrong."""


@dataclass(frozen=True)
class LogFileRef:
    bucket: str
    key: str
    hash_value: str


@dataclass(frozen=True)
class Digest:
    key: str
    """Where the object was found."""
    start: datetime
    end: datetime
    end_raw: str
    bucket: str
    object_key: str
    fingerprint: str
    previous_bucket: str | None
    previous_key: str | None
    previous_hash: str | None
    previous_signature: str | None
    log_files: tuple[LogFileRef, ...]
    sha256: str
    """Hex SHA-256 of the decompressed digest: what the next digest's
    ``previousDigestHashValue`` must be."""
    signature: str
    """Hex signature from the object's ``signature`` metadata (lower case; empty when absent)."""
    signature_algorithm: str | None
    """The object's ``signature-algorithm`` metadata."""
    backfill_generated: datetime | None = None
    """A backfill digest's ``backfill-generation-timestamp`` metadata (None for a standard
    digest): the signing key is the one CloudTrail published then. Not signed: it only
    decides where to look for the key, and any key found must still verify the signature."""

    @property
    def is_backfill(self) -> bool:
        return self.backfill_generated is not None

    @property
    def starts_new_chain(self) -> bool:
        return self.previous_key is None

    def string_to_sign(self) -> bytes:
        return "\n".join((self.end_raw, f"{self.bucket}/{self.object_key}", self.sha256,
                          self.previous_signature or "null")).encode()


def decompress_digest(data: bytes) -> bytes:
    """One gzip stream, nothing after it, within the size caps."""
    if len(data) > MAX_COMPRESSED_DIGEST:
        raise DigestFormatError(f"{len(data)} bytes compressed, over the {MAX_COMPRESSED_DIGEST} cap")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        raw = inflater.decompress(data, MAX_DIGEST + 1)
    except zlib.error as error:
        raise DigestFormatError(f"not gzip: {error}") from None
    if len(raw) > MAX_DIGEST:
        raise DigestFormatError(f"decompresses to more than {MAX_DIGEST} bytes (a gzip bomb?)")
    if not inflater.eof:
        raise DigestFormatError("truncated gzip stream")
    if inflater.unused_data:
        raise DigestFormatError("data after the end of the gzip stream")
    return raw


def parse_digest(key: str, data: bytes, metadata: Mapping[str, str]) -> Digest:
    """Parse and check the form of one digest object (not its signature or chain). Raises
    DigestFormatError, and nothing else, for any input."""
    raw = decompress_digest(data)
    values = raw.count(b",") + raw.count(b"{") + raw.count(b"[")  # an upper bound of the JSON values
    if values > MAX_DIGEST_VALUES:
        raise DigestFormatError(f"about {values} JSON values, over the {MAX_DIGEST_VALUES} cap")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # also: nesting too deep, integers too long
        raise DigestFormatError(f"not JSON: {type(error).__name__}: {str(error)[:200]}") from None
    if not isinstance(body, dict):
        raise DigestFormatError("not a JSON object")
    previous = {name: _optional_str(body, name) for name in _PREVIOUS}
    if len({value is None for value in previous.values()}) != 1:
        raise DigestFormatError("previousDigest* fields must be all null (a new chain) or all set")
    if previous["previousDigestHashAlgorithm"] not in (None, HASH_ALGORITHM):
        raise DigestFormatError(f"previousDigestHashAlgorithm {previous['previousDigestHashAlgorithm']!r} "
                                f"is not {HASH_ALGORITHM}")
    if previous["previousDigestHashValue"] is not None and not _HEX64.fullmatch(previous["previousDigestHashValue"]):
        raise DigestFormatError("previousDigestHashValue is not a hex SHA-256")
    algorithm = _str(body, "digestSignatureAlgorithm")
    if algorithm != SIGNATURE_ALGORITHM:
        raise DigestFormatError(f"digestSignatureAlgorithm {algorithm!r} is not {SIGNATURE_ALGORITHM}")
    logs = body.get("logFiles")
    if not isinstance(logs, list):
        raise DigestFormatError("logFiles is not a list")
    end_raw, start, end = _str(body, "digestEndTime"), _time(body, "digestStartTime"), _time(body, "digestEndTime")
    if not start < end:
        raise DigestFormatError("digestStartTime is not before digestEndTime")
    signature = metadata.get("signature")
    backfill_generated = _backfill_generated(metadata) if is_backfill_key(key) else None
    return Digest(
        key=key, start=start, end=end, end_raw=end_raw,
        bucket=_str(body, "digestS3Bucket"), object_key=_str(body, "digestS3Object"),
        fingerprint=_str(body, "digestPublicKeyFingerprint"),
        previous_bucket=previous["previousDigestS3Bucket"], previous_key=previous["previousDigestS3Object"],
        previous_hash=previous["previousDigestHashValue"],
        previous_signature=previous["previousDigestSignature"],
        log_files=tuple(_log_file(entry, n) for n, entry in enumerate(logs)),
        sha256=hashlib.sha256(raw).hexdigest(), signature=(signature or "").lower(),
        signature_algorithm=metadata.get("signature-algorithm"), backfill_generated=backfill_generated)


def _backfill_generated(metadata: Mapping[str, str]) -> datetime:
    """As the AWS CLI does, a backfill digest without the timestamp is malformed. ISO 8601,
    read as UTC when it names no offset (the AWS CLI's reading too)."""
    value = metadata.get("backfill-generation-timestamp")
    if not isinstance(value, str):
        raise DigestFormatError("a backfill digest without backfill-generation-timestamp metadata")
    try:
        when = datetime.fromisoformat(value[:64])
    except ValueError:
        raise DigestFormatError(f"backfill-generation-timestamp metadata {value[:40]!r} is not an ISO 8601 "
                                "time") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


class SignatureError(ValueError):
    pass


def verify_signature(digest: Digest, public_key_der: bytes) -> None:
    """Raise SignatureError unless the metadata signature is SHA256withRSA over the digest
    by this key. Only SHA-256 is accepted, whatever DigestInfo the signature carries."""
    if not digest.signature:
        raise SignatureError("no signature metadata")
    if digest.signature_algorithm != SIGNATURE_ALGORITHM:
        raise SignatureError(f"signature-algorithm metadata {str(digest.signature_algorithm)[:40]!r} "
                             f"is not {SIGNATURE_ALGORITHM}")
    try:
        signature = bytes.fromhex(digest.signature)
    except ValueError:
        raise SignatureError("signature metadata is not hex") from None
    key = load_public_key(public_key_der)
    try:
        key.verify(signature, digest.string_to_sign(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("signature does not verify") from None


def load_public_key(der: bytes) -> rsa.RSAPublicKey:
    """A CloudTrail public key: DER, PKCS#1 RSAPublicKey or SubjectPublicKeyInfo."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        import base64
        pem = (b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n")
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, UnsupportedAlgorithm):
            raise SignatureError("public key is neither PKCS#1 nor SubjectPublicKeyInfo DER") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("public key is not RSA")
    return key


def _str(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise DigestFormatError(f"{name} is missing or not a string")
    return value


def _optional_str(body: dict, name: str) -> str | None:
    if name not in body:
        raise DigestFormatError(f"{name} is missing")
    value = body[name]
    if value is not None and (not isinstance(value, str) or not value):
        raise DigestFormatError(f"{name} is not a string or null")
    return value


def _time(body: dict, name: str) -> datetime:
    value = _str(body, name)
    try:
        return parse_time(value)
    except ValueError as error:
        raise DigestFormatError(f"{name} is not a timestamp: {error}") from None


def _log_file(entry: Any, n: int) -> LogFileRef:
    if not isinstance(entry, dict):
        raise DigestFormatError(f"logFiles[{n}] is not an object")
    try:
        ref = LogFileRef(_str(entry, "s3Bucket"), _str(entry, "s3Object"), _str(entry, "hashValue").lower())
        algorithm = _str(entry, "hashAlgorithm")
    except DigestFormatError as error:
        raise DigestFormatError(f"logFiles[{n}]: {error}") from None
    if algorithm != HASH_ALGORITHM or not _HEX64.fullmatch(ref.hash_value):
        raise DigestFormatError(f"logFiles[{n}]: hash is not a hex {HASH_ALGORITHM}")
    return ref
