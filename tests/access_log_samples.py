"""Realistic S3 server access log lines, for tests and the benchmark."""

from __future__ import annotations

import random

OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"


def access_log_line(*, bucket: str = "trail-bucket", time: str = "12/Jul/2021:06:46:24 +0000",
                    remote_ip: str = "192.0.2.3", requester: str = "svc:cloudtrail.amazonaws.com",
                    request_id: str = "64SBQPH29Y3CZJJJ", operation: str = "REST.PUT.OBJECT",
                    key: str = "AWSLogs/111111111111/CloudTrail/eu-west-1/2021/07/12/x.json.gz",
                    request_uri: str | None = None, status: str = "200", error_code: str = "-",
                    bytes_sent: str = "-", object_size: str = "5831", total_time: str = "24",
                    turn_around: str = "14", referer: str = "-", user_agent: str = "-",
                    version_id: str = "-", host_id: str = "k8K/V76EDGKVqTnz9b036goCHoDSYiz=",
                    signature: str = "SigV4", cipher: str = "ECDHE-RSA-AES128-GCM-SHA256",
                    auth: str = "AuthHeader", host: str = "trail-bucket.s3.eu-west-1.amazonaws.com",
                    tls: str = "TLSv1.2", extra: tuple[str, ...] = ("-", "-")) -> str:
    uri = request_uri if request_uri is not None else f"PUT /{key} HTTP/1.1"
    fields = [OWNER, bucket, f"[{time}]", remote_ip, requester, request_id, operation, key, f'"{uri}"',
              status, error_code, bytes_sent, object_size, total_time, turn_around, f'"{referer}"',
              f'"{user_agent}"', version_id, host_id, signature, cipher, auth, host, tls, *extra]
    return " ".join(fields)


def plain_http_line(**overrides) -> str:
    return access_log_line(**{"cipher": "-", "tls": "-", **overrides})


def generated_lines(count: int, seed: int = 7) -> list[str]:
    """A day of mixed traffic: CloudTrail writes, readers, some weak and plain requests."""
    rng = random.Random(seed)
    operations = ["REST.PUT.OBJECT", "REST.GET.OBJECT", "REST.GET.BUCKET", "REST.HEAD.OBJECT", "REST.GET.ACL"]
    tls_choices = [("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")] * 90 + [("TLSv1.3", "TLS_AES_128_GCM_SHA256")] * 8 \
        + [("TLSV1.1", "ECDHE-RSA-AES128-SHA"), ("-", "-")]
    lines = []
    for i in range(count):
        tls, cipher = rng.choice(tls_choices)
        second = i % 86400
        lines.append(access_log_line(
            time=f"12/Jul/2021:{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d} +0000",
            operation=rng.choice(operations), request_id=f"{rng.getrandbits(64):016X}",
            key=f"AWSLogs/111111111111/CloudTrail/eu-west-1/2021/07/12/{i:08d}.json.gz",
            user_agent=rng.choice(["-", "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 botocore/2.0",
                                   "S3Console/0.4", "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux"]),
            requester=rng.choice(["svc:cloudtrail.amazonaws.com",
                                  "arn:aws:sts::111111111111:assumed-role/Auditor/session"]),
            tls=tls, cipher=cipher, status=rng.choice(["200"] * 19 + ["403"])))
    return lines


def unquoted_line(*, operation: str = "BATCH.DELETE.OBJECT", key: str = "photos/2019/a.jpg",
                  requester: str = "arn:aws:iam::111111111111:user/alice", status: str = "204",
                  tls: str = "TLSv1.2", cipher: str = "ECDHE-RSA-AES128-GCM-SHA256") -> str:
    """A line as S3 writes it for a batch delete or a copy's GET: request-URI, referer and
    user-agent a bare ``-``, no quote anywhere."""
    return " ".join([OWNER, "trail-bucket", "[12/Jul/2021:06:46:24 +0000]", "192.0.2.3", requester,
                     "3E57427F3EXAMPLE", operation, key, "-", status, "-", "-", "-", "24", "-", "-", "-",
                     "-", "k8K/V76EDGKVqTnz9b036goCHoDSYiz=", "SigV4", cipher, "AuthHeader",
                     "trail-bucket.s3.eu-west-1.amazonaws.com", tls, "-", "-"])
