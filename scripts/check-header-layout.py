#!/usr/bin/python3
"""Checks the header layout of docs/architecture.md "Header layout" on the files git tracks.

- A public header of the module in folder F is F/include/mqtth/<basename of F>/X.hpp and
  declares namespace mqtth::<basename of F>; the codec's are codec/include/mqtt/ and
  codec/json/include/mqtt/ (namespace mqtt).
- Every other header is private: in a src/, tests/, tools/ or bench/ folder, or in
  harness/cli/ (the executable), fuzz/, or scripts/clients/ (the client adapters: C
  programs outside the C++ layers, docs/clients.md).
- No two public headers have the same include path.
Prints one line per violation and exits 1 if there is any.

  /usr/bin/python3 scripts/check-header-layout.py [REPO]
"""
import pathlib
import re
import subprocess
import sys

repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
files = subprocess.run(["git", "-C", str(repo), "ls-files", "*.hpp", "*.h"], capture_output=True, text=True,
                       check=True).stdout.split()
problems = []
public = {}
for name in files:
    path = pathlib.PurePosixPath(name)
    parts = path.parts
    if "include" in parts:
        i = parts.index("include")
        folder = pathlib.PurePosixPath(*parts[:i])
        include_path = "/".join(parts[i + 1:])
        if parts[0] == "codec":
            module, namespace = "mqtt", "mqtt"
            expected = f"mqtt/{path.name}"
        else:
            module = folder.name
            namespace = f"mqtth::{module}"
            expected = f"mqtth/{module}/{path.name}"
        if include_path != expected:
            problems.append(f"{name}: a public header of {folder}/ belongs in {folder}/include/{expected}")
            continue
        text = (repo / name).read_text(errors="replace")
        if not re.search(r"^namespace " + re.escape(namespace) + r"\b", text, re.M):
            problems.append(f"{name}: declares no 'namespace {namespace}'")
        if include_path in public:
            problems.append(f"{name}: include path {include_path} is also {public[include_path]}")
        public[include_path] = name
    elif not ({"src", "tests", "tools", "bench"} & set(parts[:-1]) or parts[0] == "fuzz"
              or name.startswith("harness/cli/") or name.startswith("scripts/clients/")):
        problems.append(f"{name}: neither public (include/mqtth/<module>/) nor private (src/, tests/)")

for p in problems:
    print(p)
print(f"{len(public)} public headers, {len(files) - len(public)} private, {len(problems)} problems", file=sys.stderr)
sys.exit(1 if problems else 0)
