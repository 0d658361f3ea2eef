#!/usr/bin/env python3
"""Check that the call graph between the engine's .c files is acyclic.

Rough C parsing, standard library only (Python 3.9+): comments, strings and
preprocessor lines are blanked, then every top-level `name(...) {` is a
function definition and every `name(` inside its body is a call.  A call
resolves to a function of the same file first (static or not), else to the
one non-static definition elsewhere; calls to `static inline` functions of
the headers are followed through to what those call.  Calls to anything
else (libc, pthreads) are ignored, and so are calls made only through
function pointers or macros.

File F depends on file G when a function defined in F calls one defined in
G.  The graph must be a DAG: a cycle is reported with one call per edge, and
the exit status is 1.

usage: callgraph.py [-v] [SRC_DIR]     (default: the src/ next to tools/)
  -v   print every file's dependencies and a bottom-up order
"""
import os
import re
import sys

KEYWORDS = {
    "if", "while", "for", "switch", "return", "sizeof", "do", "else", "case",
    "defined", "_Alignof", "alignof", "_Static_assert", "_Generic", "__attribute__",
    "__typeof__", "typeof", "__builtin_expect",
}

_TOKEN = re.compile(
    r"""
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<pp>^[ \t]*\#(?:\\\n|[^\n])*)
    """,
    re.S | re.M | re.X,
)


def blank(text):
    """Comments, literals and preprocessor lines to spaces (newlines kept)."""

    def sub(m):
        s = m.group(0)
        if m.lastgroup == "string":
            return '""' if s.startswith('"') else "''"
        return re.sub(r"[^\n]", " ", s)

    return _TOKEN.sub(sub, text)


_DEF_HEAD = re.compile(r"\b([A-Za-z_]\w*)\s*\(([^;{}()]|\([^;{}()]*\))*\)\s*$", re.S)
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def functions(text):
    """Yield (name, is_static, is_inline, body) for each top-level definition."""
    code = blank(text)
    depth = 0
    stmt_start = 0  # start of the current top-level declaration
    i = 0
    n = len(code)
    while i < n:
        c = code[i]
        if c == "{" and depth == 0:
            head = code[stmt_start:i]
            m = _DEF_HEAD.search(head)
            # find the matching brace
            d, j = 0, i
            while j < n:
                if code[j] == "{":
                    d += 1
                elif code[j] == "}":
                    d -= 1
                    if d == 0:
                        break
                j += 1
            if m and "=" not in head[: m.start()] and m.group(1) not in KEYWORDS:
                before = head[: m.start()]
                words = set(re.findall(r"\w+", before))
                is_static = "static" in words or "TL_DEBUG_FN" in words  # tl_assert.h
                yield m.group(1), is_static, "inline" in words, code[i + 1 : j]
            i = j + 1
            stmt_start = i
            continue
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        elif c == ";" and depth == 0:
            stmt_start = i + 1
        i += 1


def calls(body):
    return {m.group(1) for m in _CALL.finditer(body)} - KEYWORDS


def build(src):
    cfiles = sorted(f for f in os.listdir(src) if f.endswith(".c"))
    hfiles = sorted(f for f in os.listdir(src) if f.endswith(".h"))
    local = {}  # file -> {name: callees}
    public = {}  # name -> file (non-static definitions)
    inline = {}  # header static inline name -> callees
    for f in cfiles:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            text = fh.read()
        local[f] = {}
        for name, is_static, _, body in functions(text):
            local[f][name] = calls(body)
            if not is_static:
                if name in public and public[name] != f:
                    sys.exit(f"callgraph: {name} defined in both {public[name]} and {f}")
                public[name] = f
    for f in hfiles:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            text = fh.read()
        for name, _, is_inline, body in functions(text):
            if is_inline:
                inline[name] = calls(body)

    def targets(f, callees, seen):
        """(callee, defining file) pairs reached from f, through header inlines."""
        for c in sorted(callees):
            if c in local[f]:
                continue  # same file (also shadows a header inline)
            if c in public:
                yield c, public[c]
            elif c in inline and c not in seen:
                seen.add(c)
                yield from targets(f, inline[c], seen)

    edges = {f: {} for f in cfiles}  # f -> {g: "caller -> callee"}
    for f in cfiles:
        for caller, callees in sorted(local[f].items()):
            for callee, g in targets(f, callees, set()):
                if g != f and g not in edges[f]:
                    edges[f][g] = f"{caller}() -> {callee}()"
    return edges


def find_cycle(edges):
    """A cycle as a list of files [a, b, ..., a], or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {f: WHITE for f in edges}
    stack = []

    def visit(f):
        color[f] = GREY
        stack.append(f)
        for g in sorted(edges[f]):
            if color[g] == GREY:
                return stack[stack.index(g):] + [g]
            if color[g] == WHITE:
                cyc = visit(g)
                if cyc:
                    return cyc
        stack.pop()
        color[f] = BLACK
        return None

    for f in sorted(edges):
        if color[f] == WHITE:
            cyc = visit(f)
            if cyc:
                return cyc
    return None


def bottom_up(edges):
    order, done = [], set()

    def visit(f):
        if f in done:
            return
        done.add(f)
        for g in sorted(edges[f]):
            visit(g)
        order.append(f)

    for f in sorted(edges):
        visit(f)
    return order


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    edges = build(src)
    nedges = sum(len(v) for v in edges.values())
    if verbose:
        for f in sorted(edges):
            deps = ", ".join(sorted(edges[f])) or "-"
            print(f"{f:<12} -> {deps}")
    cyc = find_cycle(edges)
    if cyc:
        print("callgraph: cycle between .c files:", file=sys.stderr)
        for a, b in zip(cyc, cyc[1:]):
            print(f"  {a} -> {b}   ({edges[a][b]})", file=sys.stderr)
        return 1
    if verbose:
        print("bottom-up: " + " ".join(bottom_up(edges)))
    print(f"callgraph: {len(edges)} files, {nedges} file dependencies, acyclic")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
