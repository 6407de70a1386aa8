"""secure-trail: an organization CloudTrail an auditor can trust, as CDK constructs."""

from importlib.metadata import version as _version

from .compliance import NAG_PACKS, register_nag_packs
from .props import ObjectLock, ObjectLockMode, SecureTrailConfigError, SecureTrailProps
from .secure_trail import SecureTrail
from .stack import SecureTrailStack

__version__ = _version("secure-trail")

__all__ = [
    "NAG_PACKS",
    "ObjectLock",
    "ObjectLockMode",
    "SecureTrail",
    "SecureTrailConfigError",
    "SecureTrailProps",
    "SecureTrailStack",
    "__version__",
    "register_nag_packs",
]
