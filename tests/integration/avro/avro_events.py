#!/usr/bin/python3
"""avro_events.py -- produces Avro events for the bridge's avro tests
(tests/integration/0110-bridge-avro.sh) in every framing format avro
reads, with a small Avro binary encoder of its own (python3-avro and
fastavro are not in Debian 12's default install; the schemas of the test
need only records, enums, arrays, maps, unions and primitives).

Reads JSON lines on stdin, one event each:
  {"key": "A1", "value": {...}, "framing": F, ...}
framings:
  registry       0x00 + "id" (4 bytes big-endian) + Avro binary
  single         0xC3 0x01 + CRC-64-AVRO of the text of "pcf" (the
                 schema's Parsing Canonical Form, written by hand in the
                 test) little-endian + Avro binary
  header-id      Avro binary; header avro-schema-id: "id"
  header-subject Avro binary; headers avro-subject: "subject" (and
                 avro-subject-version: "version" when given)
  hex            the bytes of "hex" as they are (garbage, truncations)
"value" is encoded with the schema of the file "schema".

usage: avro_events.py BOOTSTRAP TOPIC < events.jsonl
"""
import json
import struct
import sys

from confluent_kafka import Producer

EMPTY = 0xc15d213aa4d7a795
TABLE = []
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
    TABLE.append(fp)


def crc64(data):
    fp = EMPTY
    for b in data:
        fp = (fp >> 8) ^ TABLE[(fp ^ b) & 0xff]
    return fp


def zigzag(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7f:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode(schema, v, names, ns=""):
    if isinstance(schema, list):  # union: the first branch that fits
        for i, b in enumerate(schema):
            if fits(b, v, names):
                return zigzag(i) + encode(b, v, names, ns)
        raise ValueError("no union branch for %r" % (v,))
    if isinstance(schema, str):
        if schema in names:
            return encode(names[schema], v, names, ns)
        t = schema
        schema = {"type": t}
    t = schema["type"]
    if isinstance(t, (list, dict)):
        return encode(t, v, names, ns)
    if t == "null":
        return b""
    if t == "boolean":
        return b"\x01" if v else b"\x00"
    if t in ("int", "long"):
        return zigzag(v)
    if t == "float":
        return struct.pack("<f", v)
    if t == "double":
        return struct.pack("<d", v)
    if t == "string":
        b = v.encode()
        return zigzag(len(b)) + b
    if t == "bytes":
        b = bytes.fromhex(v)
        return zigzag(len(b)) + b
    if t in ("record", "enum", "fixed"):
        name = schema["name"]
        ns = schema.get("namespace", ns)
        full = name if "." in name else (ns + "." + name if ns else name)
        names[full] = names[name] = schema
    if t == "record":
        return b"".join(encode(f["type"], v[f["name"]], names, ns)
                        for f in schema["fields"])
    if t == "enum":
        return zigzag(schema["symbols"].index(v))
    if t == "array":
        if not v:
            return zigzag(0)
        return zigzag(len(v)) + b"".join(
            encode(schema["items"], x, names, ns) for x in v) + zigzag(0)
    if t == "map":
        if not v:
            return zigzag(0)
        return zigzag(len(v)) + b"".join(
            encode("string", k, names) + encode(schema["values"], x, names, ns)
            for k, x in v.items()) + zigzag(0)
    raise ValueError("type %r" % (t,))


def fits(b, v, names):
    t = b if isinstance(b, str) else b.get("type")
    if t == "null":
        return v is None
    if t == "string":
        return isinstance(v, str)
    if t in ("int", "long"):
        return isinstance(v, int) and not isinstance(v, bool)
    if t in ("float", "double"):
        return isinstance(v, float)
    if t == "boolean":
        return isinstance(v, bool)
    return v is not None


def frame(ev):
    f = ev["framing"]
    if f == "hex":
        return bytes.fromhex(ev["hex"]), []
    with open(ev["schema"]) as fh:
        schema = json.load(fh)
    body = encode(schema, ev["value"], {})
    if f == "registry":
        return b"\x00" + struct.pack(">I", ev["id"]) + body, []
    if f == "single":
        with open(ev["pcf"], "rb") as fh:
            pcf = fh.read().rstrip(b"\n")
        return b"\xc3\x01" + struct.pack("<Q", crc64(pcf)) + body, []
    if f == "header-id":
        return body, [("avro-schema-id", str(ev["id"]))]
    if f == "header-subject":
        h = [("avro-subject", ev["subject"])]
        if "version" in ev:
            h.append(("avro-subject-version", str(ev["version"])))
        return body, h
    raise ValueError("framing %r" % f)


def main():
    p = Producer({"bootstrap.servers": sys.argv[1],
                  "enable.idempotence": True, "linger.ms": 5})
    failed = []

    def report(err, msg):
        if err:
            failed.append(str(err))

    for line in sys.stdin:
        if not line.strip():
            continue
        ev = json.loads(line)
        value, headers = frame(ev)
        p.produce(sys.argv[2], key=ev["key"], value=value, headers=headers,
                  on_delivery=report)
        p.poll(0)
    if p.flush(30) or failed:
        sys.exit("avro_events: not every event was delivered: %s" % failed)


if __name__ == "__main__":
    main()
