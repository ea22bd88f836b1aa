"""The shape of the code, checked from its syntax trees so that a relapse fails here (CONVENTIONS: layers).

- forum/ reaches moderation/ only through the one installer (the app factory);
- services (forum/services, forum/permissions) import neither handlers nor the API layer (forum/web, forum/api);
- a handler module (one that has a `routes` table) imports no other handler module, and the pages (forum/web)
  do not import the API layer (the API may use the pages' request helpers in forum/web/common.py);
- no import cycle among forum/ and moderation/ modules, function-level imports counted: an import inside a
  function hides a cycle from Python, not from the reader;
- forum's pages (templates and scripts) name none of moderation's routes or reasons for hiding a post: what
  moderation adds to a post card or to the main navigation comes through forum/hooks.py.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("forum", "moderation")
INSTALLER = "forum.app"  # mounts moderation's routes and calls moderation.install(app)
SERVICE_PREFIXES = ("forum.services", "forum.permissions")
HANDLER_LAYERS = ("forum.web", "forum.api")


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    is_package = modules()[module].name == "__init__.py"
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports(module: str) -> frozenset[str]:
    """Every forum/moderation module `module` imports, anywhere in its body (functions and TYPE_CHECKING too)."""
    known = modules()
    tree = ast.parse(known[module].read_text(), filename=str(known[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # `from forum.services import posts` imports the module posts; `from forum.models import Post`, the
            # package forum.models
            target = _resolve(module, node)
            names = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target
                     for alias in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and name.split(".")[0] in PACKAGES:
                found.add(name)
    return frozenset(found)


def _in(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@cache
def handler_modules() -> frozenset[str]:
    """Modules with a route table of their own: `routes = [...]` at module level."""
    out = set()
    for module, path in modules().items():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == "routes" for t in targets):
                out.add(module)
    return frozenset(out)


def test_the_walk_sees_the_code():
    assert "forum.services.posts" in modules() and "moderation.actions" in modules()
    assert "forum.permissions.topics" in imports("forum.services.posts")
    assert {"forum.web.topics", "forum.api.content", "moderation.web"} <= handler_modules()


def test_forum_reaches_moderation_only_through_the_installer():
    bad = {m: sorted(i for i in imports(m) if _in(i, ["moderation"]))
           for m in modules() if _in(m, ["forum"]) and m != INSTALLER}
    assert {m: i for m, i in bad.items() if i} == {}


def test_services_do_not_import_handlers_or_the_api():
    bad = {m: sorted(i for i in imports(m) if _in(i, HANDLER_LAYERS))
           for m in modules() if _in(m, SERVICE_PREFIXES)}
    assert {m: i for m, i in bad.items() if i} == {}


def test_no_handler_module_imports_another():
    handlers = handler_modules()
    bad = {m: sorted(imports(m) & handlers) for m in handlers}
    assert {m: i for m, i in bad.items() if i} == {}


def test_pages_do_not_import_the_api():
    bad = {m: sorted(i for i in imports(m) if _in(i, ["forum.api"])) for m in modules() if _in(m, ["forum.web"])}
    assert {m: i for m, i in bad.items() if i} == {}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph = {m: sorted(imports(m)) for m in modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(components)


def test_no_import_cycles_counting_function_level_imports():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(monkeypatch, tmp_path):
    (tmp_path / "forum").mkdir()
    (tmp_path / "forum" / "__init__.py").write_text("")
    (tmp_path / "forum" / "a.py").write_text("from forum import b\n")
    (tmp_path / "forum" / "b.py").write_text("def later():\n    from forum.a import x\n")
    (tmp_path / "moderation").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    modules.cache_clear()
    imports.cache_clear()
    try:
        assert _cycles() == [["forum.a", "forum.b"]]
    finally:
        modules.cache_clear()
        imports.cache_clear()


def test_the_forums_pages_know_none_of_moderations_routes_or_reasons():
    """Templates and scripts of forum/ name no route of moderation's and no reason it hides a post for: its links
    on a post card and in the main navigation come through forum.hooks (`card_actions`, `add_nav_link`)."""
    import re

    moderation_routes = set(re.findall(r'name="(\w+)"', (ROOT / "moderation" / "web.py").read_text()))
    assert {"mod", "flag_post", "appeal_post"} <= moderation_routes
    pages = {path.relative_to(ROOT).as_posix(): path.read_text()
             for pattern in ("templates/**/*.html", "static/**/*.js") for path in (ROOT / "forum").glob(pattern)}
    named = {path: sorted(r for r in moderation_routes if f"'{r}'" in text or f'"{r}"' in text)
             for path, text in pages.items()}
    assert {path: routes for path, routes in named.items() if routes} == {}
    code = {path: text for path, text in pages.items() if not path.endswith(".js")} | {
        path: "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("/*", "*", "//")))
        for path, text in pages.items() if path.endswith(".js")}
    assert [path for path, text in code.items() if "hidden_reason" in text or "'/mod" in text or '"/mod' in text] == []


def test_the_forums_code_names_none_of_moderations_tables():
    """forum/ (its migrations aside, which create every table) names no table of moderation's: what moderation's
    withdrawal handler writes, it tells the byte purge itself (`byte_purge.touches`)."""
    import re

    tables = set(re.findall(r'table = "(\w+)"', (ROOT / "moderation" / "models.py").read_text()))
    assert {"mod_flag", "mod_case", "mod_audit"} <= tables
    code = {path.relative_to(ROOT).as_posix(): path.read_text() for path in (ROOT / "forum").rglob("*.py")
            if "migrations" not in path.parts}
    named = {path: sorted(t for t in tables if re.search(rf"\b{t}\b", text)) for path, text in code.items()}
    assert {path: found for path, found in named.items() if found} == {}
