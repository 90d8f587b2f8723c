#!/usr/bin/env python3
"""The tree's two structural rules, checked on the sources (tests/build, suite 'build').

1. Layers point one way: collector <- exporter <- service. A file of a layer includes
   nothing from a layer above it (and product code nothing from tests/).
2. Platform files are named for their platform: only *_win.c / *_win.h include Windows
   headers (anywhere in the tree, tests included), and in the product code (collector/,
   exporter/, service/) only *_posix.c include POSIX-only headers. <pthread.h> and
   <sched.h> are the portable thread layer (winpthreads on Windows) and allowed everywhere.

Usage: check_layers.py SOURCE_ROOT      check the tree; exit 1 with one line per violation
       check_layers.py --self-test      prove on made-up trees that each rule can fail
"""
import os
import re
import sys
import tempfile

LAYERS = {"collector": 0, "exporter": 1, "service": 2}
PRODUCT = tuple(LAYERS)
SCANNED = PRODUCT + ("tests",)

WINDOWS_HEADERS = {
    "windows.h", "winsock2.h", "ws2tcpip.h", "evntrace.h", "evntcons.h", "shellapi.h",
    "io.h", "iphlpapi.h", "winsvc.h", "tlhelp32.h", "psapi.h", "wincrypt.h", "bcrypt.h",
    "objbase.h", "shlobj.h", "tdh.h", "wmistr.h", "winternl.h", "process.h", "direct.h",
}
WINDOWS_PATTERN = re.compile(r"^(win[a-z0-9]*|ws2[a-z0-9]*|mswsock|ntstatus)\.h$", re.I)
POSIX_HEADERS = {
    "unistd.h", "fcntl.h", "poll.h", "netdb.h", "dirent.h", "dlfcn.h", "termios.h", "pwd.h",
    "grp.h", "syslog.h", "spawn.h", "libgen.h", "glob.h", "fnmatch.h", "sys/",
    "netinet/", "arpa/", "net/",
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def is_posix_header(name):
    return name in POSIX_HEADERS or any(name.startswith(p) for p in POSIX_HEADERS if p.endswith("/"))


def is_windows_header(name):
    return name.lower() in WINDOWS_HEADERS or bool(WINDOWS_PATTERN.match(name))


def top_folder(root, path):
    rel = os.path.relpath(path, root)
    return rel.split(os.sep)[0] if not rel.startswith("..") else None


def resolve(root, source, name):
    """The file a quoted include names: beside the source, else in a layer's folder (the
    include directories meson gives through the layers' dependencies). None: generated."""
    here = os.path.normpath(os.path.join(os.path.dirname(source), name))
    if os.path.isfile(here):
        return here
    for layer in PRODUCT:
        candidate = os.path.normpath(os.path.join(root, layer, name))
        if os.path.isfile(candidate):
            return candidate
    return None


def sources(root):
    for folder in SCANNED:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for f in sorted(filenames):
                if f.endswith((".c", ".h")):
                    yield os.path.join(dirpath, f)


def check(root):
    problems = []
    for path in sources(root):
        rel = os.path.relpath(path, root)
        folder = rel.split(os.sep)[0]
        base = os.path.basename(path)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        for number, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            where = f"{rel}:{number}"
            if kind == '"' and folder in LAYERS:
                target = resolve(root, path, name)
                target_folder = top_folder(root, target) if target else None
                if target_folder == "tests":
                    problems.append(f"{where}: product code includes a test header \"{name}\"")
                elif target_folder in LAYERS and LAYERS[target_folder] > LAYERS[folder]:
                    problems.append(f"{where}: {folder}/ includes \"{name}\" from "
                                    f"{target_folder}/, a layer above it")
            if kind == "<" and is_windows_header(name) and not re.search(r"_win\.[ch]$", base):
                problems.append(f"{where}: <{name}> is a Windows header; only *_win.c and "
                                f"*_win.h files include those")
            if (kind == "<" and folder in LAYERS and is_posix_header(name)
                    and not base.endswith("_posix.c")):
                problems.append(f"{where}: <{name}> is POSIX-only; in collector/, exporter/ "
                                f"and service/ only *_posix.c files include those")
    return problems


def self_test():
    cases = [
        ("collector/a.c", '#include "../service/log.h"\n', "service/log.h", "a layer above"),
        ("collector/a.c", '#include "http_server.h"\n', "exporter/http_server.h", "a layer above"),
        ("exporter/a.c", '#include "../service/config.h"\n', "service/config.h", "a layer above"),
        ("service/a.c", '#include "../tests/common/payload.h"\n', "tests/common/payload.h",
         "test header"),
        ("service/a.c", "#include <windows.h>\n", None, "Windows header"),
        ("tests/x/a.c", "#include <winsock2.h>\n", None, "Windows header"),
        ("collector/a_win.h", "#include <unistd.h>\n", None, "POSIX-only"),
        ("exporter/a.c", "#include <sys/socket.h>\n", None, "POSIX-only"),
    ]
    allowed = [
        ("service/a.c", '#include "../collector/decode.h"\n', "collector/decode.h"),
        ("exporter/a_win.c", "#include <winsock2.h>\n", None),
        ("service/a_posix.c", "#include <unistd.h>\n#include <poll.h>\n", None),
        ("collector/a.c", "#include <pthread.h>\n#include <sched.h>\n#include \"version.h\"\n", None),
        ("tests/x/a.c", "#include <unistd.h>\n", None),
    ]
    failures = 0
    for i, case in enumerate(cases + [(p, t, h, None) for p, t, h in allowed]):
        path, text, header, expected = case
        with tempfile.TemporaryDirectory() as root:
            for rel, content in ((path, text), (header, "")):
                if rel is None:
                    continue
                full = os.path.join(root, rel)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w") as f:
                    f.write(content)
            problems = check(root)
            if expected is None and problems:
                print(f"self-test {i}: {path} should pass, got: {problems}")
                failures += 1
            elif expected is not None and not any(expected in p for p in problems):
                print(f"self-test {i}: {path} with {text.strip()!r} not caught ({problems})")
                failures += 1
    print(f"self-test: {len(cases) + len(allowed) - failures} of {len(cases) + len(allowed)} cases right")
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    problems = check(argv[1])
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} violation(s); see HACKING.md (layers, platform files)")
        return 1
    print("check_layers: layers point one way; platform headers only in platform files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
