#!/usr/bin/env python3
"""Derives the JSON Schema (draft 7) that konsign's PostNord booking requests are checked
against from PostNord's published API description (Swagger 2.0, booking v3.5.29.1): the body of
POST /v3/edi/labels/zpl (`ediInstruction`) with every definition it reaches.

    python3 docs/carriers/derive_schema.py booking.swagger.json > docs/carriers/postnord-booking.schema.json

The description is public (repository Joaqim/karrio, branch develop,
modules/connectors/postnord/vendor/booking.swagger.json); it is read, not kept here.
Swagger's own keywords (`example`, `x-...`, `discriminator`) are dropped; `format` is kept
(draft 7 treats it as an annotation)."""
import json
import sys

DROP = {"example", "discriminator", "xml", "externalDocs", "readOnly"}


def clean(node):
    if isinstance(node, dict):
        return {
            k: clean(v)
            for k, v in node.items()
            if k not in DROP and not k.startswith("x-")
        }
    if isinstance(node, list):
        return [clean(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/definitions/"):
            out.add(r.split("/")[-1])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    spec = json.load(open(sys.argv[1]))
    defs = spec["definitions"]
    op = spec["paths"]["/v3/edi/labels/zpl"]["post"]
    body = next(p for p in op["parameters"] if p["in"] == "body")
    root = body["schema"]["$ref"].split("/")[-1]
    keep, todo = set(), [root]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        found = set()
        refs(defs[name], found)
        todo.extend(found - keep)
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://konsign.example/schemas/postnord-booking-v3.5.29.1.json",
        "title": "PostNord booking v3 (EDI instruction), derived from booking.swagger.json v"
        + spec["info"]["version"],
        "$ref": "#/definitions/" + root,
        "definitions": {n: clean(defs[n]) for n in sorted(keep)},
    }
    json.dump(schema, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
