#!/usr/bin/env python3
"""Fails when the modules of a Rust crate import each other in a circle.

Reads every `use crate::…` / `use super::…` (and inline `crate::…` / `super::…` paths) of each file under the
crate's `src/`, resolves them to the module files they name, and looks for strongly connected components in that
graph. A module's own descendants and ancestors do not count (a parent declares and re-exports its children).

    python3 scripts/check_imports.py [core/src ...]
"""

import os
import re
import sys


def modules(root):
    """Module path (`sync::lane`) -> source text, for every .rs file below root."""
    found = {}
    for directory, _, files in os.walk(root):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(directory, name)
                rel = os.path.relpath(path, root)[:-3]
                module = rel.replace("/mod", "").replace("/", "::")
                if module in ("lib", "main"):
                    module = ""
                with open(path, encoding="utf-8") as f:
                    found[module] = f.read()
    return found


def resolve(current, path, known, root):
    parts = path.split("::")
    if parts[0] == "crate":
        base, parts = [], parts[1:]
    elif parts[0] == "super":
        is_dir = os.path.exists(os.path.join(root, current.replace("::", "/"), "mod.rs"))
        base = current.split("::") if current else []
        if not is_dir:
            base = base[:-1]
        while parts and parts[0] == "super":
            parts = parts[1:]
            base = base[:-1] if is_dir else base
            is_dir = True
    else:
        return None
    for i in range(len(parts), 0, -1):
        candidate = "::".join(base + parts[:i])
        if candidate in known:
            return candidate
    return None


def related(a, b):
    return a == b or a.startswith(b + "::") or b.startswith(a + "::") or a == "" or b == ""


def edges(found, root):
    out = {m: set() for m in found}
    for module, text in found.items():
        text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", text, flags=re.S)
        for base, group in re.findall(r"\b((?:crate|super)(?:::\w+)*)(?:::\{([^;]*?)\})?", text):
            targets = [base]
            if group:
                targets += [base + "::" + g.strip().split("::")[0].split(" ")[0] for g in group.split(",") if g.strip()]
            for target in targets:
                resolved = resolve(module, target, found, root)
                if resolved is not None and not related(module, resolved):
                    out[module].add(resolved)
    return out


def cycles(graph):
    index, low, stack, on, result, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def main(roots):
    bad = False
    for root in roots:
        found = modules(root)
        graph = edges(found, root)
        circles = cycles(graph)
        for component in circles:
            print(f"check_imports: {root}: modules import each other in a circle: {' <-> '.join(component)}")
        bad = bad or bool(circles)
        if not circles:
            count = sum(len(v) for v in graph.values())
            print(f"check_imports: {root}: {len(found)} modules, {count} imports, no cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["core/src"]))
