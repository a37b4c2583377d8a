// partitioning.json: key -> murmur2 -> partition for several partition
// counts (PW-PART-002). The six keys of Kafka's own murmur2 test are checked
// against the values published there before anything is written.
import { hex } from "./messages.mjs";
import { murmur2, partitionFor } from "./murmur2.mjs";
import { text } from "./samples.mjs";

const KAFKA_SOURCE =
  "apache/kafka, clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2 (commit f55581dc73953c3509a4702433aeeeddc2970779)";

// Kafka's published murmur2 values (signed, as Java returns them).
const KAFKA = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
];

const COUNTS = [1, 2, 3, 7, 12, 100, 1000];

// Further keys covering every tail length (key length mod 4), the empty key,
// non-ASCII UTF-8 and bytes with the high bit set (sign extension traps).
const MORE = [
  ["", text("")],
  ["a", text("a")],
  ["hello", text("hello")],
  ["polywir", text("polywir")],
  ["order-1001", text("order-1001")],
  ["ключ", text("ключ")],
  [null, Uint8Array.of(0x00, 0xff, 0x7f, 0x80)],
  [null, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
];

function entry(keyText, key, source) {
  const hash = murmur2(key);
  return {
    keyHex: hex(key),
    keyText,
    murmur2: hash,
    positive: hash & 0x7fffffff,
    partitions: Object.fromEntries(COUNTS.map((n) => [String(n), partitionFor(key, n)])),
    source,
  };
}

export function partitionVectors() {
  for (const [key, want] of KAFKA) {
    const got = murmur2(text(key));
    if (got !== want) throw new Error(`murmur2("${key}") = ${got}, Kafka's test says ${want}`);
  }
  return {
    description:
      "Key to partition vectors for the murmur2 partitioner (PW-PART-002): `murmur2` is the signed 32-bit hash as Kafka's Utils.murmur2 returns it, `positive` is `murmur2 & 0x7fffffff`, and `partitions` maps a partition count to `positive % count`. Entries whose `source` names Kafka were checked against the values Kafka's own test publishes; the others were computed by the same reference implementation.",
    clauses: ["PW-PART-001", "PW-PART-002"],
    counts: COUNTS,
    vectors: [
      ...KAFKA.map(([key]) => entry(key, text(key), KAFKA_SOURCE)),
      ...MORE.map(([keyText, key]) => entry(keyText, key, "computed by scripts/vectors/murmur2.mjs")),
    ],
  };
}
