#!/usr/bin/env python3
"""Prints the crate's public API surface from rustdoc's JSON (nightly `--output-format json`):
every public path with its kind, the fields, variants and methods of public types, function
parameters, and the traits each public type implements. CI compares it with docs/public-api.txt,
so every change to the public API is a visible, reviewed change to that file."""
import json
import sys

doc = json.load(open(sys.argv[1]))
index = doc["index"]
lines = set()


def item(i):
    return index.get(str(i))


def kind_of(it):
    return next(iter(it["inner"])) if isinstance(it["inner"], dict) else it["inner"]


def params(fn):
    sig = fn["sig"] if "sig" in fn else fn["decl"]
    return ", ".join(name for name, _ in sig["inputs"])


def is_public(it):
    return it.get("visibility") == "public"


def walk_impls(path, impls):
    for impl_id in impls:
        impl = item(impl_id)
        if impl is None:
            continue
        inner = impl["inner"]["impl"]
        if inner.get("is_synthetic") or inner.get("blanket_impl"):
            continue
        trait = inner.get("trait")
        if trait:
            lines.add(f"{path}: impl {trait['path'] if 'path' in trait else trait.get('name')}")
            continue
        for member_id in inner["items"]:
            member = item(member_id)
            if member is None or not is_public(member):
                continue
            k = kind_of(member)
            if k == "function":
                lines.add(f"{path}::{member['name']}: fn({params(member['inner']['function'])})")
            else:
                lines.add(f"{path}::{member['name']}: {k}")


def walk(path, it, seen):
    if id(it) in seen:
        return
    seen.add(id(it))
    k = kind_of(it)
    inner = it["inner"][k]
    if k == "module":
        lines.add(f"{path}: module")
        for child_id in inner["items"]:
            child = item(child_id)
            if child is None or not is_public(child):
                continue
            if kind_of(child) == "use":
                use = child["inner"]["use"]
                target = item(use["id"]) if use.get("id") is not None else None
                name = use["name"]
                if use.get("is_glob"):
                    lines.add(f"{path}::*: glob re-export of {use['source']}")
                elif target is None:
                    lines.add(f"{path}::{name}: re-export of {use['source']}")
                else:
                    walk(f"{path}::{name}", target, seen)
                continue
            walk(f"{path}::{child['name']}", child, seen)
    elif k == "struct":
        lines.add(f"{path}: struct")
        fields = inner["kind"].get("plain", {}).get("fields", []) if isinstance(inner["kind"], dict) else []
        for field_id in fields:
            field = item(field_id)
            if field and is_public(field):
                lines.add(f"{path}.{field['name']}: field")
        if isinstance(inner["kind"], dict) and inner["kind"].get("plain", {}).get("has_stripped_fields"):
            lines.add(f"{path}: has private fields")
        walk_impls(path, inner["impls"])
    elif k == "enum":
        lines.add(f"{path}: enum")
        for variant_id in inner["variants"]:
            variant = item(variant_id)
            if variant:
                lines.add(f"{path}::{variant['name']}: variant")
        walk_impls(path, inner["impls"])
    elif k == "trait":
        lines.add(f"{path}: trait")
        for member_id in inner["items"]:
            member = item(member_id)
            if member:
                mk = kind_of(member)
                if mk == "function":
                    lines.add(f"{path}::{member['name']}: fn({params(member['inner']['function'])})")
                else:
                    lines.add(f"{path}::{member['name']}: {mk}")
    elif k == "function":
        lines.add(f"{path}: fn({params(inner)})")
    else:
        lines.add(f"{path}: {k}")
    if "attrs" in it and any("non_exhaustive" in str(a) for a in it["attrs"]):
        lines.add(f"{path}: #[non_exhaustive]")


walk("oauth21", item(doc["root"]), set())
print("\n".join(sorted(lines)))
