"""Architecture guard: the analysis layer is pure (frames in, result objects out).

It must import neither Flask nor SQLAlchemy, so that every statistic can be tested and reused
without an app or a database (see DEVELOPERS.md, "Layers").
"""

import ast
import pathlib

ANALYSIS = pathlib.Path(__file__).resolve().parents[1] / "hrpipeline" / "analysis"
FORBIDDEN = ("flask", "sqlalchemy", "flask_sqlalchemy", "hrpipeline.models", "hrpipeline.extensions")


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_analysis_imports_neither_flask_nor_sqlalchemy():
    files = sorted(ANALYSIS.rglob("*.py"))
    assert files, "analysis package must exist"
    offenders = {
        str(p.relative_to(ANALYSIS)): sorted(
            n for n in _imports(p) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)
        )
        for p in files
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


DISCLOSURE = ANALYSIS.parent / "disclosure"
#: The gate is pure too, and draws nothing: views format what it hands them.
DISCLOSURE_FORBIDDEN = (*FORBIDDEN, "matplotlib", "hrpipeline.services", "hrpipeline.web",
                        "hrpipeline.api", "hrpipeline.auth")


def test_disclosure_is_pure():
    files = sorted(DISCLOSURE.rglob("*.py"))
    assert len(files) >= 4, "the disclosure package must exist"
    offenders = {
        str(p.relative_to(DISCLOSURE)): sorted(
            n for n in _imports(p)
            if any(n == f or n.startswith(f + ".") for f in DISCLOSURE_FORBIDDEN))
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_imports_the_old_gate_location():
    root = ANALYSIS.parent
    old = [str(p.relative_to(root)) for p in root.rglob("*.py")
           if "hrpipeline.analysis.suppression" in _imports(p)]
    assert old == [] and not (ANALYSIS / "suppression.py").exists()


PACKAGE = ANALYSIS.parent
VIEWS = ("hrpipeline.auth", "hrpipeline.web", "hrpipeline.api")


def test_ingest_and_services_do_not_import_views():
    """The audit writer, access table and users service live below the views: ingest and the
    services never import the login views, the web pages or the API (issue 15)."""
    files = sorted([*(PACKAGE / "ingest").rglob("*.py"), *(PACKAGE / "services").rglob("*.py"),
                    PACKAGE / "audit.py", PACKAGE / "access.py"])
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(
            n for n in _imports(p) if any(n == v or n.startswith(v + ".") for v in VIEWS)
        )
        for p in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_analysis_draws_nothing():
    """Charts live in hrpipeline.charts; the analysis layer computes, it does not draw."""
    offenders = {str(p.relative_to(ANALYSIS)): sorted(n for n in _imports(p)
                                                      if n.split(".")[0] == "matplotlib"
                                                      or n.startswith("hrpipeline.charts"))
                 for p in sorted(ANALYSIS.rglob("*.py"))}
    assert {k: v for k, v in offenders.items() if v} == {}
