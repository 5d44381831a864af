"""Just enough shell to read RUN lines and entrypoint scripts: simple commands as argv lists.

Why not a full shell parser: the rules ask narrow questions ("which packages does this
apt-get install?", "is the last command an exec?"), and a tokenizer that splits on
`&&`, `||`, `;`, `|`, `&` and newlines answers them. Unbalanced quotes fall back to
whitespace splitting rather than failing: a check must not crash on odd shell.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", ";;", "(", ")", "|&"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
_WRAPPERS = frozenset({"sudo", "env", "nohup", "time", "command", "builtin", "xargs"})


@dataclass(frozen=True)
class Command:
    """One simple command: argv without leading VAR=x assignments; `line` is 1-based
    within the script; `background` when it ended with a lone `&`; `piped_to` when its
    output goes into the next command."""

    argv: tuple[str, ...]
    line: int
    background: bool = False
    piped: bool = False

    @property
    def name(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""


def logical_lines(script: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, comments and blanks dropped."""
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(script.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        out.append((start, buffer))
        buffer = ""
    if buffer.strip():
        out.append((start, buffer))
    return out


_FD_REDIRECT = re.compile(r"\d*>&(?:\d+|-)|\d*<&(?:\d+|-)")
_AMP_REDIRECT = re.compile(r"&>>?")


_SUBSTITUTION = re.compile(r"\$\([^()]*\)|`[^`]*`")


# `find … \( -name x \) -exec cmd {} ';'`: quoted or escaped `;` and parentheses are
# find's arguments, not shell separators.
_FIND_TERMINATOR = re.compile(r"""'[;+]'|"[;+]"|\\;|\\[()]|'[()]'""")


def _tokens(text: str) -> list[str]:
    # $(...) and `...` stand for one word here; their inside is not a command of this line
    text = _SUBSTITUTION.sub("$SUBST", text)
    text = _FIND_TERMINATOR.sub(" END_OF_EXEC ", text)
    text = _AMP_REDIRECT.sub(" > ", _FD_REDIRECT.sub(" ", text))
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes
        return text.replace(";", " ; ").replace("&&", " && ").split()


def commands(script: str) -> list[Command]:
    """Every simple command in script, in order. Inside `case WORD in a|b) ...;; esac`
    the `|` between patterns is alternation, not a pipe, and the patterns are no command."""
    out: list[Command] = []
    in_patterns = False  # between `in` (or `;;`) and the `)` that ends a case pattern
    for number, text in logical_lines(script):
        current: list[str] = []
        for part in [*_tokens(text), ";"]:
            if in_patterns:
                in_patterns = part not in (")", "esac")
                continue
            if current[:1] == ["case"] and part == "in":
                in_patterns, current = True, []
                continue
            if part in (";;", ";&", ";;&"):
                argv = _strip(current)
                if argv:
                    out.append(Command(tuple(argv), number))
                in_patterns, current = True, []
                continue
            if part in _SEPARATORS:
                argv = _strip(current)
                if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in _SHELLS and argv[1] == "-c":
                    out += [Command(c.argv, number, c.background, c.piped)
                            for c in commands(argv[2])]
                elif argv:
                    out.append(Command(tuple(argv), number, background=part == "&",
                                       piped=part in ("|", "|&")))
                current = []
            else:
                current.append(part)
    return out


def _strip(argv: list[str]) -> list[str]:
    """Drop leading assignments and wrapper commands (sudo, env, nohup ...)."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if _ASSIGNMENT.match(word) or word in ("!", "then", "do", "else", "{", "elif", "if",
                                                "while", "until"):
            index += 1
        elif word.rsplit("/", 1)[-1] in _WRAPPERS and index + 1 < len(argv):
            index += 1
            while index < len(argv) and argv[index].startswith("-"):
                index += 1
        else:
            break
    return argv[index:]


# -- package managers ----------------------------------------------------------------------------

_INSTALLERS: dict[str, tuple[str, ...]] = {
    "apt-get": ("install",), "apt": ("install",), "apk": ("add",), "yum": ("install",),
    "dnf": ("install",), "microdnf": ("install",), "zypper": ("install", "in"),
}
_REMOVERS: dict[str, tuple[str, ...]] = {
    "apt-get": ("purge", "remove", "autoremove"), "apt": ("purge", "remove"),
    "apk": ("del",), "yum": ("remove", "erase"), "dnf": ("remove",), "microdnf": ("remove",),
}
_VALUE_OPTIONS = frozenset({"-t", "--target-release", "-o", "--virtual", "-X", "--repository",
                            "-c", "--setopt", "--enablerepo", "--disablerepo"})


def os_packages(command: Command, verbs: dict[str, tuple[str, ...]] = _INSTALLERS) -> list[str]:
    """Package names an OS package manager command installs (or removes, with _REMOVERS)."""
    argv = command.argv
    if command.name not in verbs or len(argv) < 2:
        return []
    words = [w for w in argv[1:]]
    verb_index = next((i for i, w in enumerate(words) if not w.startswith("-")), None)
    if verb_index is None or words[verb_index] not in verbs[command.name]:
        return []
    names: list[str] = []
    skip = False
    for word in words[verb_index + 1:]:
        if skip:
            skip = False
            if command.name == "apk" and words[verb_index] == "add" and word.startswith("."):
                names.append(word)  # a --virtual group name, deleted later by `apk del`
            continue
        if word in _VALUE_OPTIONS:
            skip = True
            continue
        if word.startswith("-"):
            continue
        names.append(re.split(r"[=<>~]", word, maxsplit=1)[0])
    return names


def removed_packages(command: Command) -> list[str]:
    return os_packages(command, _REMOVERS)


def pip_install_args(command: Command) -> list[str] | None:
    """The arguments after `pip install`/`pip wheel` (also `python -m pip`, `uv pip`, `pip3`)."""
    argv = list(command.argv)
    name = command.name
    if name.startswith("python") and argv[1:3] == ["-m", "pip"]:
        argv = argv[2:]
    elif name == "uv" and argv[1:2] == ["pip"]:
        argv = argv[1:]
    elif not re.fullmatch(r"pip[0-9.]*", name):
        return None
    if len(argv) < 2 or argv[1] not in ("install", "wheel"):  # `pip wheel` resolves the same
        return None
    return argv[2:]
