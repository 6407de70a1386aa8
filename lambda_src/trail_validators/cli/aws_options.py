"""The AWS CLI's global options, which users pass to ``validate-logs`` out of habit, as boto3
and obstore take them. Meanings follow ``aws cloudtrail validate-logs``: ``--endpoint-url``
is CloudTrail's endpoint (S3's comes from ``AWS_ENDPOINT_URL_S3``, as for the AWS CLI);
``--region`` is the region of the clients, not a filter of chains. ``--no-sign-request``
sends S3 requests unsigned (a public bucket's objects); a command that needs CloudTrail, KMS
or another API that answers only signed requests refuses it with a usage error."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_READ_TIMEOUT = DEFAULT_CONNECT_TIMEOUT = 60


def add_arguments(parser: argparse.ArgumentParser,
                  endpoint_help: str = "CloudTrail endpoint URL, as for aws cloudtrail validate-logs "
                                       "(S3's is AWS_ENDPOINT_URL_S3)",
                  unsigned_help: str = "refused here: CloudTrail answers only signed requests") -> None:
    group = parser.add_argument_group("AWS options (as the AWS CLI takes them)")
    group.add_argument("--profile", help="use this profile from the AWS credentials and config files")
    group.add_argument("--region", help="region of the AWS clients (default: the trail's home region for "
                                        "CloudTrail, the profile's for S3); to validate only some regions' "
                                        "chains, use --only-region")
    group.add_argument("--endpoint-url", help=endpoint_help)
    group.add_argument("--no-sign-request", dest="sign_request", action="store_false",
                       help=f"do not sign requests nor load credentials: {unsigned_help}")
    group.add_argument("--no-verify-ssl", dest="verify_ssl", action="store_false",
                       help="do not verify TLS certificates (S3 and CloudTrail): only for testing")
    group.add_argument("--ca-bundle", type=_readable_file, help="PEM file of CA certificates to verify TLS with")
    group.add_argument("--debug", action="store_true", help="log every AWS request on stderr")
    group.add_argument("--cli-read-timeout", type=_seconds, default=DEFAULT_READ_TIMEOUT, metavar="SECONDS",
                       help=f"socket read timeout, 0 for none (default {DEFAULT_READ_TIMEOUT})")
    group.add_argument("--cli-connect-timeout", type=_seconds, default=DEFAULT_CONNECT_TIMEOUT, metavar="SECONDS",
                       help=f"socket connect timeout, 0 for none (default {DEFAULT_CONNECT_TIMEOUT})")


@dataclass(frozen=True)
class AwsOptions:
    profile: str | None
    region: str | None
    endpoint_url: str | None
    verify_ssl: bool
    ca_bundle: str | None
    debug: bool
    read_timeout: int
    connect_timeout: int
    sign_request: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "AwsOptions":
        return cls(args.profile, args.region, args.endpoint_url, args.verify_ssl, args.ca_bundle, args.debug,
                   args.cli_read_timeout, args.cli_connect_timeout, args.sign_request)

    def require_signing(self, command: str, why: str) -> None:
        """A usage error when ``--no-sign-request`` was given to a command that cannot work unsigned."""
        if not self.sign_request:
            from .output import UsageError
            raise UsageError(f"--no-sign-request cannot apply to {command}: {why}")

    def session(self):
        import boto3
        if self.debug:
            logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
            logging.getLogger("botocore").setLevel(logging.DEBUG)
        return boto3.Session(profile_name=self.profile, region_name=self.region)

    @property
    def verify(self) -> bool | str:
        """botocore's ``verify``: False, a CA bundle's path, or True."""
        return False if not self.verify_ssl else (self.ca_bundle or True)

    def config(self, **settings):
        from botocore import UNSIGNED
        from botocore.config import Config
        if not self.sign_request:
            settings["signature_version"] = UNSIGNED
        return Config(read_timeout=self.read_timeout or None, connect_timeout=self.connect_timeout or None,
                      **settings)

    def object_store_options(self) -> dict:
        """The same TLS and timeout settings for obstore's client."""
        options: dict = {}
        if not self.verify_ssl:
            options["allow_invalid_certificates"] = True
        elif self.ca_bundle:
            options["root_certificate"] = Path(self.ca_bundle).read_text()
        if self.read_timeout:
            options["timeout"] = f"{self.read_timeout}s"
        if self.connect_timeout:
            options["connect_timeout"] = f"{self.connect_timeout}s"
        return options


def _seconds(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of seconds")
    return int(value)


def _readable_file(value: str) -> str:
    if not Path(value).is_file():
        raise argparse.ArgumentTypeError(f"{value!r} is not a readable file")
    return value
