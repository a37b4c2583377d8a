// One member of a Kafka consumer group through Kafka's own Java client with
// group.protocol=consumer (KIP-848: server-side assignment), in its own JVM,
// driven by bench/groups/rebalance.mjs over stdin/stdout (JSON lines, as
// member-polywire.mjs). Run as a single source file:
//   java -cp <kafka classpath> Member.java <bootstrap> <group> <topic>
// The server-side assignor is the broker's (group.consumer.assignors holds
// exactly one in Kafka 4.4; the default, uniform).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class Member {
  static final Set<Integer> assigned = new TreeSet<>();
  static volatile long markId = -1;
  static volatile double markT = Double.POSITIVE_INFINITY;
  static volatile boolean join = false;
  static volatile boolean close = false;

  static synchronized void say(String json) {
    System.out.println(json);
    System.out.flush();
  }

  static double now() {
    java.time.Instant i = java.time.Instant.now();
    return i.getEpochSecond() * 1000.0 + i.getNano() / 1e6;
  }

  static void report() {
    StringBuilder b = new StringBuilder("{\"assigned\":[");
    boolean first = true;
    for (int p : assigned) {
      if (!first) b.append(',');
      b.append(p);
      first = false;
    }
    say(b.append("]}").toString());
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], group = args[1], topic = args[2];
    Thread input = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.contains("\"join\"")) join = true;
          else if (line.contains("\"close\"")) close = true;
          else if (line.contains("\"mark\"")) {
            // {"mark":N,"t":T}: written by rebalance.mjs, so this fixed shape is all there is to read.
            String body = line.replaceAll("[{}\"a-z:]", " ").trim();
            String[] parts = body.split("[ ,]+");
            markT = Double.parseDouble(parts[1]);
            markId = Long.parseLong(parts[0]);
          }
        }
      } catch (Exception e) {
        // stdin closed: the parent is gone.
      }
      System.exit(0);
    });
    input.setDaemon(true);
    input.start();
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("group.id", group);
    props.put("group.protocol", "consumer");
    props.put("auto.offset.reset", "latest");
    props.put("fetch.max.wait.ms", "100");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      // Made before joining (its classes loaded, its metadata fetched): the benchmark times the group protocol, not a cold JVM.
      consumer.partitionsFor(topic);
      say("{\"ready\":true}");
      while (!join) Thread.sleep(1);
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
          for (TopicPartition tp : parts) assigned.remove(tp.partition());
          report();
        }
        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
          for (TopicPartition tp : parts) assigned.add(tp.partition());
          report();
        }
        public void onPartitionsLost(Collection<TopicPartition> parts) {
          onPartitionsRevoked(parts);
        }
      });
      long seenMark = -2;
      Set<Integer> reported = new HashSet<>();
      while (!close) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(10));
        double t = now();
        long id = markId;
        if (id != seenMark) {
          seenMark = id;
          reported.clear();
        }
        if (t < markT) continue;
        for (TopicPartition tp : records.partitions()) {
          if (reported.add(tp.partition())) say("{\"first\":" + id + ",\"p\":" + tp.partition() + ",\"t\":" + t + "}");
        }
      }
    }
    say("{\"closed\":true}");
    System.exit(0);
  }
}
