#!/usr/bin/env python3
"""The flags and exit codes the program prints agree with what the docs say.

From `tcpip_exporter --help`: every flag, its value placeholder, its default
("[default: X]"), and the exit codes. From service/README.md: the flag table (header
`| Flag | Default | Meaning |`, first cell `--name PLACEHOLDER` in backticks, second the
default in backticks or `none`) and the exit-code table (`| Code | Meaning |`). Fails,
naming each difference, when a flag printed by --help is not documented, a documented flag
does not exist, a default or placeholder differs, an exit code is missing or extra, or any
Markdown file of the tree mentions an option (--web.*, --collector.*, --session.*, --log.*,
--config.*) that does not exist.

Usage: check_docs.py TCPIP_EXPORTER SOURCE_ROOT
       check_docs.py --self-test
"""
import os
import re
import subprocess
import sys

FLAG_ROW = re.compile(r"^\|\s*`--([a-z][a-z0-9.-]*)(?: ([A-Z]+))?`\s*\|\s*([^|]*?)\s*\|")
CODE_ROW = re.compile(r"^\|\s*(\d+)\s*\|")
NAMESPACED = re.compile(r"--((?:web|collector|session|log|config)\.[a-z0-9-]+(?:\.[a-z0-9-]+)*)")


def parse_help(text):
    """{name: (placeholder or None, default or None)} and [exit codes]."""
    flags, codes, current, section = {}, [], None, None
    for line in text.splitlines():
        if line.startswith("Flags:"):
            section = "flags"
            continue
        if line.startswith("Exit codes:"):
            section, current = "codes", None
            continue
        if not line.strip():
            if section == "codes":
                section = None
            continue
        if section == "flags":
            m = re.match(r"^  --([a-z][a-z0-9.-]*)(?: ([A-Z]+))?(?:\s{2,}(.*))?$", line)
            if m:
                current = m.group(1)
                flags[current] = [m.group(2), m.group(3) or ""]
            elif current is not None and line.startswith(" "):
                flags[current][1] += " " + line.strip()
        elif section == "codes":
            m = re.match(r"^\s+(\d+)\s+\S", line)
            if m:
                codes.append(int(m.group(1)))
    result = {}
    for name, (placeholder, help_text) in flags.items():
        d = re.search(r"\[default: (.*?)\]\s*$", help_text.strip())
        result[name] = (placeholder, d.group(1) if d else None)
    return result, codes


def parse_docs(text):
    flags, codes, table = {}, [], None
    for line in text.splitlines():
        header = [c.strip().lower() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and header[:3] == ["flag", "default", "meaning"]:
            table = "flags"
            continue
        if line.startswith("|") and header[:2] == ["code", "meaning"]:
            table = "codes"
            continue
        if not line.startswith("|"):
            table = None
            continue
        if table == "flags":
            m = FLAG_ROW.match(line)
            if m:
                cell = m.group(3)
                d = re.fullmatch(r"`([^`]*)`", cell)
                default = d.group(1) if d else (None if cell == "none" else "?" + cell)
                if m.group(1) in flags:
                    default = "?documented twice"
                flags[m.group(1)] = (m.group(2), default)
        elif table == "codes":
            m = CODE_ROW.match(line)
            if m:
                codes.append(int(m.group(1)))
    return flags, codes


def compare(help_flags, help_codes, doc_flags, doc_codes, mentions):
    problems = []
    if not help_flags:
        problems.append("--help printed no flags")
    for name, (placeholder, default) in help_flags.items():
        if name not in doc_flags:
            problems.append(f"--{name}: printed by --help, missing from the flag table of "
                            "service/README.md")
            continue
        doc_placeholder, doc_default = doc_flags[name]
        if doc_placeholder != placeholder:
            problems.append(f"--{name}: --help shows value {placeholder}, the docs {doc_placeholder}")
        if doc_default != default:
            problems.append(f"--{name}: default is {default!r} in --help, "
                            f"{doc_default!r} in service/README.md")
    for name in doc_flags:
        if name not in help_flags:
            problems.append(f"--{name}: documented in service/README.md but no such flag")
    if not help_codes:
        problems.append("--help printed no exit codes")
    if sorted(doc_codes) != sorted(help_codes):
        problems.append(f"exit codes: --help has {sorted(help_codes)}, service/README.md "
                        f"{sorted(doc_codes)}")
    for where, name in mentions:
        if name not in help_flags:
            problems.append(f"{where}: mentions --{name}, which does not exist")
    return problems


def markdown_mentions(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "build"
                       and not d.startswith("build")]
        for f in filenames:
            if not f.endswith(".md"):
                continue
            path = os.path.join(dirpath, f)
            with open(path, encoding="utf-8") as fh:
                for number, line in enumerate(fh, 1):
                    for name in NAMESPACED.findall(line):
                        found.append((f"{os.path.relpath(path, root)}:{number}", name))
    return found


def self_test():
    help_text = ("Flags:\n  --a.b N       Some text. [default:\n                 16]\n"
                 "  --on          A switch. [default: false]\n  --help        Help.\n\n"
                 "Exit codes:\n  0  fine\n  2  bad\n")
    good = ("| Flag | Default | Meaning |\n|---|---|---|\n| `--a.b N` | `16` | x |\n"
            "| `--on` | `false` | y |\n| `--help` | none | z |\n\n"
            "| Code | Meaning |\n|---|---|\n| 0 | fine |\n| 2 | bad |\n")
    hf, hc = parse_help(help_text)
    cases = [
        ("agreeing docs", good, [], True),
        ("wrong default", good.replace("`16`", "`32`"), [], False),
        ("undocumented flag", good.replace("| `--on` | `false` | y |\n", ""), [], False),
        ("flag that does not exist", good + "", [("x.md:1", "web.nothing")], False),
        ("documented twice", good.replace("| `--help` | none | z |",
                                          "| `--help` | none | z |\n| `--on` | `false` | y |"),
         [], False),
        ("missing exit code", good.replace("| 2 | bad |\n", ""), [], False),
        ("wrong placeholder", good.replace("`--a.b N`", "`--a.b COUNT`"), [], False),
    ]
    failures = 0
    for name, docs, mentions, should_pass in cases:
        df, dc = parse_docs(docs)
        problems = compare(hf, hc, df, dc, mentions)
        if bool(problems) == should_pass:
            print(f"self-test '{name}': expected {'pass' if should_pass else 'failure'}, "
                  f"got {problems}")
            failures += 1
    print(f"self-test: {len(cases) - failures} of {len(cases)} cases right")
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    exe, root = argv[1], argv[2]
    run = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        print(f"check_docs: {exe} --help exited {run.returncode}: {run.stderr.strip()}")
        return 1
    help_flags, help_codes = parse_help(run.stdout)
    docs = os.path.join(root, "service", "README.md")
    if not os.path.isfile(docs):
        print(f"check_docs: {docs} is missing: it documents every flag and exit code")
        return 1
    with open(docs, encoding="utf-8") as f:
        doc_flags, doc_codes = parse_docs(f.read())
    problems = compare(help_flags, help_codes, doc_flags, doc_codes, markdown_mentions(root))
    for p in problems:
        print(p)
    if problems:
        print(f"check_docs: {len(problems)} difference(s) between --help and the docs")
        return 1
    print(f"check_docs: {len(help_flags)} flags and {len(help_codes)} exit codes documented "
          "as --help prints them")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
