#!/usr/bin/python3
"""Validates every scenario file (*.yaml, *.yml) under the given folders against
scenarios/schema.json. Usage: validate_schema.py SCHEMA DIR...  Exit 0 if all valid."""
import pathlib
import sys

import jsonschema
import yaml

# Not a scenario: the mutants' accepted survivors live beside the suite (the loader skips
# the same name, mqtth::scenario::kMutantsAcceptedFile).
NOT_SCENARIOS = {"mutants-accepted.yaml"}


def main():
    schema = __import__("json").loads(pathlib.Path(sys.argv[1]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = checked = 0
    for folder in sys.argv[2:]:
        root = pathlib.Path(folder)
        for path in [root] if root.is_file() else sorted(root.rglob("*.y*ml")):
            if path.name in NOT_SCENARIOS:
                continue
            doc = yaml.safe_load(path.read_text())
            checked += 1
            for error in validator.iter_errors(doc):
                failures += 1
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"{path}: /{where}: {error.message[:300]}")
    print(f"{checked} files checked, {failures} schema errors")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
