"""Secret-looking text: private keys, well-known token formats, `NAME=value` assignments.

Why shared: the same rules apply to a file in a layer (content.py), an ENV value or a
label (metadata.py) and a build step's command line in the history, and each place
must say the same thing about the same secret.

Why these rules and not more: every detector here has a shape that rarely occurs by
accident — an armour line *followed by base64* (libraries and docs carry the bare
armour strings), a token prefix plus the exact length of the format, a variable
whose *name* says it is a secret and whose value is a literal. Generic entropy
scanning would drown a real finding in noise from compiled code and test data.
Findings never repeat the secret itself: reports end up in CI logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.secretpatterns import URL_CREDENTIALS
from shipyard.secretpatterns import is_secret_name as is_secret_name  # one rule, re-exported

PRIVATE_KEY = re.compile(
    rb"-----BEGIN (?:OPENSSH |RSA |EC |DSA |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
    rb"\r?\n(?:[A-Za-z-]+: [^\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=]{40}"
)
"""The armour line, optional PEM headers (Proc-Type, ...), then a real base64 line."""
PUTTY_KEY = re.compile(rb"PuTTY-User-Key-File-\d: ")

_TOKENS: tuple[tuple[str, tuple[bytes, ...], re.Pattern[bytes]], ...] = (
    # (what, cheap literals to look for first, exact pattern)
    ("AWS access key id", (b"AKIA",),
     re.compile(rb"(?<![A-Z0-9])AKIA[A-Z2-7]{16}(?![A-Z0-9])")),
    ("GitHub token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
     re.compile(rb"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("GitHub token", (b"github_pat_",), re.compile(rb"github_pat_[A-Za-z0-9_]{82}")),
    ("GitLab token", (b"glpat-",), re.compile(rb"glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])")),
)
_PLACEHOLDER_TOKEN = re.compile(rb"EXAMPLE|XXXX|xxxx|0000000000")

_PLACEHOLDER_VALUES = {"", "none", "null", "false", "true", "0", "1", "-", "*", "unset",
                       "changeme-at-runtime", "<set-me>"}

ASSIGNMENT = re.compile(
    r"(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]*)=(\"[^\"]*\"|'[^']*'|[^\s\"']*)")
"""NAME=value as it appears in .env files, `ENV` lines and `RUN |N NAME=value` history."""

@dataclass(frozen=True)
class Hit:
    """One secret-looking thing; `what` is safe to print (never the secret)."""

    what: str

def is_elf(data: bytes) -> bool:
    """Compiled code: skipped by the content detectors because shared libraries embed test
    keys and tables that look like tokens (libgnutls carries a PEM private key, libunistring
    an 'AKIA…' Unicode name). A leaked deploy key is a text file, not an ELF section."""
    return data[:4] == b"\x7fELF"

def private_keys(data: bytes) -> list[Hit]:
    hits = []
    if b"-----BEGIN" in data:
        for match in PRIVATE_KEY.finditer(data):
            armour = match.group(0).split(b"\n", 1)[0].strip(b"-\r").decode()
            hits.append(Hit(armour.removeprefix("BEGIN ").lower()))
    if b"PuTTY-User-Key-File-" in data and PUTTY_KEY.search(data):
        hits.append(Hit("PuTTY private key"))
    return hits

def tokens(data: bytes) -> list[Hit]:
    hits = []
    for what, literals, pattern in _TOKENS:
        if not any(literal in data for literal in literals):
            continue
        for match in pattern.finditer(data):
            if not _PLACEHOLDER_TOKEN.search(match.group(0)):
                hits.append(Hit(f"{what} ({redact(match.group(0).decode())})"))
    return hits

def redact(secret: str) -> str:
    """The format's prefix and the length: enough to find it, not enough to use it."""
    prefix = re.match(r"[A-Za-z]+[_-]|AKIA", secret)
    shown = prefix.group(0) if prefix else secret[:2]
    return f"{shown}… {len(secret)} chars"

def is_literal_secret_value(value: str) -> bool:
    """A value that is really there (not empty, not a placeholder or a reference)."""
    text = value.strip().strip("\"'")
    if text.lower() in _PLACEHOLDER_VALUES:
        return False
    return not (text.startswith("$") or text.startswith("/run/secrets/"))

def assignment_secrets(text: str) -> list[Hit]:
    """Secret-named NAME=value pairs with literal values, e.g. in a .env file or a history
    line like `RUN |1 GITHUB_TOKEN=ghp_… /bin/sh -c …`."""
    hits = []
    for match in ASSIGNMENT.finditer(text):
        name, value = match.group(1), match.group(2)
        if is_secret_name(name) and is_literal_secret_value(value):
            hits.append(Hit(f"{name} has a literal value"))
    return hits

def url_credentials(text: str) -> list[Hit]:
    return [Hit("a URL with a password (scheme://user:password@host)")
            for match in URL_CREDENTIALS.finditer(text)
            if is_literal_secret_value(match.group(1))]

def text_secrets(text: str) -> list[Hit]:
    """Everything above that applies to a line of text (history, an ENV value, a label)."""
    blob = text.encode("utf-8", "surrogateescape")
    return [*private_keys(blob), *tokens(blob), *url_credentials(text)]
