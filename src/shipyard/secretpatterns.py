"""What looks like a secret: variable names, file names, values. Shared by the Dockerfile,
compose, CI and image rules so they agree on one definition.

Why names and not entropy: in a Dockerfile or compose file the name is what gives a
secret away (`ARG NPM_TOKEN`), and a name-based rule is predictable — a team can read
why it fired. Names ending in _FILE/_PATH/_ID/... name *where* a secret is, not the
secret, and pass.
"""

from __future__ import annotations

import itertools
import re

# Words that make a variable or label name say "this holds a secret", alone (DB_PASSWORD,
# api-token) or as a pair (DJANGO_SECRET_KEY, AWS_ACCESS_KEY); a last word naming where or
# what kind the value is (SECRET_KEY_FILE, PASSWORD_HOST, TOKEN_TTL) says it is not one.
_SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY",
                           "CREDENTIAL", "CREDENTIALS", "PRIVATEKEY", "PAT"})
_SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"),
                           ("SECRET", "KEY"), ("AUTH", "KEY"), ("SIGNING", "KEY"),
                           ("ENCRYPTION", "KEY"), ("AUTH", "TOKEN")})
_NOT_A_VALUE = frozenset({"FILE", "PATH", "DIR", "FILENAME", "LENGTH", "TTL", "TIMEOUT",
                          "HEADER", "NAME", "ENV", "VAR", "TYPE", "ID", "EXPIRY", "URL", "HOST",
                          "USER", "USERNAME", "SOCK", "ENDPOINT", "ENABLED", "REQUIRED",
                          "MODE", "PREFIX"})
_SECRET_FILES = re.compile(
    r"(?:^|/)(\.env(?:\.[\w.-]+)?|id_rsa|id_dsa|id_ecdsa|id_ed25519|[\w.-]+\.pem|[\w.-]+\.key"
    r"|[\w.-]+\.p12|[\w.-]+\.pfx|\.npmrc|\.pypirc|\.netrc|\.git-credentials|\.ssh|\.aws"
    r"|\.docker/config\.json|credentials(?:\.json)?|secrets?\.(?:json|ya?ml|toml))/?$")


def url_credentials_pattern(not_in_parts: str = "") -> re.Pattern[str]:
    """scheme://user:password@ — the one statement of that shape; group 1 is the password.
    `not_in_parts` are characters neither part may hold (DF007 excludes `$`, so a variable
    reference is not taken for a literal credential)."""
    return re.compile(rf"[a-z][a-z0-9+.-]*://[^/\s:@{not_in_parts}]+:([^/\s@{not_in_parts}]+)@",
                      re.IGNORECASE)


URL_CREDENTIALS = url_credentials_pattern()
_TOKEN_VALUES = re.compile(
    r"(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[baprs]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----|sk-[A-Za-z0-9]{32,})")


def name_words(name: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]


def is_secret_name(name: str) -> bool:
    """True when a variable/label name says it holds a secret: NPM_TOKEN, DJANGO_SECRET_KEY,
    DB_PASSWORD, api-token; not GPG_KEY (a public fingerprint) nor SECRET_KEY_FILE. The one
    definition `check`, `test` and `init` share."""
    words = name_words(name)
    if not words or words[-1] in _NOT_A_VALUE:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def names_a_value(name: str) -> bool:
    """False for names whose last word says where or what kind the value is (…_FILE)."""
    words = name_words(name)
    return bool(words) and words[-1] not in _NOT_A_VALUE


_NOT_SECRET_VALUES = frozenset({"", "yes", "no", "true", "false", "on", "off", "0", "1", "none",
                                "null", "required", "optional", "changeme", "change-me"})


def is_harmless_value(value: str) -> bool:
    """A value under a secret-looking name that cannot be the secret: a switch
    (ALLOW_EMPTY_PASSWORD=yes), a reference to a mounted secret file (/run/secrets/db),
    or an interpolation left for run time (${DB_PASSWORD})."""
    text = value.strip()
    return (text.lower() in _NOT_SECRET_VALUES or text.startswith(("/run/secrets/", "$")))


def is_secret_file(path: str) -> bool:
    """True for .env, id_rsa, tls.key, .npmrc, ~/.aws ... (a path as written in COPY)."""
    return bool(_SECRET_FILES.search(path.rstrip("/")))


# Public material that shares a secret's file name: repository signing keys (`*.gpg.key`,
# apt's `Release.key`), certificates and Diffie-Hellman parameters in `.pem` files.
_PUBLIC_KEY_NAMES = re.compile(r"(?:^|/)(?:[\w.-]+\.gpg\.key|[\w.-]*release\.key|[\w.-]+\.asc"
                               r"|[\w.-]*dhparams?[\w.-]*\.pem)$", re.IGNORECASE)
_PRIVATE_MATERIAL = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File")
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")


def is_public_key_name(path: str) -> bool:
    return bool(_PUBLIC_KEY_NAMES.search(path.rstrip("/")))


def content_is_public(text: str) -> bool:
    """True when a key-named file holds only public material (certificates, public keys,
    DH parameters): PEM/PGP blocks and none of them private. Judging by content is what
    tells a CA certificate or a signing key from a private key of the same name."""
    return bool(_PEM_BLOCK.search(text)) and not _PRIVATE_MATERIAL.search(text)


def url_with_credentials(text: str) -> bool:
    return bool(URL_CREDENTIALS.search(text))


def looks_like_token(value: str) -> bool:
    """Well-known token formats (AWS, GitHub, GitLab, Slack, PEM keys)."""
    return bool(_TOKEN_VALUES.search(value))
