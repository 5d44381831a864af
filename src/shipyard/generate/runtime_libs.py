"""List the Debian packages whose shared libraries the virtualenv's compiled code needs.

`shipyard init` copies this file into the project as docker/runtime_libs.py; the
builder stage runs it after installing the dependencies (standard library only,
Python 3.8+), and the runtime stage installs exactly the packages it lists.

Why from the built files: an extension built from source links against whatever the
builder's headers pointed it at (psycopg2 → libpq.so.5), and only the file itself
says so reliably. Every ELF file under the virtualenv is read directly (the slim base
has no readelf): its DT_NEEDED entries, minus libraries the wheel bundles (found in
the virtualenv: $ORIGIN RPATHs, `*.libs/` directories) and those the runtime's base
image already has (its root is mounted at --base), are resolved through the loader's
cache (`ldconfig -p`) or the standard directories, and mapped to their packages with
`dpkg -S`. apt then brings each package's own dependencies.

Usage: runtime_libs.py [--base DIR] [--add PKG]... VENV [PREFIX]... OUTPUT
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_RPATH, DT_RUNPATH = 0, 1, 5, 15, 29
STANDARD_DIRS = ("lib", "lib64", "usr/lib", "usr/lib64", "usr/local/lib")


class ElfInfo:
    """What the dynamic loader reads from one ELF file."""

    def __init__(self, needed: list[str], search_paths: list[str]) -> None:
        self.needed = needed
        self.search_paths = search_paths  # DT_RPATH and DT_RUNPATH entries, unexpanded


def read_elf(path: Path) -> ElfInfo | None:
    """DT_NEEDED and RPATH/RUNPATH of an ELF file; None if it is not ELF or not dynamic."""
    with path.open("rb") as handle:
        ident = handle.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
            return None
        wide = ident[4] == 2
        order = "<" if ident[5] == 1 else ">"
        header = handle.read(48 if wide else 36)
        try:
            if wide:
                phoff, = struct.unpack_from(order + "Q", header, 16)
                phentsize, phnum = struct.unpack_from(order + "HH", header, 38)
            else:
                phoff, = struct.unpack_from(order + "I", header, 12)
                phentsize, phnum = struct.unpack_from(order + "HH", header, 26)
        except struct.error:
            return None
        loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
        dynamic: tuple[int, int] | None = None  # (offset, size)
        for index in range(phnum):
            handle.seek(phoff + index * phentsize)
            entry = handle.read(phentsize)
            try:
                if wide:
                    p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                        order + "IIQQQQ", entry)
                else:
                    p_type, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
                        order + "IIIII", entry)
            except struct.error:
                return None
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_filesz, p_offset))
            elif p_type == PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            return None
        handle.seek(dynamic[0])
        table = handle.read(dynamic[1])
        entry_format = order + ("qQ" if wide else "iI")
        size = struct.calcsize(entry_format)
        entries: list[tuple[int, int]] = []
        for offset in range(0, len(table) - size + 1, size):
            tag, value = struct.unpack_from(entry_format, table, offset)
            if tag == DT_NULL:
                break
            entries.append((tag, value))
        strtab = next((v for t, v in entries if t == DT_STRTAB), None)
        if strtab is None:
            return None
        base = next((off + strtab - vaddr for vaddr, filesz, off in loads
                     if vaddr <= strtab < vaddr + filesz), None)
        if base is None:
            return None

        def string(at: int) -> str:
            handle.seek(base + at)
            data = b""
            while b"\0" not in data:
                chunk = handle.read(256)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\0", 1)[0].decode("utf-8", "replace")

        needed = [string(v) for t, v in entries if t == DT_NEEDED]
        paths = [p for t, v in entries if t in (DT_RPATH, DT_RUNPATH)
                 for p in string(v).split(":") if p]
        return ElfInfo(needed, paths)


def elf_files(root: Path) -> list[Path]:
    """Regular files under root that start with the ELF magic (extensions, bundled
    libraries, compiled executables such as uwsgi)."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return sorted(found)


def library_dirs(root: Path) -> list[Path]:
    """The loader's directories under root: standard ones, multiarch ones, ld.so.conf.d."""
    dirs = []
    for rel in STANDARD_DIRS:
        path = root / rel
        if path.is_dir():
            dirs.append(path)
            dirs += sorted(d for d in path.iterdir() if "-linux-gnu" in d.name and d.is_dir())
    conf_dir = root / "etc/ld.so.conf.d"
    if conf_dir.is_dir():
        for conf in sorted(conf_dir.iterdir()):
            for line in conf.read_text(encoding="utf-8", errors="replace").splitlines():
                entry = line.split("#", 1)[0].strip()
                if entry.startswith("/"):
                    dirs.append(root / entry.lstrip("/"))
    return dirs


def bundled(name: str, elf_path: Path, info: ElfInfo, venv_names: set[str]) -> bool:
    """Whether the library comes with the virtualenv itself (the wheel bundles it)."""
    if name in venv_names:
        return True
    origin = str(elf_path.parent)
    for entry in info.search_paths:
        candidate = entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
        if (Path(candidate) / name).exists():
            return True
    return False


def loader_cache() -> dict[str, str]:
    """soname → path from `ldconfig -p` (empty when ldconfig is missing)."""
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True,
                                 check=False).stdout
        except OSError:
            continue
        cache: dict[str, str] = {}
        for line in out.splitlines()[1:]:
            name, _, path = line.strip().partition(" => ")
            cache.setdefault(name.split(" (", 1)[0], path.strip())
        return cache
    return {}


def resolve(name: str, cache: dict[str, str], dirs: list[Path]) -> str | None:
    """Where the builder's loader finds name: its cache first, then the standard dirs."""
    if name in cache:
        return cache[name]
    for directory in dirs:
        if (directory / name).exists():
            return str(directory / name)
    return None


def path_variants(path: str) -> list[str]:
    """The path as dpkg may have recorded it: as found, resolved, and across the
    /lib ↔ /usr/lib merge."""
    variants = [path, os.path.realpath(path)]
    for item in list(variants):
        if item.startswith("/usr/"):
            variants.append(item[len("/usr"):])
        else:
            variants.append("/usr" + item)
    return list(dict.fromkeys(variants))


def owners(paths: list[str]) -> dict[str, str]:
    """path → Debian package (without the :arch qualifier), from `dpkg -S`."""
    if not paths:
        return {}
    try:
        out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        return {}
    found: dict[str, str] = {}
    for line in out.splitlines():
        packages, sep, path = line.partition(": ")
        if sep and not packages.startswith("diversion by"):
            found[path.strip()] = packages.split(",")[0].strip().split(":")[0]
    return found


def runtime_packages(venv: Path, base: Path | None) -> tuple[list[str], list[str]]:
    """(packages, problems) for everything the ELF files under venv need."""
    files = elf_files(venv)
    venv_names = {n for _, _, names in os.walk(venv) for n in names}
    base_dirs = library_dirs(base) if base else []
    needs: dict[str, list[str]] = {}  # soname → files that need it
    for path in files:
        info = read_elf(path)
        if info is None:
            continue
        for name in info.needed:
            if bundled(name, path, info, venv_names):
                continue
            if any(os.path.lexists(d / name) for d in base_dirs):
                continue
            needs.setdefault(name, []).append(str(path.relative_to(venv)))
    cache, dirs = loader_cache(), library_dirs(Path("/"))
    located = {name: resolve(name, cache, dirs) for name in needs}
    owner = owners([v for p in located.values() if p for v in path_variants(p)])
    packages: list[str] = []
    problems: list[str] = []
    for name, found in sorted(located.items()):
        users = ", ".join(needs[name][:3])
        package = None
        if found:
            package = next((owner[v] for v in path_variants(found) if v in owner), None)
        if package:
            packages.append(package)
            print(f"runtime_libs: {name} -> {package} (needed by {users})")
        elif found:
            problems.append(f"{name} ({found}, needed by {users}) belongs to no Debian package")
        else:
            problems.append(f"{name} (needed by {users}) is not in the builder")
    return sorted(set(packages)), problems


def main(argv: list[str]) -> int:
    base: str | None = None
    added: list[str] = []
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--base":
            base = next(args, None)
        elif arg == "--add":
            added.append(next(args, ""))
        else:
            rest.append(arg)
    if len(rest) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    *roots, output = rest
    packages: list[str] = []
    problems: list[str] = []
    for root in roots:  # the venv, and in package mode the project's own prefix
        found, trouble = runtime_packages(Path(root), Path(base) if base else None)
        packages += found
        problems += trouble
    for problem in problems:
        print(f"runtime_libs: warning: {problem}; add the package that provides it to"
              " [tool.shipyard] runtime_packages", file=sys.stderr)
    wanted = sorted(set(packages) | {p for p in added if p})
    Path(output).write_text("".join(f"{p}\n" for p in wanted), encoding="utf-8")
    print(f"runtime_libs: {len(wanted)} runtime package(s): {' '.join(wanted) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
