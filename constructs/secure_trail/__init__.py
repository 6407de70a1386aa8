"""secure-trail: an organization CloudTrail an auditor can trust, as CDK constructs."""

from importlib.metadata import version as _version

from .compliance import NAG_PACKS, register_nag_packs
from .names import DeploymentNames, deployment_names
from .props import ObjectLock, ObjectLockMode, SecureTrailConfigError, SecureTrailProps
from .props.analytics import AnalyticsProps
from .props.event_selectors import (AdvancedEventSelector, FieldSelector, InsightType, ManagementEventSources,
                                    data_events, management_events)
from .shapes.organization import (LogArchiveStack, SecureTrailLogArchive, SecureTrailOrgTrail, TrailStack,
                                  organization_stacks)
from .shapes.single import SecureTrail, SecureTrailStack

__version__ = _version("secure-trail")

__all__ = [
    "AdvancedEventSelector",
    "AnalyticsProps",
    "DeploymentNames",
    "FieldSelector",
    "InsightType",
    "LogArchiveStack",
    "ManagementEventSources",
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
    "data_events",
    "deployment_names",
    "management_events",
    "organization_stacks",
    "register_nag_packs",
]
