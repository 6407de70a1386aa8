"""``secure-trail analytics setup``: installs the index template (the documents' field types)
and imports the saved objects (index pattern, searches, visualizations, a dashboard) into
OpenSearch Dashboards, every request SigV4-signed for ``es`` or ``aoss``.

Needs opensearch-py (``pip install './lambda_src[analytics]'``); without it the command
says so in one line."""

from __future__ import annotations

import argparse
import json
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from ..contract import ANALYTICS_SERVICES, DEFAULT_ANALYTICS_INDEX_PREFIX
from . import output
from .index_template import index_template, template_name

SAVED_OBJECTS = "saved_objects.ndjson"
DEFAULT_INDEX_PATTERN_TITLE = f"{DEFAULT_ANALYTICS_INDEX_PREFIX}-*"
INSTALL = "pip install './lambda_src[analytics]' (from a checkout), or use .venv/bin/secure-trail after make setup"
TIMEOUT_SECONDS = 60
UNSIGNED = ("an https endpoint is sent SigV4-signed requests only, so that its access policy decides who "
            "may write the template and dashboards")


def register(commands: Any) -> None:
    analytics = commands.add_parser("analytics", help="the OpenSearch side of the trail's analytics",
                                    description="Set up the OpenSearch side of the analytics part.")
    actions = analytics.add_subparsers(required=True, metavar="ACTION")
    setup = actions.add_parser(
        "setup", help="create the index template and import the saved dashboards",
        description="Creates the index template of the enriched CloudTrail documents (<prefix>-*) and "
                    "imports the saved objects (index pattern, security searches and visualizations, a "
                    "dashboard) into OpenSearch Dashboards. Requests are SigV4-signed with the standard "
                    "AWS credentials (profile, environment, role).")
    setup.add_argument("--endpoint", "--endpoint-url", dest="endpoint", required=True,
                       help="https://host of the domain or collection")
    setup.add_argument("--service", choices=ANALYTICS_SERVICES, required=True,
                       help="es (an OpenSearch Service domain) or aoss (an OpenSearch Serverless collection)")
    setup.add_argument("--region", help="region of the endpoint (default: the AWS configuration's)")
    setup.add_argument("--profile", help="AWS profile to sign with")
    setup.add_argument("--index-prefix", default=DEFAULT_ANALYTICS_INDEX_PREFIX,
                       help=f"the stack's analytics index prefix (default {DEFAULT_ANALYTICS_INDEX_PREFIX})")
    setup.add_argument("--dashboards-url", help="OpenSearch Dashboards base URL (default: <endpoint>/_dashboards)")
    setup.add_argument("--skip-dashboards", action="store_true", help="only create the index template")
    setup.add_argument("--no-sign-request", dest="sign_request", action="store_false",
                       help=f"refused: {UNSIGNED}")
    output.add_arguments(setup, formats=("text", "json"))
    setup.set_defaults(run=run)


def saved_objects(index_prefix: str) -> str:
    """The shipped NDJSON, its index pattern's title set to ``<prefix>-*``."""
    lines = []
    for line in resources.files(__package__).joinpath(SAVED_OBJECTS).read_text(encoding="utf-8").splitlines():
        saved = json.loads(line)
        if saved["type"] == "index-pattern" and saved["attributes"]["title"] == DEFAULT_INDEX_PATTERN_TITLE:
            saved["attributes"]["title"] = f"{index_prefix}-*"
        lines.append(json.dumps(saved, separators=(",", ":"), sort_keys=True))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        import opensearchpy  # noqa: F401 - the package itself, before any of its modules
        import requests
        from opensearchpy.exceptions import OpenSearchException
    except ImportError as missing:
        raise output.MissingDependency(
            f"analytics setup needs opensearch-py ({missing.name} is missing): {INSTALL}") from None
    if not args.sign_request:
        raise output.UsageError(f"--no-sign-request cannot apply to analytics setup: {UNSIGNED}")
    try:
        return _setup(args)
    except (OpenSearchException, requests.RequestException) as error:
        return output.error("aws", f"{args.endpoint}: {type(error).__name__}: {' '.join(str(error).split())[:500]}",
                            args.format == "json")


def _setup(args: argparse.Namespace) -> int:
    import requests
    from opensearchpy import AWSV4SignerAuth

    from ..analytics.sink import client_for

    credentials, region = _aws(args)
    client = client_for(args.endpoint, service=args.service, region=region, credentials=credentials)
    name = template_name(args.index_prefix)
    client.indices.put_index_template(name=name, body=index_template(args.index_prefix))
    report: dict[str, Any] = {"index_template": name, "index_pattern": f"{args.index_prefix}-*",
                              "dashboards_url": None, "saved_objects_imported": None}
    lines = [f"index template {name} for {args.index_prefix}-* created"]
    if not args.skip_dashboards:
        base = (args.dashboards_url or f"{args.endpoint.rstrip('/')}/_dashboards").rstrip("/")
        secure = urlsplit(base).scheme == "https"
        response = requests.post(
            f"{base}/api/saved_objects/_import", params={"overwrite": "true"},
            headers={"osd-xsrf": "true"}, timeout=TIMEOUT_SECONDS,
            files={"file": (SAVED_OBJECTS, saved_objects(args.index_prefix).encode(), "application/ndjson")},
            auth=AWSV4SignerAuth(credentials, region, args.service) if secure else None)
        try:
            result = response.json()
        except ValueError:
            result = {}
        if response.status_code >= 300 or not result.get("success", False):
            errors = result.get("errors") or response.text[:500]
            output.emit(args, report, lambda: "\n".join(lines))  # the template was created
            return output.error("aws", f"saved objects not imported (HTTP {response.status_code}): {errors}",
                                args.format == "json")
        report.update(dashboards_url=base, saved_objects_imported=result.get("successCount", 0))
        lines.append(f"{report['saved_objects_imported']} saved objects imported into {base}")
    output.emit(args, report, lambda: "\n".join(lines))
    return 0


def _aws(args: argparse.Namespace) -> tuple[Any, str]:
    """Credentials and region from the standard AWS configuration (None for an http:// test
    endpoint, which is not signed)."""
    if urlsplit(args.endpoint).scheme != "https":
        return None, args.region or "us-east-1"
    import boto3

    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    if session.region_name is None:
        raise ValueError("no region: pass --region or configure one")
    credentials = session.get_credentials()
    if credentials is None:
        raise LookupError("no AWS credentials found to sign the requests with")
    return credentials, session.region_name
