# Shared by scripts/test and scripts/demo: a project virtualenv that is only
# reinstalled when pyproject.toml changes.

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv 2>/dev/null; then
      echo "setup: python3-venv is missing, installing it" >&2
      rm -rf .venv
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      python3 -m venv .venv
    fi
  fi
  local stamp=.venv/.shipyard-installed want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing shipyard and its dev dependencies into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    echo "$want" > "$stamp"
  fi
}
