"""The documentation: README.md is a short entrance that links every page of docs/, its
example synthesizes, the configuration page is what the code generates, and no product file
names how the project came about (seeds, issue numbers)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

from conftest import REPO, synthesize_apps_into

README = REPO / "README.md"
DOCS = REPO / "docs"
PRODUCT_FILES = [README, REPO / "CHANGELOG.md", REPO / "lambda_src" / "README.md", *sorted(DOCS.glob("*.md"))]
# "seed 000", "seeds", "issue 12", "issues 13 and 14", "#12" (not a Markdown anchor, not "&#39;").
NOT_IN_PRODUCT_FILES = re.compile(r"\bseeds?\b|\bissues?\s+#?\d+|(?<![&\w])#\d+\b", re.IGNORECASE)


def _generator():
    spec = importlib.util.spec_from_file_location("generate_configuration", DOCS / "generate_configuration.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_the_configuration_page_is_what_the_code_generates():
    assert (DOCS / "configuration.md").read_text() == _generator().generate(), \
        "docs/configuration.md is stale: run `make docs`"


def test_the_configuration_page_documents_every_prop_and_context_key():
    from secure_trail import AnalyticsProps, SecureTrailProps
    from secure_trail.context import CONTEXT_KEYS
    import dataclasses
    page = (DOCS / "configuration.md").read_text()
    for field in dataclasses.fields(SecureTrailProps):
        assert f"### `{field.name}`" in page, field.name
    for field in dataclasses.fields(AnalyticsProps):
        assert f"### `analytics.{field.name}`" in page, field.name
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    for key in [*CONTEXT_KEYS, *(key for key in context if not key.startswith("@"))]:
        assert f"| `{key}` |" in page, key


def test_every_docs_page_is_linked_from_the_readme():
    readme = README.read_text()
    pages = sorted(DOCS.glob("*.md"))
    assert {page.stem for page in pages} >= {
        "deploying", "configuration", "constructs", "digests", "access-logs", "posture", "analytics",
        "monitoring", "evidence", "compliance", "cli", "architecture", "benchmarks"}
    assert not [page.name for page in pages if f"](docs/{page.name})" not in readme]


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lowercase, punctuation dropped, spaces as '-'."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", page.read_text(), re.M)}


def test_links_between_pages_point_at_pages_and_headings_that_exist():
    for path in [README, *DOCS.glob("*.md")]:
        for target, anchor in re.findall(r"\]\(([^)#\s]*\.md|)(?:#([^)]*))?\)", path.read_text()):
            page = path.parent / target if target else path
            assert page.is_file(), f"{path.name} links to {target}"
            assert not anchor or anchor in _anchors(page), f"{path.name} links to {target}#{anchor}"


def test_the_readme_is_an_entrance_of_at_most_300_lines():
    assert len(README.read_text().splitlines()) <= 300


def test_the_readme_keeps_the_two_commands_that_ci_runs():
    readme = README.read_text()
    assert "make synth   # sets up .venv + node_modules, then synthesizes with the four cdk-nag packs" in readme
    assert "make test    # the same set-up, then every test (CI runs exactly this: .ci/run)" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text().splitlines()


def test_no_product_file_mentions_seeds_or_issue_numbers():
    found = [f"{path.relative_to(REPO)}:{number}: {match.group(0)}"
             for path in PRODUCT_FILES
             for number, line in enumerate(path.read_text().splitlines(), 1)
             for match in NOT_IN_PRODUCT_FILES.finditer(line)]
    assert not found


def readme_example() -> str:
    return re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)


def test_the_readme_example_synthesizes(tmp_path, monkeypatch):
    example = readme_example()
    assert "SecureTrail" in example and "app.synth()" in example
    out = tmp_path / "cdk.out"

    synthesize_apps_into(out, monkeypatch)
    exec(compile(example, "README.md example", "exec"), {"__name__": "__main__"})
    artifacts = json.loads((out / "manifest.json").read_text())["artifacts"]
    (stack,) = [name for name, artifact in artifacts.items() if artifact["type"] == "aws:cloudformation:stack"]
    resources = json.loads((out / f"{stack}.template.json").read_text())["Resources"]
    (trail,) = [r for r in resources.values() if r["Type"] == "AWS::CloudTrail::Trail"]
    assert trail["Properties"]["IsOrganizationTrail"] is True
    assert trail["Properties"]["EnableLogFileValidation"] is True
