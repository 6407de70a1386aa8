"""What every prop check shares: the error users see, and the forms of ids and ARNs."""

from __future__ import annotations

import re
from typing import Sequence


class SecureTrailConfigError(ValueError):
    """A prop or context value that would synthesize an insecure or undeployable trail."""


SecureTrailConfigError.__module__ = "secure_trail.props"  # where it is imported from, and named in tracebacks


# Every pattern is matched with ``fullmatch``: ``re.match`` with ``$`` accepts "x\n".
ORG_ID = re.compile(r"o-[a-z0-9]{10,32}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# CloudTrail trail names: 3-128 characters of letters, digits, '.', '_' and '-',
# starting and ending with a letter or digit, with no two separators side by side.
TRAIL_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[._-](?=[A-Za-z0-9])){2,127}")
# One exact principal: IAM names and paths are letters, digits and +=,.@_- (no wildcard).
IAM_PRINCIPAL_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:(root|(role|user)/[A-Za-z0-9+=,.@_/-]+)")


def keep_lists_as_tuples(props: object, names: Sequence[str]) -> None:
    """Props are checked once per object: a list given is kept as a tuple, so that nothing
    can change what was checked (a list appended to after the check, say)."""
    for name in names:
        value = getattr(props, name)
        if isinstance(value, list):
            object.__setattr__(props, name, tuple(value))
