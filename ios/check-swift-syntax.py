#!/usr/bin/env python3
"""Syntax smoke check of the hand-written Swift (ios/Sources/Footfall, ios/Tests, Package.swift) where no Swift
compiler exists: parses each file with tree-sitter-swift and fails on any ERROR or MISSING node.

Syntax only: no type checking, no name resolution, and the grammar trails the language (the generated bindings are
skipped because the grammar does not know `@_documentation(...)`). The real check is `swift build` / `swift test`
in .github/workflows/ios.yml. Needs `pip install tree-sitter tree-sitter-swift`.
"""
import pathlib
import sys

try:
    import tree_sitter_swift
    from tree_sitter import Language, Parser
except ImportError:
    sys.exit("check-swift-syntax: pip install tree-sitter tree-sitter-swift")

IOS = pathlib.Path(__file__).resolve().parent
FILES = [IOS / "Package.swift", *sorted((IOS / "Sources" / "Footfall").rglob("*.swift")),
         *sorted((IOS / "Tests").rglob("*.swift"))]


def problems(node, found):
    if node.type == "ERROR" or node.is_missing:
        found.append(node)
        return
    for child in node.children:
        problems(child, found)


def main() -> int:
    parser = Parser(Language(tree_sitter_swift.language()))
    failed = 0
    for path in FILES:
        source = path.read_bytes()
        found = []
        problems(parser.parse(source).root_node, found)
        for node in found:
            line, column = node.start_point
            text = source[node.start_byte:node.end_byte][:60].decode("utf-8", "replace")
            kind = "missing " + node.type if node.is_missing else "cannot parse"
            print(f"{path.relative_to(IOS.parent)}:{line + 1}:{column + 1}: {kind}: {text!r}")
        failed += bool(found)
    print(f"check-swift-syntax: {len(FILES) - failed} of {len(FILES)} Swift files parse")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
