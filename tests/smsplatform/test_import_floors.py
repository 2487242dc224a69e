"""The apps' floors, checked on the source: every import points down (README, "Layout").

An app may import the apps on the floors below its own, never one beside or above it; nothing imports
another app's views; no two modules import each other, even through others. Function-level imports
count too. The project package's wiring modules (settings, urls, wsgi, celery) may import anything.
"""
import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)

# The floors, lowest first. An app on floor N may import the apps of floors below N.
FLOORS = [
    ["smsplatform"],                      # plumbing: errors, wire, phone numbers, limits, tokens
    ["accounts"],                         # tenancy, end users, sessions, money
    ["templates_review", "captcha_app"],  # message text; captcha and validate tokens
    ["sms"],                              # codes, sending, delivery, carriers
    ["accounts.user_api"],                # the _User API and its SMS-code flows
]
WIRING = {"smsplatform", "smsplatform.settings", "smsplatform.urls", "smsplatform.wsgi", "smsplatform.celery"}
FLOOR_OF = {app: floor for floor, apps in enumerate(FLOORS) for app in apps}


def app_of(module: str) -> str | None:
    """The app a module belongs to: the longest app name that is the module or a package above it."""
    owners = [app for app in FLOOR_OF if module == app or module.startswith(app + ".")]
    return max(owners, key=len) if owners else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for top in {app.split(".")[0] for app in FLOOR_OF}:
        for path in (ROOT / top).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imported_modules(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """Every project module that `source` imports, anywhere in the file."""
    found = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import name`: the submodule pkg.name if there is one, else pkg itself.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def wrong_way_imports(module: str, imports: set[str]) -> list[str]:
    """What `module` imports against the floors, each said in a line."""
    if module in WIRING:
        return []
    own = app_of(module)
    problems = []
    for target in sorted(imports):
        other = app_of(target)
        if other is None or other == own:
            continue
        if FLOOR_OF[other] >= FLOOR_OF[own]:
            problems.append(f"{module} ({own}, floor {FLOOR_OF[own]}) imports {target} "
                            f"({other}, floor {FLOOR_OF[other]})")
        elif target == f"{other}.views" or target.startswith(f"{other}.views."):
            problems.append(f"{module} imports another app's views: {target}")
    return problems


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {
        module: imported_modules(module, path.read_text(encoding="utf-8"), path.name == "__init__.py", known) - {module}
        for module, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_import_points_down_the_floors():
    problems = [line for module, imports in sorted(import_graph().items())
                for line in wrong_way_imports(module, imports)]
    assert problems == []


def test_no_two_modules_import_each_other():
    # The wiring modules import every app's urls and settings modules on purpose.
    graph = {module: imports - WIRING for module, imports in import_graph().items() if module not in WIRING}
    assert cycles(graph) == []


def test_every_installed_project_app_has_a_floor():
    ours = {name for name in settings.INSTALLED_APPS if name.split(".")[0] in {a.split(".")[0] for a in FLOOR_OF}}
    assert ours == set(FLOOR_OF) - {"smsplatform"}


def test_a_planted_wrong_way_import_is_caught():
    """The check itself: an accounts service that reaches up into sms, at function level, is refused."""
    known = set(project_modules())
    planted = "def send():\n    from sms import codes\n    from ..models import App\n"
    imports = imported_modules("accounts.services.users", planted, False, known)
    assert imports == {"sms.codes", "accounts.models"}
    assert wrong_way_imports("accounts.services.users", imports) == [
        "accounts.services.users (accounts, floor 1) imports sms.codes (sms, floor 3)"]
    sideways = imported_modules("captcha_app.services", "import templates_review.rendering\n", False, known)
    assert wrong_way_imports("captcha_app.services", sideways) == [
        "captcha_app.services (captcha_app, floor 2) imports templates_review.rendering (templates_review, floor 2)"]
    assert wrong_way_imports("accounts.user_api.views", {"sms.views"}) == [
        "accounts.user_api.views imports another app's views: sms.views"]


def test_a_planted_cycle_is_caught():
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}) == [["a.x", "a.y", "a.z"]]
