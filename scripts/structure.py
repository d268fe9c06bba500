#!/usr/bin/env python3
"""Structure report: lines of the binary, the largest files, the longest functions, and the import
cycles between the modules of each crate (`use crate::a` inside module b and back). Exit 1 on a cycle.

Usage: python3 scripts/structure.py [repo root]
"""

import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
SOURCE_DIRS = ["crates", "bin"]


def rust_files():
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            if "/target" in dirpath:
                continue
            for name in names:
                if name.endswith(".rs"):
                    yield os.path.join(dirpath, name)


def rel(path):
    return os.path.relpath(path, ROOT)


def lines_of(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


def function_lengths(path):
    """(length, name) of each `fn`, measured from its line to the matching closing brace."""
    text = lines_of(path)
    found = []
    for start, line in enumerate(text):
        match = re.match(r"\s*(pub(\([^)]*\))?\s+)?(async\s+)?fn\s+(\w+)", line)
        if not match:
            continue
        depth, opened = 0, False
        for end in range(start, len(text)):
            depth += text[end].count("{") - text[end].count("}")
            opened = opened or "{" in text[end]
            if opened and depth <= 0:
                found.append((end - start + 1, f"{rel(path)}:{start + 1} {match.group(4)}"))
                break
            if not opened and text[end].rstrip().endswith(";"):
                break
    return found


def module_of(crate_src, path):
    """Top-level module a source file belongs to (`lib` for lib.rs/main.rs)."""
    inner = os.path.relpath(path, crate_src)
    first = inner.split(os.sep)[0]
    if first in ("lib.rs", "main.rs"):
        return "lib"
    return first[:-3] if first.endswith(".rs") else first


def cycles():
    found = []
    for top in SOURCE_DIRS:
        for crate in sorted(os.listdir(os.path.join(ROOT, top))):
            src = os.path.join(ROOT, top, crate, "src")
            if not os.path.isdir(src):
                continue
            edges = {}
            for dirpath, _, names in os.walk(src):
                for name in names:
                    if not name.endswith(".rs"):
                        continue
                    path = os.path.join(dirpath, name)
                    here = module_of(src, path)
                    if here == "lib":
                        continue
                    for line in lines_of(path):
                        line = line.split("//")[0]
                        for target in re.findall(r"\bcrate::(\w+)", line):
                            is_module = os.path.exists(os.path.join(src, target + ".rs")) or os.path.isdir(os.path.join(src, target))
                            if target != here and is_module:
                                edges.setdefault(here, set()).add(target)
            for a, targets in edges.items():
                for b in targets:
                    if a < b and a in edges.get(b, set()):
                        found.append(f"{top}/{crate}: {a} <-> {b}")
            # longer cycles: depth-first search for a path back to the start
            def reach(start, node, seen):
                for nxt in edges.get(node, ()):
                    if nxt == start:
                        return True
                    if nxt not in seen:
                        seen.add(nxt)
                        if reach(start, nxt, seen):
                            return True
                return False

            for module in edges:
                if reach(module, module, {module}) and not any(f"{top}/{crate}:" in c and module in c for c in found):
                    found.append(f"{top}/{crate}: cycle through {module}")
    return found


def main():
    files = list(rust_files())
    binary = [f for f in files if rel(f).startswith("bin/triggerx/src")]
    print(f"bin/triggerx/src: {sum(len(lines_of(f)) for f in binary):,} lines in {len(binary)} files")
    print(f"all Rust: {sum(len(lines_of(f)) for f in files):,} lines in {len(files)} files")
    print("largest files:")
    for size, path in sorted(((len(lines_of(f)), rel(f)) for f in files), reverse=True)[:8]:
        print(f"  {size:5} {path}")
    print("longest functions (outside tests/):")
    functions = [fn for f in files if "/tests/" not in f for fn in function_lengths(f)]
    for length, name in sorted(functions, reverse=True)[:8]:
        print(f"  {length:5} {name}")
    found = cycles()
    print("import cycles between modules:", "none" if not found else "")
    for cycle in found:
        print("  " + cycle)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
