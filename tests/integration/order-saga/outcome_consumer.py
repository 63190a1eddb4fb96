#!/usr/bin/python3
"""outcome_consumer.py -- a separate service of the order saga example
(tests/integration/0033-order-saga.sh, docs/bridge.md): it consumes
baton.events, reacts to each order saga's end -- the
dev.baton.workflow.completed CloudEvent (binary mode, ce_* headers) whose
data carries the domain event the saga ends with (order.completed,
order.cancelled, order.expired) -- "ships" completed orders, and records
each outcome once: events are deduped on ce_id (an event re-sent after a
crash has the same ce_id), so a second line for an order means the saga
really ended twice.  Stops after EXPECTED distinct outcomes or TIMEOUT s.

usage: outcome_consumer.py BOOTSTRAP OUT EXPECTED TIMEOUT
"""
import json
import sys
import time

from confluent_kafka import Consumer


def zigzag(buf, i):
    """One Avro long at buf[i:]: (value, next index)."""
    shift, acc = 0, 0
    while True:
        b = buf[i]
        i += 1
        acc |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1), i


def avro_string(buf, i):
    n, i = zigzag(buf, i)
    return buf[i:i + n].decode(), i + n


def avro_opt_string(buf, i):
    idx, i = zigzag(buf, i)
    return avro_string(buf, i) if idx == 1 else (None, i)


def decode_event(buf):
    """schemas/event.avsc: workflow_id, seq, type, time_ms, state?, data?"""
    wf, i = avro_string(buf, 0)
    seq, i = zigzag(buf, i)
    typ, i = avro_string(buf, i)
    _, i = zigzag(buf, i)
    _, i = avro_opt_string(buf, i)
    data, i = avro_opt_string(buf, i)
    return {"workflow_id": wf, "seq": seq, "type": typ, "data": data}


def main():
    bootstrap, out, expected, timeout = (sys.argv[1], sys.argv[2],
                                         int(sys.argv[3]), float(sys.argv[4]))
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "order-outcomes",
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe(["baton.events"])
    seen, outcomes, shipped = set(), {}, 0
    deadline = time.time() + timeout
    with open(out, "w") as f:
        while len(outcomes) < expected and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            h = {k: (v.decode() if v else "") for k, v in (m.headers() or [])}
            if h.get("ce_type") != "dev.baton.workflow.completed":
                continue
            if not h.get("ce_subject", "").startswith("order-"):
                continue
            if h["ce_id"] in seen:
                continue  # a re-sent event: already handled
            seen.add(h["ce_id"])
            ev = decode_event(m.value())
            assert ev["workflow_id"] == h["ce_subject"], (ev, h)
            domain = json.loads(ev["data"])["output"]
            if domain["type"] == "order.completed":
                shipped += 1  # the reaction: ship the order
            outcomes.setdefault(domain["orderId"], []).append(domain["type"])
            f.write("%s %s %s\n" % (domain["orderId"], domain["type"],
                                    h["ce_id"]))
            f.flush()
    c.close()
    print("outcome consumer: %d orders ended, %d shipped" %
          (len(outcomes), shipped))


if __name__ == "__main__":
    main()
