// Produces the known record set of tests/it/client_vectors.rs with Kafka's
// own Java producer, once per codec, each codec to a topic of its own
// ("java-<codec>", one partition). Run by make-vectors.sh as a single-file
// source program on the cached Kafka classpath.
//   usage: java -cp 'LIBS/*' VectorProducer.java BOOTSTRAP
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class VectorProducer {
    static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};
    // Keep these in step with the expectations in client_vectors.rs.
    static final int RECORDS = 60;
    static final int LARGE = 30;
    static final int LARGE_BYTES = 150_000;

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] key(int i) {
        return i == 7 ? null : utf8("key-" + (i % 9));
    }

    // Record LARGE spans several blocks of every codec's framing (lz4 64 KiB,
    // snappy-java 32 KiB); every tenth record but the first has an empty value.
    static byte[] value(int i) {
        if (i == LARGE) {
            StringBuilder b = new StringBuilder(LARGE_BYTES);
            long x = 12345;
            while (b.length() < LARGE_BYTES) {
                x = (x * 6364136223846793005L + 1442695040888963407L);
                b.append("line ").append(b.length()).append(' ').append(Long.toHexString(x >>> 20)).append('\n');
            }
            return utf8(b.substring(0, LARGE_BYTES));
        }
        if (i % 10 == 0 && i > 0) {
            return new byte[0];
        }
        return utf8("{\"id\":" + i + ",\"name\":\"user-" + (i % 9) + "\",\"active\":" + (i % 2 == 0) + "}");
    }

    public static void main(String[] args) throws Exception {
        for (String codec : CODECS) {
            Properties p = new Properties();
            p.put("bootstrap.servers", args[0]);
            p.put("compression.type", codec);
            p.put("acks", "all");
            p.put("linger.ms", "1000");
            p.put("batch.size", "1048576");
            p.put("key.serializer", ByteArraySerializer.class.getName());
            p.put("value.serializer", ByteArraySerializer.class.getName());
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
                String topic = "java-" + codec;
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                // Two flushes: the records split into two batches per codec.
                for (int i = 0; i < RECORDS; i++) {
                    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, 0, key(i), value(i));
                    if (i % 3 == 0) {
                        r.headers().add("trace", utf8("t-" + i));
                    }
                    if (i % 5 == 0) {
                        r.headers().add("empty", new byte[0]);
                    }
                    sent.add(producer.send(r));
                    if (i == RECORDS / 2 - 1) {
                        producer.flush();
                    }
                }
                producer.flush();
                for (Future<RecordMetadata> f : sent) {
                    f.get();
                }
            }
        }
    }
}
