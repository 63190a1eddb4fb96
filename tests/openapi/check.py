#!/usr/bin/python3
"""check.py -- checks api/openapi.yaml against the OpenAPI 3.0 schema and
against baton-api itself (test 0071, tests/integration/0071-openapi.sh).

  check.py spec OPENAPI
      the file is valid OpenAPI 3.0 (the official JSON Schema, vendored in
      tests/openapi/oas-3.0-schema.json, draft 4) and every local $ref
      resolves
  check.py routes OPENAPI ROUTES_C HTTP_C
      the routes the code dispatches (the table api_routes of
      api/routes.c, and the fixed paths of api/http.c) are exactly the
      operations of the file
  check.py probe OPENAPI URL [TOKEN]
      every operation of the file is served: a request to it (made so
      that it changes nothing: placeholder ids, POST bodies that are not
      JSON) is not answered 404 "no route"; and a path the file does not
      name is
  check.py responses OPENAPI CAPTURES
      every captured answer (JSON lines {"method","path","status",
      "content_type","body"}: tests/integration/api-lib.sh api_capture)
      is documented for its operation and status, with its content type,
      and its body is valid against the documented schema (OpenAPI schema
      objects turned into JSON Schema draft 4: nullable -> anyOf null)
  check.py mutate OPENAPI OUT KIND
      writes a copy of the file with one mistake (KIND: status-type,
      drop-route, extra-required, drop-status, bad-spec) for the test to
      show that the checks above catch it

Exit 0 when the check passes, 1 with every finding on stderr, 2 on usage.
Needs python3-yaml and python3-jsonschema (Debian).
"""
import copy
import json
import os
import re
import sys
import urllib.error
import urllib.request

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def fail(findings):
    for f in findings:
        print("check.py: " + f, file=sys.stderr)
    return 1 if findings else 0


def operations(doc):
    """[(METHOD, path)] of the file."""
    return sorted((m.upper(), p) for p, item in doc.get("paths", {}).items()
                  for m in item if m in METHODS)


# ---- spec ------------------------------------------------------------------

def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)
    return out


def resolve(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def cmd_spec(path):
    doc = load(path)
    with open(os.path.join(HERE, "oas-3.0-schema.json")) as f:
        schema = json.load(f)
    v = jsonschema.Draft4Validator(schema)
    findings = ["not OpenAPI 3.0: %s at /%s" % (e.message,
                "/".join(str(p) for p in e.absolute_path))
                for e in sorted(v.iter_errors(doc), key=str)]
    for r in refs(doc, []):
        try:
            resolve(doc, r)
        except (KeyError, TypeError):
            findings.append("$ref %s does not resolve" % r)
    if not findings:
        print("spec: %s is valid OpenAPI %s (%d operations)"
              % (path, doc["openapi"], len(operations(doc))))
    return fail(findings)


# ---- routes ----------------------------------------------------------------

ROUTE_RE = re.compile(r'^\s*\{"(GET|POST|PUT|DELETE|PATCH)",\s*"(/v1/[^"]*)",'
                      r'\s*api_h_\w+\},', re.M)
FIXED_RE = re.compile(r'strcmp\((?:r->)?url, "(/[a-z]+)"\)')


def code_routes(routes_c, http_c):
    """[(METHOD, path)] the code dispatches."""
    with open(routes_c) as f:
        table = ROUTE_RE.findall(f.read())
    with open(http_c) as f:
        fixed = sorted(set(FIXED_RE.findall(f.read())) - {"/v1", "/ui"})
    return sorted(set(table) | {("GET", p) for p in fixed}), len(table)


def cmd_routes(path, routes_c, http_c):
    doc = load(path)
    served, ntable = code_routes(routes_c, http_c)
    documented = operations(doc)
    findings = []
    if ntable < 10:
        findings.append("only %d routes read from the table api_routes of %s:"
                        " has its format changed?" % (ntable, routes_c))
    findings += ["%s %s is served (%s) but not in %s" % (m, p, routes_c, path)
                 for m, p in served if (m, p) not in documented]
    findings += ["%s %s is in %s but the code does not dispatch it"
                 % (m, p, path) for m, p in documented if (m, p) not in served]
    if not findings:
        print("routes: the %d operations of %s are the code's" %
              (len(documented), path))
    return fail(findings)


# ---- probe -----------------------------------------------------------------

PLACEHOLDER = {"id": "t71-probe-none", "name": "probe", "type": "t71-none",
               "partition": "not-a-number", "offset": "0"}


def request(url, method, token, body=None):
    req = urllib.request.Request(url, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def no_route(status, body):
    if status != 404:
        return False
    try:
        return json.loads(body)["error"]["message"].startswith("no route")
    except (ValueError, KeyError, TypeError):
        return True  # a 404 that is not the API's JSON: not served


def cmd_probe(path, base, token=None):
    doc = load(path)
    findings = []
    for m, p in operations(doc):
        concrete = re.sub(r"\{(\w+)\}", lambda g: PLACEHOLDER[g.group(1)], p)
        # POST bodies that are not JSON: every POST handler refuses them
        # (400) before it sends anything.
        status, body = request(base + concrete, m, token,
                               b"{" if m == "POST" else None)
        if no_route(status, body):
            findings.append("%s %s (%s) is documented but not served: %d %s"
                            % (m, p, concrete, status, body[:200]))
    for m, concrete in (("GET", "/v1/runs/x/undocumented"),
                        ("POST", "/v1/lag"), ("GET", "/v1/nowhere")):
        status, body = request(base + concrete, m, token)
        if not no_route(status, body):
            findings.append("%s %s should be 404 no route, is %d %s"
                            % (m, concrete, status, body[:200]))
    if not findings:
        print("probe: the %d documented operations are served"
              % len(operations(doc)))
    return fail(findings)


# ---- responses -------------------------------------------------------------

SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
OAS_ONLY = ("nullable", "example", "discriminator", "readOnly", "writeOnly",
            "xml", "externalDocs", "deprecated")


def to_jsonschema(s):
    """An OpenAPI 3.0 schema object as JSON Schema draft 4."""
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k in OAS_ONLY:
            continue
        if k == "properties":
            out[k] = {name: to_jsonschema(sub) for name, sub in v.items()}
        elif k in ("items", "not") or (k == "additionalProperties"
                                       and isinstance(v, dict)):
            out[k] = to_jsonschema(v)
        elif k in SCHEMA_LISTS:
            out[k] = [to_jsonschema(sub) for sub in v]
        else:
            out[k] = v
    if s.get("nullable") is True:
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def match_path(doc, concrete):
    """The documented path template concrete is an instance of, or None;
    literal segments win over parameters."""
    segs = concrete.split("?")[0].split("/")
    best = None
    for tmpl in doc.get("paths", {}):
        t = tmpl.split("/")
        if len(t) != len(segs):
            continue
        score = 0
        for a, b in zip(t, segs):
            if a.startswith("{") and a.endswith("}") and b:
                continue
            if a != b:
                break
            score += 1
        else:
            if best is None or score > best[0]:
                best = (score, tmpl)
    return best and best[1]


def check_one(doc, conv, cap):
    """Findings for one captured answer."""
    where = "%s %s -> %s" % (cap["method"], cap["path"], cap["status"])
    tmpl = match_path(doc, cap["path"])
    op = tmpl and doc["paths"][tmpl].get(cap["method"].lower())
    if not op:  # no route: the generic 404 error
        if str(cap["status"]) != "404":
            return ["%s: undocumented route answered %s" % (where,
                                                             cap["status"])]
        schema = {"$ref": "#/components/schemas/Error"}
        ctype = "application/json"
    else:
        resp = op.get("responses", {}).get(str(cap["status"]))
        if resp is None:
            return ["%s: status %s is not documented for %s %s"
                    % (where, cap["status"], cap["method"], tmpl)]
        if "$ref" in resp:
            resp = resolve(doc, resp["$ref"])
        ctype = (cap.get("content_type") or "").split(";")[0].strip()
        content = resp.get("content", {})
        if ctype not in content:
            return ["%s: content type %r is not documented (%s)"
                    % (where, ctype, ", ".join(content) or "none")]
        schema = content[ctype].get("schema", {})
    if ctype != "application/json":
        body = cap["body"]
        return [] if isinstance(body, str) and body else \
            ["%s: empty %s body" % (where, ctype)]
    try:
        body = json.loads(cap["body"])
    except ValueError as e:
        return ["%s: body is not JSON: %s" % (where, e)]
    resolver = jsonschema.RefResolver.from_schema(conv)
    v = jsonschema.Draft4Validator(to_jsonschema(schema), resolver=resolver)
    return ["%s: %s at /%s (body %s)" % (where, e.message,
            "/".join(str(p) for p in e.absolute_path), cap["body"][:300])
            for e in v.iter_errors(body)]


def cmd_responses(path, captures):
    doc = load(path)
    conv = copy.deepcopy(doc)
    conv["components"]["schemas"] = {
        k: to_jsonschema(v) for k, v in doc["components"]["schemas"].items()}
    findings, seen = [], set()
    with open(captures) as f:
        caps = [json.loads(line) for line in f if line.strip()]
    for cap in caps:
        findings += check_one(conv, conv, cap)
        tmpl = match_path(doc, cap["path"]) or "(no route)"
        seen.add("%s %s %s" % (cap["method"], tmpl, cap["status"]))
    if not caps:
        findings.append("no captured answers in " + captures)
    if not findings:
        print("responses: %d answers valid (%d operation/status pairs):"
              % (len(caps), len(seen)))
        for s in sorted(seen):
            print("  " + s)
    return fail(findings)


# ---- mutate ----------------------------------------------------------------

def cmd_mutate(path, out, kind):
    doc = load(path)
    s = doc["components"]["schemas"]
    if kind == "status-type":  # the describe object's status as an integer
        s["Describe"]["properties"]["status"] = {"type": "integer"}
    elif kind == "drop-route":  # a served route left out
        del doc["paths"]["/v1/runs/{id}/live"]
    elif kind == "extra-required":  # a field the server never sends
        s["HistoryPage"]["required"].append("total")
    elif kind == "drop-status":  # the 413 answer of starting a run
        del doc["paths"]["/v1/runs"]["post"]["responses"]["413"]
    elif kind == "bad-spec":  # a response without its description
        del doc["paths"]["/healthz"]["get"]["responses"]["200"]["description"]
    else:
        print("check.py: unknown mutation " + kind, file=sys.stderr)
        return 2
    with open(out, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    return 0


def main(argv):
    cmds = {"spec": (cmd_spec, 1, 1), "routes": (cmd_routes, 3, 3),
            "probe": (cmd_probe, 2, 3), "responses": (cmd_responses, 2, 2),
            "mutate": (cmd_mutate, 3, 3)}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    fn, lo, hi = cmds[argv[1]]
    args = argv[2:]
    if not lo <= len(args) <= hi:
        print(__doc__, file=sys.stderr)
        return 2
    return fn(*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
