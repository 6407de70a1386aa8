"""secure-trail: an organization CloudTrail an auditor can trust, as CDK constructs."""

from .compliance import NAG_PACKS, register_nag_packs
from .props import ObjectLock, ObjectLockMode, SecureTrailConfigError, SecureTrailProps
from .secure_trail import SecureTrail
from .stack import SecureTrailStack

__all__ = [
    "NAG_PACKS",
    "ObjectLock",
    "ObjectLockMode",
    "SecureTrail",
    "SecureTrailConfigError",
    "SecureTrailProps",
    "SecureTrailStack",
    "register_nag_packs",
]
