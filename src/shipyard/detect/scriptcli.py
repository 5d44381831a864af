"""Read a console script's command line statically: which option sets its port and host.

Why: a package whose only entry point is a console script (`pypi-server =
"pypiserver.__main__:main"`) picks its own port (often 8080) and interface, and often
wants a subcommand (`pypi-server run`). Started bare, it ignores `$PORT` and the health
check asks a port nobody listens on. The script's options are declared in its code:
argparse (`add_argument("-p", "--port")`, on the parser a `add_parser("run")` made),
click (`@click.option("--port")` on a `@cli.command()`), typer (a `port` parameter of an
`@app.command()`). This module finds them in the entry point's package — parsed, never
imported — so the entrypoint can run `SCRIPT [SUBCOMMAND] --port "$PORT" --host 0.0.0.0`.

The choice: an option on the top-level parser beats one on a subcommand; among
subcommands a server-like name (run, serve, server, start, web) beats the others; then
the entry point's own module beats the rest of the package; then the first declared.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from shipyard.detect.pysource import SourceIndex, call_name

PORT_FLAGS = ("--port", "-p")
HOST_FLAGS = ("--host", "--interface", "--bind", "--listen", "--address")
_SERVER_NAMES = ("run", "serve", "server", "start", "web", "runserver", "up")
_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class ScriptCli:
    """What to add to the script's command line: `[subcommand] PORT_FLAG N [HOST_FLAG H]`."""

    subcommand: str | None
    port_flag: str
    host_flag: str | None
    where: str  # file:line of the port option


@dataclass
class _Options:
    subcommand: str | None
    module: str
    flags: dict[str, str]  # flag → file:line
    order: int


def find_script_cli(index: SourceIndex, entry_module: str) -> ScriptCli | None:
    """The port (and host) options of the script whose entry point is in entry_module."""
    package = entry_module.split(".", 1)[0]
    modules = [m for m in index.modules() if m == package or m.startswith(package + ".")]
    found: list[_Options] = []
    for module in modules:
        tree = index.tree(module)
        if tree is None:
            continue
        for subcommand, flag, node in [*_argparse(index, module, tree), *_click(tree)]:
            _add(found, module, subcommand, flag, index.where(module, node))
    with_port = [o for o in found if _pick(o.flags, PORT_FLAGS)]
    if not with_port:
        return None
    best = min(with_port, key=lambda o: (
        o.subcommand is not None,
        _SERVER_NAMES.index(o.subcommand) if o.subcommand in _SERVER_NAMES else len(_SERVER_NAMES),
        o.module != entry_module, o.order))
    port = _pick(best.flags, PORT_FLAGS)
    assert port is not None
    return ScriptCli(best.subcommand, port, _pick(best.flags, HOST_FLAGS), best.flags[port])


def _add(found: list[_Options], module: str, subcommand: str | None, flag: str,
         where: str) -> None:
    for options in found:
        if options.subcommand == subcommand and options.module == module:
            options.flags.setdefault(flag, where)
            return
    found.append(_Options(subcommand, module, {flag: where}, len(found)))


def _pick(flags: dict[str, str], wanted: tuple[str, ...]) -> str | None:
    return next((flag for flag in wanted if flag in flags), None)


def _strings(args: list[ast.expr]) -> list[str]:
    return [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


# -- argparse -------------------------------------------------------------------------------------


def _argparse(index: SourceIndex, module: str, tree: ast.Module
              ) -> Iterator[tuple[str | None, str, ast.AST]]:
    """(subcommand, flag, node) for every add_argument whose parser can be told."""
    for scope, parsers in _parsers_by_scope(tree):
        for node in _walk_scope(scope):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument"):
                continue
            for subcommand in _owner(index, module, scope, parsers, node.func.value):
                for flag in _strings(node.args):
                    if flag.startswith("-"):
                        yield subcommand, flag, node


_Parsers = dict[str, str | None]  # variable → subcommand (None: the top-level parser)


def _parsers_by_scope(tree: ast.Module) -> Iterator[tuple[ast.AST, _Parsers]]:
    scopes: list[ast.AST] = [tree, *(n for n in ast.walk(tree) if isinstance(n, _SCOPE))]
    for scope in scopes:
        parsers: _Parsers = {}
        for node in _walk_scope(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                made = _made_parser(node.value, parsers)
                if made is not None:
                    parsers[node.targets[0].id] = made[0]
        yield scope, parsers


def _made_parser(value: ast.expr, parsers: _Parsers) -> tuple[str | None] | None:
    """(subcommand,) when value makes a parser (or a group of one), else None."""
    if not isinstance(value, ast.Call):
        return None
    name = call_name(value)
    if name.endswith("ArgumentParser"):
        return (None,)
    if isinstance(value.func, ast.Attribute) and value.func.attr == "add_parser":
        names = _strings(value.args[:1])
        return (names[0],) if names else None
    if isinstance(value.func, ast.Attribute) and value.func.attr in (
            "add_argument_group", "add_mutually_exclusive_group"):
        owner = value.func.value
        if isinstance(owner, ast.Name) and owner.id in parsers:
            return (parsers[owner.id],)
    return None


def _owner(index: SourceIndex, module: str, scope: ast.AST, parsers: _Parsers,
           receiver: ast.expr) -> list[str | None]:
    """The subcommand(s) of the parser receiver stands for: a parser made in this scope,
    `add_parser("x")` itself, or a parameter of this function, resolved at its call sites."""
    made = _made_parser(receiver, parsers)
    if made is not None:
        return [made[0]]
    if not isinstance(receiver, ast.Name):
        return []
    if receiver.id in parsers:
        return [parsers[receiver.id]]
    if isinstance(scope, _SCOPE):
        params = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args)]
        if receiver.id in params:
            return _call_site_parsers(index, module, scope.name, params.index(receiver.id),
                                      receiver.id)
    return []


def _call_site_parsers(index: SourceIndex, module: str, function: str, position: int,
                       keyword: str) -> list[str | None]:
    """Parsers passed to `function(parser)` in the same package (one level deep)."""
    package = module.split(".", 1)[0]
    owners: list[str | None] = []
    for other in index.modules():
        tree = index.tree(other) if other.split(".", 1)[0] == package else None
        for scope, parsers in _parsers_by_scope(tree) if tree else ():
            for node in _walk_scope(scope):
                if not (isinstance(node, ast.Call) and call_name(node) == function):
                    continue
                args = [*node.args[position:position + 1],
                        *(k.value for k in node.keywords if k.arg == keyword)]
                for arg in args:
                    made = _made_parser(arg, parsers)
                    if made is not None:
                        owners.append(made[0])
                    elif isinstance(arg, ast.Name) and arg.id in parsers:
                        owners.append(parsers[arg.id])
    return list(dict.fromkeys(owners))


def _walk_scope(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one scope, not those of the functions nested in it."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop(0)
        yield node
        if not isinstance(node, (*_SCOPE, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


# -- click and typer ------------------------------------------------------------------------------


def _click(tree: ast.Module) -> Iterator[tuple[str | None, str, ast.AST]]:
    """Options of click commands (decorators) and typer commands (parameters)."""
    typer_apps = _typer_apps(tree)
    commands = {app: 0 for app in typer_apps}
    functions = [n for n in ast.walk(tree) if isinstance(n, _SCOPE)]
    for function in functions:
        app = _command_of(function)
        if app is not None and app[0] in commands:
            commands[app[0]] += 1
    ran = {_strings_or_names(n.args[:1]) for n in ast.walk(tree) if isinstance(n, ast.Call)
           and isinstance(n.func, ast.Attribute) and n.func.attr == "run"
           and isinstance(n.func.value, ast.Name) and n.func.value.id == "typer"}
    for function in functions:
        command = _command_of(function)
        if command is None and function.name not in ran:
            continue
        subcommand = None
        if command is not None and command[0] != "click" and not (
                command[0] in commands and commands[command[0]] == 1):
            subcommand = command[1] or function.name.replace("_", "-")
        if command is None or command[0] in typer_apps:
            yield from ((subcommand, flag, node) for flag, node in _typer_options(function))
        else:
            yield from ((subcommand, flag, node) for flag, node in _click_options(function))


def _strings_or_names(args: list[ast.expr]) -> str:
    return next((a.id for a in args if isinstance(a, ast.Name)), "")


def _typer_apps(tree: ast.Module) -> set[str]:
    return {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Call) and call_name(n.value).endswith("Typer")
            for t in n.targets if isinstance(t, ast.Name)}


def _command_of(function: ast.FunctionDef | ast.AsyncFunctionDef
                ) -> tuple[str, str | None] | None:
    """(object, explicit name) of a `@X.command(...)` decorator; X "click" for click.command."""
    for decorator in function.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        func = call.func if call else decorator
        if isinstance(func, ast.Attribute) and func.attr == "command" and \
                isinstance(func.value, ast.Name):
            names = _strings(call.args[:1]) if call else []
            name = names[0] if names else None
            for keyword in call.keywords if call else ():
                if keyword.arg == "name":
                    name = next(iter(_strings([keyword.value])), name)
            return func.value.id, name
        if isinstance(func, ast.Name) and func.id == "command":
            return "click", None
    return None


def _click_options(function: ast.FunctionDef | ast.AsyncFunctionDef
                   ) -> Iterator[tuple[str, ast.AST]]:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and call_name(decorator) == "option":
            for flag in _strings(decorator.args):
                for part in flag.split("/"):  # "--debug/--no-debug"
                    if part.strip().startswith("-"):
                        yield part.strip(), decorator


def _typer_options(function: ast.FunctionDef | ast.AsyncFunctionDef
                   ) -> Iterator[tuple[str, ast.AST]]:
    """A parameter is an option named after it unless typer.Option gives its flags."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [*[None] * (len(positional) - len(args.defaults)),
                                       *args.defaults]
    for arg, default in [*zip(positional, defaults, strict=True),
                         *zip(args.kwonlyargs, args.kw_defaults, strict=True)]:
        option = _typer_option_call(default) or _typer_option_call(arg.annotation)
        if option is None and default is None:
            continue  # a typer argument (positional), not an option
        flags = [f for f in _strings(option.args) if f.startswith("-")] if option else []
        if not flags:
            flags = ["--" + arg.arg.replace("_", "-")]
        for flag in flags:
            yield flag, arg


def _typer_option_call(expr: ast.expr | None) -> ast.Call | None:
    if isinstance(expr, ast.Call) and call_name(expr) == "Option":
        return expr
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Tuple):  # Annotated[...]
        for element in expr.slice.elts:
            if isinstance(element, ast.Call) and call_name(element) == "Option":
                return element
    return None
