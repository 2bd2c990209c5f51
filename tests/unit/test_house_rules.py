"""House rules checked over the source: no import circles, configuration read in one module."""

import ast
from pathlib import Path

import grimp
import pytest

from resources.settings import REPO_ROOT

PACKAGES = ("orchestration", "sensors", "assets", "resources", "ask")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, include_external_packages=False)


def test_no_module_imports_a_module_that_imports_it_back(graph):
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                circles.append(f"{module} -> {' -> '.join(back)}")
    assert not circles, "import circles:\n" + "\n".join(circles)


def environ_uses(path: Path) -> list[str]:
    """Lines that read or write os.environ (or call os.getenv / putenv)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "putenv", "unsetenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    return found


def test_only_the_settings_module_touches_the_environment():
    sources = [p for package in (*PACKAGES, "bench", "notebooks") for p in (REPO_ROOT / package).rglob("*.py")]
    uses = [use for path in sources if path != REPO_ROOT / "resources" / "settings.py" for use in environ_uses(path)]
    assert not uses, "read configuration through resources.settings instead:\n" + "\n".join(uses)


def test_the_ask_service_loads_without_dagster():
    """ask/ imports resources only, and resources/database.py keeps Dagster out (resources/postgres.py has it)."""
    import subprocess
    import sys

    code = "import sys, ask.app, orchestration.cli.ask; print(any(m.split('.')[0] == 'dagster' for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
