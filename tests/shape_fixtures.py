"""Fixtures that run a module's template tests on the single stack and on one stack of the
organization shape (Log Archive or Trail): import the pair a module needs."""

import pytest

from conftest import SHAPES


@pytest.fixture(scope="module", params=SHAPES, name="template")
def single_or_log_archive_template(request, template, log_archive_template):
    return template if request.param == "single" else log_archive_template


@pytest.fixture(scope="module", name="full_template")
def single_or_log_archive_full_template(template, full_template, log_archive_template, full_log_archive_template):
    return full_template if template is not log_archive_template else full_log_archive_template


@pytest.fixture(scope="module", params=SHAPES, name="template")
def single_or_trail_template(request, template, trail_template):
    return template if request.param == "single" else trail_template


@pytest.fixture(scope="module", name="full_template")
def single_or_trail_full_template(template, full_template, trail_template, full_trail_template):
    return full_template if template is not trail_template else full_trail_template
