#!/usr/bin/python3
"""check_readme_map.py: the README's layout is a true map of the tree.

The README's "## Layout" section holds one code block; each line there
starting with a directory (`store/`) lists, after it, every source file of
that directory by its stem (`db` for db.c and db.h), and continuation
lines (starting with spaces) add to the directory above.  Words in
parentheses are comments.  This script fails when a .c or .h file of a
listed directory is missing from the map, or the map names a stem that no
file has, or a code directory is not in the map at all.

    check_readme_map.py [ROOT]
"""

import os
import re
import sys

CODE_DIRS = ["lib", "store", "gateway", "reports", "bridges", "bridges/email",
             "bridges/xmpp", "cli", "tests/unit", "tests/fuzz", "tests/lint",
             "bench"]
SOURCE = (".c", ".h", ".py", ".sh", ".sql")


def layout_block(text):
    sec = text.split("\n## Layout", 1)
    if len(sec) < 2:
        return None
    m = re.search(r"```\n(.*?)```", sec[1], re.S)
    return m.group(1) if m else None


def parse(block):
    listed = {}
    current = None
    # comments in parentheses may span lines: blank them, keep the lines
    block = re.sub(r"\([^)]*\)", lambda m: re.sub(r"[^\n]", " ", m.group(0)),
                   block)
    for line in block.splitlines():
        if not line.strip():
            continue
        body = line
        if not line.startswith(" "):
            first, _, rest = body.partition(" ")
            current = first.rstrip("/")
            listed.setdefault(current, set())
            body = rest
        if current is None:
            continue
        for word in re.findall(r"[A-Za-z0-9_.\-]+", body):
            listed[current].add(word.rstrip(".,;:"))
    return listed


def stems(root, d):
    out = set()
    for f in os.listdir(os.path.join(root, d)):
        p = os.path.join(root, d, f)
        if os.path.isfile(p) and f.endswith(SOURCE):
            out.add(f.rsplit(".", 1)[0])
    return out


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    block = layout_block(open(os.path.join(root, "README.md")).read())
    if block is None:
        print("README.md: no code block under ## Layout", file=sys.stderr)
        return 1
    listed = parse(block)
    bad = []
    for d in CODE_DIRS:
        if not os.path.isdir(os.path.join(root, d)):
            continue
        if d not in listed:
            bad.append(f"README.md: Layout: directory {d}/ is not on the map")
            continue
        have = stems(root, d)
        for s in sorted(have - listed[d]):
            bad.append(f"README.md: Layout: {d}/{s}.* exists but is not on the map")
        for s in sorted(listed[d] - have):
            bad.append(f"README.md: Layout: {d}/: names {s}, but no such file")
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
