#!/usr/bin/env python3
"""Generate the Kubernetes protobuf field table used by berth-apiserver.

Usage (from the repository root):

    python3 tools/gen_proto_schema.py > crates/berth-apiserver/src/protobuf/schema_table.rs

The table is written to stdout; the review notes (every JSON name that had to
be guessed, i.e. where k8s-openapi had no answer) go to stderr.

Inputs, both found in the cargo registry by glob ($CARGO_HOME or ~/.cargo):

* k8s-pb 0.9.0 (prost-generated): message names, field tags and wire kinds,
  taken from the `#[prost(...)]` attributes, and the top-level API kinds,
  taken from the `impl crate::Resource for X` blocks (GROUP/VERSION/KIND).
* k8s-openapi 0.29.0 (v1_33, serde code): the JSON name of every field,
  taken from the `"jsonName" => Field::Key_rust_name` arms of the
  deserializers. Structs are matched by group/version directory and by name
  (case-insensitively, since prost writes `HostIp` where k8s-openapi writes
  `HostIP`); fields are matched by name with underscores removed and
  lowercased (prost splits `podIPs` as `pod_i_ps`, k8s-openapi as `pod_ips`),
  first against the JSON name itself (so `$ref`, `x-kubernetes-*` and `enum`
  match `r#ref`, `x_kubernetes_*` and `r#enum`), then against the rust name.

Message ids are the protobuf message names: `k8s.io.` + the k8s-pb module
path with `/` replaced by `.` + the Go type name, e.g.
`k8s.io.api.core.v1.PodIP`,
`k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps`.
prost renames types (`PodIp`, `JsonSchemaProps`), so the Go name is taken
from k8s-openapi (same rules as for structs above) or, where k8s-openapi has
no such type, prost's name with known acronyms restored (printed to stderr).

Go embedded structs (`json:",inline"`) are message fields in protobuf but
have no JSON name: they are emitted with `inline: true` and json "".

Plain python3, no third-party packages; re-runnable.
"""

import glob
import os
import re
import sys

PB_VERSION = "0.9.0"
OPENAPI_VERSION = "0.29.0"
OPENAPI_K8S = "v1_33"


def registry_dir(crate):
    homes = []
    if os.environ.get("CARGO_HOME"):
        homes.append(os.environ["CARGO_HOME"])
    homes.append(os.path.expanduser("~/.cargo"))
    for home in homes:
        hits = sorted(glob.glob(os.path.join(home, "registry", "src", "*", crate)))
        if hits:
            return hits[-1]
    sys.exit(f"gen_proto_schema: cannot find {crate} in the cargo registry ({', '.join(homes)})")


# ---------------------------------------------------------------- k8s-pb ----

STRUCT_RE = re.compile(r"^pub struct (\w+)\s*\{(\})?\s*$")
PROST_RE = re.compile(r"^\s*#\[prost\((.*)\)\]\s*$")
FIELD_RE = re.compile(r"^\s*pub (?:r#)?(\w+):\s*(.*)$")
IMPL_RESOURCE_RE = re.compile(r"^impl crate::Resource for (\w+)\s*\{")
CONST_RE = re.compile(r'^\s*const (GROUP|VERSION|KIND): &\'static str = "([^"]*)";')
TAG_RE = re.compile(r'tag = "(\d+)"')
MAP_RE = re.compile(r'btree_map = "(\w+), (\w+)"')

SCALARS = {
    "string": "String",
    "bytes": "Bytes",
    "bool": "Bool",
    "int32": "Int32",
    "int64": "Int64",
    "double": "Double",
}


def split_generics(s):
    """Split `A, B<C, D>` at top-level commas."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def unwrap_type(ty):
    """Strip Option/Box/Vec wrappers; for a BTreeMap return its value type."""
    while True:
        ty = ty.strip().rstrip(",").strip()
        m = re.match(r"^(?:::)?[\w:]*?(Option|Box|Vec|BTreeMap)<(.*)>$", ty)
        if not m:
            return ty
        inner = m.group(2)
        if m.group(1) == "BTreeMap":
            inner = split_generics(inner)[1]
        ty = inner


def resolve_path(module, ty):
    """Resolve a rust path relative to module (list of parts) to a message id."""
    parts = ty.split("::")
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    else:
        base = list(module)
        rest = parts
        while rest and rest[0] == "super":
            base.pop()
            rest = rest[1:]
        if rest and rest[0] == "self":
            rest = rest[1:]
    return "k8s.io." + ".".join(base + rest)


def parse_pb(root):
    messages = {}  # id -> dict(module, name, fields=[...])
    resources = []  # (group, version, kind, id)
    for path in sorted(glob.glob(os.path.join(root, "**", "mod.rs"), recursive=True)):
        rel = os.path.relpath(os.path.dirname(path), root)
        module = rel.split(os.sep)
        pkg = "k8s.io." + ".".join(module)
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = 0
        cur = None
        attr = None
        while i < len(lines):
            line = lines[i]
            if cur is None:
                m = STRUCT_RE.match(line)
                if m:
                    # Only prost messages: look back for the derive.
                    j = i - 1
                    while j >= 0 and lines[j].startswith("#["):
                        j -= 1
                    derives = " ".join(lines[j + 1 : i])
                    if "::prost::Message" in derives:
                        mid = f"{pkg}.{m.group(1)}"
                        cur = {"module": module, "name": m.group(1), "fields": []}
                        messages[mid] = cur
                        if m.group(2):
                            cur = None
                    i += 1
                    continue
                m = IMPL_RESOURCE_RE.match(line)
                if m:
                    consts = {}
                    j = i + 1
                    while j < len(lines) and lines[j] != "}":
                        c = CONST_RE.match(lines[j])
                        if c:
                            consts[c.group(1)] = c.group(2)
                        j += 1
                    resources.append(
                        (consts["GROUP"], consts["VERSION"], consts["KIND"], f"{pkg}.{m.group(1)}")
                    )
                    i = j + 1
                    continue
                i += 1
                continue
            # inside a message struct
            if line == "}":
                cur = None
                attr = None
                i += 1
                continue
            m = PROST_RE.match(line)
            if m:
                attr = m.group(1)
                i += 1
                continue
            m = FIELD_RE.match(line)
            if m and attr is not None:
                name, ty = m.group(1), m.group(2)
                # Types may continue on following lines until a top-level ','.
                while not (ty.rstrip().endswith(",") and ty.count("<") == ty.count(">")):
                    i += 1
                    ty += " " + lines[i].strip()
                cur["fields"].append(make_field(cur["module"], name, ty, attr))
                attr = None
            elif m:
                sys.exit(f"gen_proto_schema: field without #[prost] in {path}: {line}")
            i += 1
    return messages, resources


def make_field(module, name, ty, attr):
    tag = int(TAG_RE.search(attr).group(1))
    words = [w.strip() for w in attr.split(",")]
    first = words[0]
    repeated = "repeated" in words
    m = MAP_RE.search(attr)
    if m:
        key, val = m.group(1), m.group(2)
        if key not in SCALARS:
            raise SystemExit(f"gen_proto_schema: unsupported map key {key} in {name}")
        if val == "message":
            vkind = ("Message", resolve_path(module, unwrap_type(ty)))
        else:
            vkind = (SCALARS[val],)
        kind = ("Map", (SCALARS[key],), vkind)
        return {"tag": tag, "name": name, "kind": kind, "repeated": False}
    scalar = first.split("=")[0].strip()
    if scalar == "message":
        kind = ("Message", resolve_path(module, unwrap_type(ty)))
    elif scalar in SCALARS:
        kind = (SCALARS[scalar],)
    else:
        raise SystemExit(f"gen_proto_schema: unsupported prost attribute ({attr}) on {name}")
    return {"tag": tag, "name": name, "kind": kind, "repeated": repeated}


# ----------------------------------------------------------- k8s-openapi ----

OA_STRUCT_RE = re.compile(r"^pub (?:struct|enum) (\w+)")
OA_KEY_RE = re.compile(r'^\s*"([^"]+)" => Field::Key_(\w+),\s*$')


def norm(s):
    return re.sub(r"[^a-z0-9]", "", s.lower())


def parse_openapi(root):
    """(module dir, normalized struct name) -> (by_json, by_key) dicts."""
    out = {}
    for path in sorted(glob.glob(os.path.join(root, "**", "*.rs"), recursive=True)):
        base = os.path.basename(path)
        if base in ("mod.rs", "list.rs"):
            continue
        rel = os.path.relpath(os.path.dirname(path), root)
        with open(path, encoding="utf-8") as f:
            text = f.read().split("\n")
        name = None
        by_json, by_key = {}, {}
        for line in text:
            if name is None:
                m = OA_STRUCT_RE.match(line)
                if m:
                    name = m.group(1)
            m = OA_KEY_RE.match(line)
            if m:
                json, key = m.group(1), m.group(2)
                by_json.setdefault(norm(json), json)
                by_key.setdefault(norm(key), json)
        if name is not None:
            out[(rel, norm(name))] = (name, by_json, by_key)
    return out


# ------------------------------------------------------ fallback naming ----


def prost_snake(name):
    """snake_case as prost (heck) makes it from a proto field name."""
    out = ""
    chars = name.replace("-", "_").replace("$", "")
    for k, ch in enumerate(chars):
        prev = chars[k - 1] if k else ""
        nxt = chars[k + 1] if k + 1 < len(chars) else ""
        if ch.isupper() and prev and prev != "_":
            if prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower()):
                out += "_"
        out += ch.lower()
    return out


ACRONYMS = {
    "ip": "IP", "ips": "IPs", "cidr": "CIDR", "cidrs": "CIDRs", "url": "URL",
    "urls": "URLs", "uri": "URI", "uris": "URIs", "uid": "UID", "uids": "UIDs",
    "id": "ID", "ids": "IDs", "api": "API", "apis": "APIs", "tls": "TLS",
    "dns": "DNS", "os": "OS", "json": "JSON", "qos": "QOS", "http": "HTTP",
    "https": "HTTPS", "tcp": "TCP", "udp": "UDP", "sctp": "SCTP", "cpu": "CPU",
    "fs": "FS", "iscsi": "ISCSI", "wwids": "WWIDs", "wwns": "WWNs", "ca": "CA",
    "cel": "CEL", "pvc": "PVC", "sha": "SHA",
}


def same_words(json, snake):
    """Whether a JSON name splits into words where a snake name does.

    Looser than comparing prost_snake(json) with snake: k8s-pb has `pod_ips`
    for `podIPs` but `pod_cid_rs` for `podCIDRs`. Every `_` must stand
    where json has a capital, and every lower-to-upper step in json must
    have its `_`.
    """
    j = json.replace("-", "_").replace("$", "")
    if "_" in j:
        return j == snake
    cuts = set()
    pos = 0
    for ch in snake:
        if ch == "_":
            cuts.add(pos)
        else:
            pos += 1
    if pos != len(j):
        return False
    for k, ch in enumerate(j):
        if k in cuts and not ch.isupper():
            return False
        if k and ch.isupper() and (j[k - 1].islower() or j[k - 1].isdigit()) and k not in cuts:
            return False
    return True


def fallback_json(name):
    words = [w for w in name.split("_") if w]
    # prost splits a trailing-plural acronym (`podIPs` -> `pod_i_ps`,
    # `CIDRs` -> `cid_rs`): merge pieces that together form one.
    merged = []
    k = 0
    while k < len(words):
        if k + 1 < len(words) and (words[k] + words[k + 1]) in ACRONYMS and words[k] not in ACRONYMS:
            merged.append(words[k] + words[k + 1])
            k += 2
        else:
            merged.append(words[k])
            k += 1
    out = merged[0]
    for w in merged[1:]:
        out += ACRONYMS.get(w, w[:1].upper() + w[1:])
    return out


# ----------------------------------------------------------- Go names ----

# prost's UpperCamelCase of Go acronyms, for messages k8s-openapi lacks.
NAME_ACRONYMS = {
    "Api": "API", "Cel": "CEL", "Cidr": "CIDR", "Csi": "CSI", "Dns": "DNS",
    "Fc": "FC", "Http": "HTTP", "Ip": "IP", "Iscsi": "ISCSI", "Json": "JSON",
    "Rbd": "RBD", "Tcp": "TCP", "Tls": "TLS", "Uid": "UID", "Url": "URL",
}


def go_names(messages, resources, openapi):
    """Rename messages from prost's casing (`PodIp`, `Json`) to the Go/proto
    type names (`PodIP`, `JSON`) that k8s-openapi keeps, so ids are the real
    protobuf message names."""
    by_name = {}
    for (mod, sname), (name, _, _) in openapi.items():
        by_name.setdefault(sname, []).append((mod, name))
    rename, guessed = {}, []
    for mid, msg in messages.items():
        mod = "/".join(msg["module"])
        group = os.path.dirname(mod)
        found = by_name.get(norm(msg["name"]), [])
        found.sort(key=lambda o: (o[0] != mod, os.path.dirname(o[0]) != group, o[0]))
        if found:
            name = found[0][1]
        else:
            words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", msg["name"])
            name = "".join(NAME_ACRONYMS.get(w, w) for w in words)
            if name != msg["name"]:
                guessed.append(f"{mid} -> {name}")
        rename[mid] = mid[: -len(msg["name"])] + name
    if len(set(rename.values())) != len(rename):
        sys.exit("gen_proto_schema: Go names collide")

    def fix(kind):
        if kind[0] == "Message":
            return ("Message", rename.get(kind[1], kind[1]))
        if kind[0] == "Map":
            return ("Map", fix(kind[1]), fix(kind[2]))
        return kind

    out = {}
    for mid, msg in messages.items():
        for fld in msg["fields"]:
            fld["kind"] = fix(fld["kind"])
        out[rename[mid]] = msg
    resources = [(g, v, k, rename.get(m, m)) for g, v, k, m in resources]
    return out, resources, guessed


# ------------------------------------------------------------------ main ----


def rust_kind(kind):
    if kind[0] == "Message":
        return f'Kind::Message("{kind[1]}")'
    if kind[0] == "Map":
        return f"Kind::Map(&{rust_kind(kind[1])}, &{rust_kind(kind[2])})"
    return f"Kind::{kind[0]}"


HEADER = """\
// @generated by tools/gen_proto_schema.py from the protobuf field numbers of
// the Kubernetes API (k8s-pb {pb}) and the JSON field names of k8s-openapi
// {oa} ({k8s}). DO NOT EDIT; re-run the generator instead.
//
// MESSAGES: message id -> fields, sorted by id (binary-searchable); each
// message's fields sorted by tag. KINDS: (group, version, kind) -> message id,
// sorted by (group, version, kind).

#![allow(dead_code)]

/// The wire kind of a field (of a map's key or value, for `Map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {{
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
    /// An embedded message, by message id (a key of [`MESSAGES`]).
    Message(&'static str),
    /// A map field: (key kind, value kind); each entry is a nested message
    /// with the key at tag 1 and the value at tag 2.
    Map(&'static Kind, &'static Kind),
}}

/// One field of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {{
    /// The protobuf field number.
    pub tag: u32,
    /// The field's name in Kubernetes JSON ("" for an inline field).
    pub json: &'static str,
    pub kind: Kind,
    /// A repeated field (a JSON array). Maps are not `repeated`.
    pub repeated: bool,
    /// A Go embedded struct (`json:",inline"`, e.g. Volume's VolumeSource,
    /// ConfigMapKeySelector's LocalObjectReference): a message field in
    /// protobuf whose fields are merged into the parent object in JSON.
    pub inline: bool,
}}

const fn f(tag: u32, json: &'static str, kind: Kind) -> Field {{
    Field {{
        tag,
        json,
        kind,
        repeated: false,
        inline: false,
    }}
}}

const fn r(tag: u32, json: &'static str, kind: Kind) -> Field {{
    Field {{
        tag,
        json,
        kind,
        repeated: true,
        inline: false,
    }}
}}

const fn i(tag: u32, kind: Kind) -> Field {{
    Field {{
        tag,
        json: "",
        kind,
        repeated: false,
        inline: true,
    }}
}}

/// The fields of a message, by message id.
pub fn fields(message: &str) -> Option<&'static [Field]> {{
    MESSAGES
        .binary_search_by(|(id, _)| (*id).cmp(message))
        .ok()
        .map(|i| MESSAGES[i].1)
}}

/// One field of a message, by tag.
pub fn field(message: &str, tag: u32) -> Option<&'static Field> {{
    let fields = fields(message)?;
    fields
        .binary_search_by(|f| f.tag.cmp(&tag))
        .ok()
        .map(|i| &fields[i])
}}

/// The message id of a top-level kind (`group` is "" for the core group).
pub fn kind_message(group: &str, version: &str, kind: &str) -> Option<&'static str> {{
    KINDS
        .binary_search_by(|(g, v, k, _)| (*g, *v, *k).cmp(&(group, version, kind)))
        .ok()
        .map(|i| KINDS[i].3)
}}
"""


def main():
    pb_root = os.path.join(registry_dir(f"k8s-pb-{PB_VERSION}"), "src")
    oa_root = os.path.join(registry_dir(f"k8s-openapi-{OPENAPI_VERSION}"), "src", OPENAPI_K8S)
    messages, resources = parse_pb(pb_root)
    openapi = parse_openapi(oa_root)
    messages, resources, renamed = go_names(messages, resources, openapi)

    # JSON names come from the k8s-openapi struct of the same name in the same
    # group/version. Where k8s-openapi (v1_33) lacks it (older or newer API
    # versions, List types, options), the same struct in another version of
    # the group is tried, then a struct of the same name in any group, then
    # any struct with a field of that name whose JSON name is unambiguous, and
    # only then a guess. Go's embedded structs (`json:",inline"`) are fields of
    # their own in protobuf but flattened in JSON: a singular message field
    # missing from the k8s-openapi struct, whose message's fields are there, is
    # emitted as inline (json "").
    by_name = {}
    global_names = {}
    for (mod, sname), (_, by_json, by_key) in openapi.items():
        by_name.setdefault(sname, []).append((mod, by_json, by_key))
        for d in (by_json, by_key):
            for k, j in d.items():
                global_names.setdefault(k, set()).add(j)

    def candidates(mod, name):
        """k8s-openapi structs for a message, best first."""
        group = os.path.dirname(mod)
        found = by_name.get(norm(name), [])
        same = [o for o in found if o[0] == mod]
        in_group = sorted((o for o in found if o[0] != mod and os.path.dirname(o[0]) == group), reverse=True)
        elsewhere = sorted(o for o in found if os.path.dirname(o[0]) != group)
        return same + in_group + elsewhere

    fallbacks = []
    tiers = {}
    nfields = 0
    for mid in sorted(messages):
        msg = messages[mid]
        mod = "/".join(msg["module"])
        cands = candidates(mod, msg["name"])
        exact = bool(cands) and cands[0][0] == mod
        for fld in msg["fields"]:
            nfields += 1
            key = norm(fld["name"])
            json, tier, why = None, None, None
            for omod, by_json, by_key in cands:
                json = by_json.get(key) or by_key.get(key)
                if json:
                    if omod != mod:
                        tier, why = "same struct elsewhere", f"from k8s-openapi {omod}"
                    break
            fld["inline"] = False
            if json is None and cands and fld["kind"][0] == "Message" and not fld["repeated"]:
                sub = [norm(x["name"]) for x in messages.get(fld["kind"][1], {"fields": []})["fields"]]
                have = cands[0][1].keys() | cands[0][2].keys()
                hits = sum(1 for k in sub if k in have)
                # Across versions a struct may have turned a nested field into
                # an inline one (node/v1alpha1 RuntimeClass.spec); there, ask
                # for go-to-protobuf's embedded-field naming too.
                named = key == norm(fld["kind"][1].rsplit(".", 1)[1])
                if sub and hits * 2 >= len(sub) and (cands[0][0] == mod or named):
                    json, fld["inline"] = "", True
                    tier, why = "inline", f"{hits}/{len(sub)} of its fields in k8s-openapi {cands[0][0]}"
            if json is None:
                # Normalizing loses case (`subResource` vs `subresource`):
                # keep only names that prost would have snake-cased the same.
                same = sorted(j for j in global_names.get(key, ()) if same_words(j, fld["name"]))
                if len(same) == 1:
                    json = same[0]
                    tier, why = "same field name elsewhere", ""
            if json is None:
                json = fallback_json(fld["name"])
                tier, why = "guessed", ""
                if prost_snake(json) != fld["name"]:
                    why = f"NB: prost would name {json!r} {prost_snake(json)!r}"
            if tier is not None:
                where = f"no field in k8s-openapi {cands[0][0]}" if exact else "no k8s-openapi struct here"
                why = where + ("; " + why if why else "")
                tiers[tier] = tiers.get(tier, 0) + 1
                fallbacks.append(f"{tier}: {mid}.{fld['name']} (tag {fld['tag']}) -> {json!r}  [{why}]")
            fld["json"] = json
            for k in (fld["kind"], fld["kind"][-1] if fld["kind"][0] == "Map" else None):
                if k and k[0] == "Message" and k[1] not in messages:
                    sys.exit(f"gen_proto_schema: {mid}.{fld['name']} refers to unknown message {k[1]}")
        tags = [x["tag"] for x in msg["fields"]]
        if len(set(tags)) != len(tags):
            sys.exit(f"gen_proto_schema: duplicate tag in {mid}")

    # KINDS: every Resource impl, plus request-body kinds without one.
    kinds = {}
    for g, v, k, mid in resources:
        kinds[(g, v, k)] = mid
    meta = "k8s.io.apimachinery.pkg.apis.meta.v1."
    extras = [
        ("policy", "v1", "Eviction", "k8s.io.api.policy.v1.Eviction"),
        ("policy", "v1beta1", "Eviction", "k8s.io.api.policy.v1beta1.Eviction"),
        ("", "v1", "Binding", "k8s.io.api.core.v1.Binding"),
        ("autoscaling", "v1", "Scale", "k8s.io.api.autoscaling.v1.Scale"),
        ("authentication.k8s.io", "v1", "TokenRequest", "k8s.io.api.authentication.v1.TokenRequest"),
        ("authentication.k8s.io", "v1", "TokenReview", "k8s.io.api.authentication.v1.TokenReview"),
    ]
    for k in ("SelfSubjectAccessReview", "SubjectAccessReview", "SelfSubjectRulesReview", "LocalSubjectAccessReview"):
        extras.append(("authorization.k8s.io", "v1", k, f"k8s.io.api.authorization.v1.{k}"))
    # DeleteOptions is registered in every group version (metav1.AddToGroupVersion).
    for g, v in sorted({(g, v) for g, v, _ in kinds} | {("meta.k8s.io", "v1")}):
        extras.append((g, v, "DeleteOptions", meta + "DeleteOptions"))
    for g, v, k, mid in extras:
        if mid not in messages:
            sys.exit(f"gen_proto_schema: extra kind {g}/{v} {k}: no message {mid}")
        kinds.setdefault((g, v, k), mid)

    out = [HEADER.format(pb=PB_VERSION, oa=OPENAPI_VERSION, k8s=OPENAPI_K8S)]
    out.append("#[rustfmt::skip]")
    out.append("pub static MESSAGES: &[(&str, &[Field])] = &[")
    for mid in sorted(messages):
        flds = sorted(messages[mid]["fields"], key=lambda x: x["tag"])
        items = ", ".join(
            f'i({x["tag"]}, {rust_kind(x["kind"])})'
            if x["inline"]
            else f'{"r" if x["repeated"] else "f"}({x["tag"]}, "{x["json"]}", {rust_kind(x["kind"])})'
            for x in flds
        )
        out.append(f'    ("{mid}", &[{items}]),')
    out.append("];")
    out.append("")
    out.append("#[rustfmt::skip]")
    out.append("pub static KINDS: &[(&str, &str, &str, &str)] = &[")
    for (g, v, k), mid in sorted(kinds.items()):
        out.append(f'    ("{g}", "{v}", "{k}", "{mid}"),')
    out.append("];")
    sys.stdout.write("\n".join(out) + "\n")

    for line in renamed:
        print("message name guessed: " + line, file=sys.stderr)
    for line in sorted(fallbacks, key=lambda x: (x.split(":")[0], x)):
        print("fallback " + line, file=sys.stderr)
    print(
        f"gen_proto_schema: {len(messages)} messages, {nfields} fields, {len(kinds)} kinds, "
        f"{len(fallbacks)} fallback JSON names ({tiers}), {len(renamed)} guessed message names",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
