"""YAML with line numbers (ruamel round-trip), for compose and CI files.

Why round-trip mode: it keeps each key's line, so a finding can point at the exact
`ports:` or `image:` line (and an inline `# shipyard: ignore=...` next to it works).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.errors import ParseError

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

# ruamel is imported when a YAML file is first parsed, not with the module: a `check` of a
# lone Dockerfile (a pre-commit hook) never pays for it. Until then no value can be one of
# its round-trip types, which is what key_line/item_line test for.


def load_yaml(text: str) -> Any:
    """Parse text; ParseError(message, line) when it is not valid YAML."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ParseError(f"invalid YAML: {problem}", line) from None
    except YAMLError as exc:
        raise ParseError(f"invalid YAML: {str(exc).splitlines()[0]}") from None


def key_line(mapping: Any, key: str) -> int | None:
    """1-based line of `key` in a round-trip mapping (None for plain dicts)."""
    from ruamel.yaml.comments import CommentedMap

    if isinstance(mapping, CommentedMap) and key in mapping:
        try:
            return int(mapping.lc.key(key)[0]) + 1
        except (KeyError, TypeError, AttributeError):
            return _merged_key_line(mapping, key)
    return None


def _merged_key_line(mapping: CommentedMap, key: str) -> int | None:
    """A key that came in through `<<: *anchor` is defined (and fixed) at the anchor:
    that is the line a finding about it points to."""
    from ruamel.yaml.comments import CommentedMap

    for source in getattr(mapping, "merge", None) or ():
        merged = source[1] if isinstance(source, tuple) else source
        if isinstance(merged, CommentedMap) and key in merged:
            return key_line(merged, key)
    return None


def item_line(seq: Any, index: int) -> int | None:
    from ruamel.yaml.comments import CommentedSeq

    if isinstance(seq, CommentedSeq):
        try:
            return int(seq.lc.item(index)[0]) + 1
        except (KeyError, TypeError, AttributeError):
            return None
    return None
