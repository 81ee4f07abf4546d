#!/usr/bin/env bash
# Regenerates tests/it/vectors/java-<codec>.log: starts a throwaway Kafka,
# has Kafka's own Java producer (VectorProducer.java, on the cached jars)
# write the known record set once per codec, stops the broker cleanly and
# copies each topic's first segment file. The broker keeps the producer's
# batches byte for byte (compression.type=producer, Kafka's default), so the
# files are what the Java client sent.
#   usage: kafka-harness/make-vectors.sh     (after kafka-harness/fetch.sh)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_libs

out=$HARNESS_DIR/../tests/it/vectors
dir=$(mktemp -d)
trap '"$HARNESS_DIR/stop-kafka.sh" "$dir" || true; rm -rf "$dir"' EXIT

bootstrap=$("$HARNESS_DIR/start-kafka.sh" "$dir")
"$JAVA" -Xmx256m -cp "$KAFKA_LIBS/*" "$HARNESS_DIR/VectorProducer.java" "$bootstrap"
# A controlled shutdown flushes the segments; they are copied after it.
"$HARNESS_DIR/stop-kafka.sh" "$dir"
for codec in none gzip snappy lz4 zstd; do
  cp "$dir/data/java-$codec-0/00000000000000000000.log" "$out/java-$codec.log"
  echo "tests/it/vectors/java-$codec.log: $(stat -c %s "$out/java-$codec.log") bytes"
done
