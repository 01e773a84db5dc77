#!/usr/bin/python3
"""check_layers.py: the dependency rule of coopgate's layers, checked.

Every `#include "..."` of a C file under lib/, store/, gateway/, reports/,
bridges/ and cli/ must point at the same layer or one below it:

    lib/  <-  store/  <-  reports/  <-  gateway/  <-  bridges/  <-  cli/

- lib/       the base: buffers, strings, time, log, names.  Includes lib/ only.
- store/     SQLite and the SchutzBox.  Includes lib/ and store/.
- reports/   documents and figures from the store, knowing no network:
             lib/, store/, reports/.
- gateway/   decisions: lib/, store/, reports/, gateway/, and of the bridges
             only the interface bridges/bridge.h.
- bridges/   lib/, store/, reports/, gateway/, bridges/bridge.h, and its own
             directory: bridges/email/ never includes bridges/xmpp/ and back.
- cli/       the composition root: may include anything.

    check_layers.py [ROOT]     check the tree at ROOT (default: this repo)
    check_layers.py --self-test  plant violations in a temporary copy and
                               show that each one is caught

Exit 0 when the rule holds, 1 with one line `FILE:LINE: ...` per violation.
"""

import os
import re
import shutil
import sys
import tempfile

LAYERS = ["lib", "store", "reports", "gateway", "bridges", "cli"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def allowed(src, target):
    """Whether file src (repo-relative) may include target."""
    top = src.split("/")[0]
    ttop = target.split("/")[0]
    if top == "cli":
        return True
    if ttop not in LAYERS:
        return False  # a quoted include must name a layer's directory
    if top == "bridges":
        if target == "bridges/bridge.h":
            return True
        if ttop == "bridges":
            return target.split("/")[1] == src.split("/")[1]
        return LAYERS.index(ttop) < LAYERS.index("bridges")
    if top == "gateway" and target == "bridges/bridge.h":
        return True
    return LAYERS.index(ttop) <= LAYERS.index(top)


def violations(root):
    out = []
    for top in LAYERS:
        base = os.path.join(root, top)
        for dirpath, _, files in os.walk(base):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if m and not allowed(rel, m.group(1)):
                            out.append(f"{rel}:{n}: includes \"{m.group(1)}\": "
                                       f"breaks the layer rule (see README, Layers)")
    return out


def self_test():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    plants = [
        ("store/db.c", '#include "gateway/config.h"\n'),
        ("lib/util.c", '#include "store/store.h"\n'),
        ("gateway/pipeline.c", '#include "bridges/email/mime.h"\n'),
        ("reports/x.c", '#include "bridges/bridge.h"\n'),
        ("bridges/email/bridge.c", '#include "bridges/xmpp/xmpp.h"\n'),
        ("store/box.c", '#include "cli/cli.h"\n'),
    ]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for top in LAYERS:
            if os.path.isdir(os.path.join(root, top)):
                shutil.copytree(os.path.join(root, top), os.path.join(tmp, top))
        clean = violations(tmp)
        if clean:
            print("self-test: the tree itself breaks the rule:", *clean, sep="\n  ")
            return 1
        for rel, line in plants:
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            old = open(path).read() if os.path.exists(path) else None
            with open(path, "w") as fh:
                fh.write(line + (old or ""))
            found = [v for v in violations(tmp) if v.startswith(rel + ":1:")]
            if not found:
                print(f"self-test: planted {line.strip()} in {rel}: NOT caught")
                failed = 1
            if old is None:
                os.remove(path)
            else:
                with open(path, "w") as fh:
                    fh.write(old)
        # Allowed includes stay allowed.
        for rel, target in [("gateway/pipeline.c", "bridges/bridge.h"),
                            ("bridges/xmpp/muc.c", "gateway/gateway.h"),
                            ("cli/main.c", "bridges/email/mime.h"),
                            ("store/db.c", "lib/log.h")]:
            if not allowed(rel, target):
                print(f"self-test: {rel} -> {target} refused but allowed")
                failed = 1
    print("check_layers self-test:", "failed" if failed else f"{len(plants)} planted violations caught")
    return failed


def main(argv):
    if argv[1:2] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    v = violations(root)
    for line in v:
        print(line, file=sys.stderr)
    return 1 if v else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
