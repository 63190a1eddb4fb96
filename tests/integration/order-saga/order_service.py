#!/usr/bin/python3
"""order_service.py -- plays the order and payment services of the order saga
example (tests/integration/0033-order-saga.sh, docs/bridge.md): for orders
1..N it emits order.created on saga.orders and then, by order number,
payment.settled on saga.payments (i % 3 == 0), order.cancelled on
saga.orders (i % 3 == 1) or nothing (i % 3 == 2: the saga times out).
Every sixth order's payment is sent *before* its order.created, on the
other topic: batond holds that signal until the saga starts.  Writes the
expected outcome of each order to EXPECT ("<orderId> <event type>").

usage: order_service.py BOOTSTRAP N EXPECT [DELAY_MS]
"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, n, expect = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    delay = (int(sys.argv[4]) if len(sys.argv) > 4 else 20) / 1000.0
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 1})
    failed = []

    def report(err, msg):
        if err:
            failed.append(str(err))

    def emit(topic, key, value):
        p.produce(topic, key=key, value=json.dumps(value), on_delivery=report)
        p.poll(0)

    with open(expect, "w") as out:
        for i in range(1, n + 1):
            oid = "S%d" % i
            paid = {"type": "payment.settled", "orderId": oid,
                    "paymentId": "pay-%d" % i}
            if i % 6 == 0:
                emit("saga.payments", oid, paid)  # before its order exists
            emit("saga.orders", oid, {"type": "order.created", "orderId": oid,
                                      "amount": i})
            if i % 3 == 0 and i % 6 != 0:
                emit("saga.payments", oid, paid)
            elif i % 3 == 1:
                emit("saga.orders", oid,
                     {"type": "order.cancelled", "orderId": oid})
            outcome = ("order.completed", "order.cancelled",
                       "order.expired")[i % 3]
            out.write("%s %s\n" % (oid, outcome))
            time.sleep(delay)
    if p.flush(30) or failed:
        sys.exit("order service: not every event was delivered: %s" % failed)


if __name__ == "__main__":
    main()
