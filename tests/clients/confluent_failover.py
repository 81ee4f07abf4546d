"""confluent-kafka (librdkafka) with enable.idempotence=true against a
tidelog listener: the leader broker is killed through the server's control
pipe while records are in flight; every acknowledged record must then be
consumed exactly once.

usage: confluent_failover.py BOOTSTRAP CONTROL_FIFO TOPIC N
"""
import collections
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def main(bootstrap, control, topic, n):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])[topic].result()
    leader = admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader
    acked = []
    failed = []

    def on_delivery(err, msg):
        if err is None:
            acked.append(msg.value())
        else:
            failed.append((msg.value(), str(err)))

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 60000,
        }
    )
    def send(first, last):
        for i in range(first, last):
            producer.produce(topic, key=b"k%d" % (i % 7), value=b"v%d" % i, on_delivery=on_delivery)
            producer.poll(0)

    # A quarter acknowledged, a quarter in flight when the leader dies, the
    # rest sent while the cluster fails over.
    send(0, n // 4)
    assert producer.flush(30) == 0
    send(n // 4, n // 2)
    with open(control, "w") as pipe:
        pipe.write("kill %d\n" % leader)
    print("killed broker", leader, "after", len(acked), "acks", flush=True)
    send(n // 2, n)
    assert producer.flush(90) == 0, "records still in flight"
    print("acked", len(acked), "failed", len(failed), flush=True)
    meta = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
    print("new leader", meta.leader, flush=True)
    assert meta.leader != leader

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "failover-check",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    counts = collections.Counter()
    deadline = time.time() + 60
    while time.time() < deadline and sum(counts.values()) < len(acked):
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            counts[msg.value()] += 1
    consumer.close()
    missing = [v for v in acked if counts[v] == 0]
    doubled = [v for v, c in counts.items() if c > 1]
    print("consumed", sum(counts.values()), "missing", len(missing), "doubled", len(doubled))
    assert not missing, missing[:5]
    assert not doubled, doubled[:5]
    print("failover ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
