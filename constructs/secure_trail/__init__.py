"""secure-trail: an organization CloudTrail an auditor can trust, as CDK constructs."""

from importlib.metadata import version as _version

from .compliance import NAG_PACKS, register_nag_packs
from .names import DeploymentNames, deployment_names
from .props import ObjectLock, ObjectLockMode, SecureTrailConfigError, SecureTrailProps
from .props.analytics import AnalyticsProps
from .shapes.organization import (LogArchiveStack, SecureTrailLogArchive, SecureTrailOrgTrail, TrailStack,
                                  organization_stacks)
from .shapes.single import SecureTrail, SecureTrailStack

__version__ = _version("secure-trail")

__all__ = [
    "AnalyticsProps",
    "DeploymentNames",
    "LogArchiveStack",
    "NAG_PACKS",
    "ObjectLock",
    "ObjectLockMode",
    "SecureTrail",
    "SecureTrailLogArchive",
    "SecureTrailOrgTrail",
    "SecureTrailConfigError",
    "SecureTrailProps",
    "SecureTrailStack",
    "TrailStack",
    "__version__",
    "deployment_names",
    "organization_stacks",
    "register_nag_packs",
]
