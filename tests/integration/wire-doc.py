#!/usr/bin/python3
"""wire-doc.py -- the examples of docs/wire-protocol.md, extracted and
checked (test 0116 runs them against a live stack; this file holds the
parts that need no stack).

The doc marks each fenced block it means to be checked with an info string
"LANG check:NAME" (```sh check:brokers).  The rules, enforced by extract:
  - every fenced block has a language;
  - a block in a runnable or data language (sh, json, conf) carries a
    check: a reader could copy it, so it must work;
  - "text" blocks (a formula, a grammar) may go unchecked;
  - check names are unique, and the doc's set of names is exactly the set
    the test knows: a marked block the test lost, or a check the test
    never runs, both fail.

Usage:
  wire-doc.py extract DOC OUTDIR NAME...   each block to OUTDIR/NAME
  wire-doc.py static OUTDIR                the checks needing no stack:
      task-json, task-avro (decoded by python3-avro with schemas/task.avsc),
      cancel-json (schemas/command.avsc), blob-ref (common/blob.h),
      enc-json (common/crypt.h)
  wire-doc.py stack-conf BLOCK STACKFILE   the doc's stack file keys are the
      real file's, in its key=value form
  wire-doc.py same-fields DOCJSON REALJSON [subset]   the doc's JSON object
      has the field names (in order) of one a live batond wrote
  wire-doc.py v3-task FILE ID              FILE (a task batond sent to a
      batond.tasks.avro.v3.queues queue) is what a version-3 reader (the
      first 13 fields of schemas/task.avsc) consumes exactly, for run ID
Exit 0 when everything holds, 1 with a message naming what does not.
"""
import io
import json
import os
import re
import sys

FENCE = re.compile(r"^```(.*)$")
MUST_CHECK = {"sh", "json", "conf"}


def fail(msg):
    print("wire-doc: " + msg, file=sys.stderr)
    sys.exit(1)


def blocks(doc):
    """(line, info string, body) of every fenced block of doc."""
    out, cur = [], None
    for n, line in enumerate(open(doc, encoding="utf-8"), 1):
        m = FENCE.match(line.rstrip("\n"))
        if cur is None and m:
            cur = (n, m.group(1).strip(), [])
        elif cur is not None and line.rstrip("\n") == "```":
            out.append((cur[0], cur[1], "".join(cur[2])))
            cur = None
        elif cur is not None:
            cur[2].append(line)
    if cur is not None:
        fail("%s:%d: a fenced block is never closed" % (doc, cur[0]))
    return out


def extract(doc, outdir, names):
    seen = {}
    for line, info, body in blocks(doc):
        words = info.split()
        if not words:
            fail("%s:%d: a block without a language (say text, or mark it "
                 "check:NAME)" % (doc, line))
        checks = [w[6:] for w in words[1:] if w.startswith("check:")]
        if words[0] in MUST_CHECK and not checks:
            fail("%s:%d: a %s block without check:NAME: a reader would run "
                 "it, so the test must" % (doc, line, words[0]))
        for c in checks:
            if c in seen:
                fail("%s:%d: check:%s is also at line %d" % (doc, line, c,
                                                             seen[c]))
            seen[c] = line
            with open(os.path.join(outdir, c), "w", encoding="utf-8") as f:
                f.write(body)
    missing = [n for n in names if n not in seen]
    unknown = [c for c in seen if c not in names]
    if missing:
        fail("%s: no block marked check:%s (the test runs it)" %
             (doc, ", check:".join(missing)))
    if unknown:
        fail("%s: check:%s marked in the doc but run by no test" %
             (doc, ", check:".join(unknown)))


def schema(name):
    return json.load(open(os.path.join("schemas", name + ".avsc")))


def field_names(name):
    return [f["name"] for f in schema(name)["fields"]]


def read(outdir, name):
    return open(os.path.join(outdir, name), encoding="utf-8").read()


def check_task_json(outdir):
    text = read(outdir, "task-json")
    obj = json.loads(text)
    names = field_names("task")
    if list(obj) != names:
        fail("task-json: fields %s, schemas/task.avsc has %s (batond writes "
             "every field, in schema order)" % (list(obj), names))
    return obj


def check_task_avro(outdir, task):
    import avro.io
    import avro.schema
    raw, labels = bytearray(), []
    for line in read(outdir, "task-avro").splitlines():
        hexpart, _, comment = line.partition("   ")
        for pair in hexpart.split():
            raw.append(int(pair, 16))
        label = comment.strip().split(":")[0]
        if label:
            labels.append(label)
    names = field_names("task")
    if labels != names:
        fail("task-avro: the lines name fields %s, schemas/task.avsc has %s"
             % (labels, names))
    sch = avro.schema.parse(open("schemas/task.avsc").read())
    buf = io.BytesIO(bytes(raw))
    rec = avro.io.DatumReader(sch, sch).read(avro.io.BinaryDecoder(buf))
    if buf.tell() != len(raw):
        fail("task-avro: the record ends at byte %d of %d" % (buf.tell(),
                                                              len(raw)))
    if rec != task:
        fail("task-avro: decodes to %s, the JSON example is %s" % (rec, task))
    doc = open(DOC, encoding="utf-8").read()
    if "Avro binary (no header), %d bytes" % len(raw) not in doc:
        fail("task-avro: the doc does not say the record is %d bytes"
             % len(raw))


def check_cancel_json(outdir):
    obj = json.loads(read(outdir, "cancel-json"))
    names = field_names("command")
    extra = [k for k in obj if k not in names]
    if extra:
        fail("cancel-json: %s not fields of schemas/command.avsc" % extra)
    if obj.get("kind") != "CANCEL" or not obj.get("task_id"):
        fail("cancel-json: a notice is a CANCEL with task_id: %s" % obj)
    wf = obj["workflow_id"]
    if not re.fullmatch(re.escape(wf) + r"/\d+/\d+(\.[0-9a-f]{1,32})?",
                        obj["task_id"]):
        fail("cancel-json: task_id %s is not a task of %s" % (obj["task_id"],
                                                             wf))


def check_blob_ref(outdir):
    obj = json.loads(read(outdir, "blob-ref"))
    header = open("common/blob.h", encoding="utf-8").read()
    for k in obj:
        if '"%s"' % k not in header:
            fail("blob-ref: key %s is not one common/blob.h defines" % k)
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", obj.get("$baton_ref", "")):
        fail("blob-ref: $baton_ref is not sha256:<64 hex digits>")
    if not isinstance(obj.get("size"), int):
        fail("blob-ref: size is not an integer")


def check_enc_json(outdir):
    obj = json.loads(read(outdir, "enc-json"))
    header = open("common/crypt.h", encoding="utf-8").read()
    m = re.search(r'#define BATON_CRYPT_KEY "([^"]+)"', header)
    if not m or list(obj) != [m.group(1)]:
        fail("enc-json: the object's one key must be common/crypt.h's "
             "BATON_CRYPT_KEY (%s), not %s" % (m and m.group(1), list(obj)))
    if not re.match(r"v1:[A-Za-z0-9._-]+:", obj[m.group(1)]):
        fail("enc-json: the value must start v1:<key id>:")


def conf_keys(text):
    keys = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not re.fullmatch(r"[a-z0-9._]+=\S+", line):
            fail("stack-conf: '%s' is not a key=value line" % line)
        keys.append(line.split("=", 1)[0])
    return keys


def stack_conf(block, real):
    doc_keys = conf_keys(open(block, encoding="utf-8").read())
    real_keys = conf_keys(open(real, encoding="utf-8").read())
    if sorted(doc_keys) != sorted(real_keys):
        fail("stack-conf: the doc shows keys %s, the stack file has %s" %
             (doc_keys, real_keys))


def same_fields(doc_json, real_json, subset):
    d = json.loads(open(doc_json, encoding="utf-8").read())
    r = json.loads(open(real_json, encoding="utf-8").read())
    if subset:
        extra = [k for k in d if k not in r]
        if extra:
            fail("%s: fields %s are not in what batond wrote: %s" %
                 (doc_json, extra, list(r)))
    elif list(d) != list(r):
        fail("%s: fields %s, batond wrote %s" % (doc_json, list(d), list(r)))


def v3_task(path, wf):
    import avro.io
    import avro.schema
    raw = open(path, "rb").read()
    sch = schema("task")
    sch["fields"] = sch["fields"][:13]
    sch = avro.schema.parse(json.dumps(sch))
    buf = io.BytesIO(raw)
    rec = avro.io.DatumReader(sch, sch).read(avro.io.BinaryDecoder(buf))
    if buf.tell() != len(raw):
        fail("v3-task: a version-3 reader takes %d of the %d bytes" %
             (buf.tell(), len(raw)))
    if rec["workflow_id"] != wf:
        fail("v3-task: a task of %s, not %s" % (rec["workflow_id"], wf))


DOC = os.environ.get("WIRE_DOC", "docs/wire-protocol.md")

if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "extract":
        extract(a[1], a[2], a[3:])
    elif len(a) == 2 and a[0] == "static":
        check_task_avro(a[1], check_task_json(a[1]))
        check_cancel_json(a[1])
        check_blob_ref(a[1])
        check_enc_json(a[1])
    elif len(a) == 3 and a[0] == "stack-conf":
        stack_conf(a[1], a[2])
    elif len(a) in (3, 4) and a[0] == "same-fields":
        same_fields(a[1], a[2], len(a) == 4 and a[3] == "subset")
    elif len(a) == 3 and a[0] == "v3-task":
        v3_task(a[1], a[2])
    else:
        fail("usage: see the comment at the top of this file")
