"""kafka-python against a tidelog listener: an acks=all producer, two
consumers of one group splitting the partitions, and committed offsets that
survive a restart of the server.

usage: kafka_python_groups.py produce BOOTSTRAP TOPIC N
       kafka_python_groups.py split BOOTSTRAP TOPIC N      (two members, commit)
       kafka_python_groups.py resume BOOTSTRAP TOPIC N M   (after restart: M more)
"""
import sys
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

GROUP = "py-group"


def produce(bootstrap, topic, n, start=0):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    if topic not in admin.list_topics():
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    futures = [
        producer.send(topic, key=b"k%d" % i, value=b"v%d" % i) for i in range(start, start + n)
    ]
    producer.flush()
    offsets = [f.get(timeout=30) for f in futures]
    producer.close()
    print("produced", len(offsets))


def consumer(bootstrap, topic):
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
        consumer_timeout_ms=60000,
    )


def drain(c, want, seen, deadline):
    while len(seen) < want and time.time() < deadline:
        for tp, records in c.poll(timeout_ms=500).items():
            for r in records:
                seen.append((tp.partition, r.offset, r.value))
        c.commit()


def split(bootstrap, topic, n):
    """Two members in their own threads, as two processes would be."""
    members = [consumer(bootstrap, topic) for _ in range(2)]
    seen = [[], []]
    assignments = [set(), set()]
    done = threading.Event()

    def run(i):
        c = members[i]
        while not done.is_set():
            for tp, records in c.poll(timeout_ms=300).items():
                seen[i].extend((tp.partition, r.offset, r.value) for r in records)
            c.commit()
            assignments[i] = {p.partition for p in c.assignment()}

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.time() + 90
    while time.time() < deadline:
        total = len(seen[0]) + len(seen[1])
        if all(assignments) and total >= n:
            break
        time.sleep(0.2)
    done.set()
    for t in threads:
        t.join()
    parts_a, parts_b = assignments
    print("assignment", sorted(parts_a), sorted(parts_b))
    assert parts_a and parts_b and not parts_a & parts_b, (parts_a, parts_b)
    assert parts_a | parts_b == {0, 1, 2}, (parts_a, parts_b)
    values = [v for _, _, v in seen[0] + seen[1]]
    assert len(set(values)) == n, (len(set(values)), n)
    for c in members:
        c.close()
    print("split ok", len(values), "distinct", len(set(values)))


def resume(bootstrap, topic, n, more):
    produce(bootstrap, topic, more, start=n)
    c = consumer(bootstrap, topic)
    seen = []
    drain(c, more, seen, time.time() + 60)
    values = sorted(v for _, _, v in seen)
    assert values == sorted(b"v%d" % i for i in range(n, n + more)), values[:5]
    c.close()
    print("resume ok", len(values))


if __name__ == "__main__":
    cmd, bootstrap, topic = sys.argv[1:4]
    n = int(sys.argv[4])
    if cmd == "produce":
        produce(bootstrap, topic, n)
    elif cmd == "split":
        split(bootstrap, topic, n)
    elif cmd == "resume":
        resume(bootstrap, topic, n, int(sys.argv[5]))
