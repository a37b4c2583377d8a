// The markdown section of bench/RESULTS.md for one run of run.mjs.

const int = (n) => Math.round(n).toLocaleString("en-US");
const mb = (n) => n.toFixed(1);
const us = (n) => n.toFixed(0);
const triple = (s, f) => `${f(s.min)} / ${f(s.median)} / ${f(s.max)}`;

/**
 * A ratio of two min/median/max spreads: the medians' ratio, and the
 * range from the least to the most favourable pairing of runs.
 */
function ratio(a, b) {
  return { median: a.median / b.median, low: a.min / b.max, high: a.max / b.min };
}

const POLYWIRE = ["polywire tcp, memory", "polywire tcp, disk"];

/** Target rows: [section, polywire row, peer row, metric, bound, "≥" | "≤", what]. */
function targets(results) {
  const rows = [];
  const push = (section, peer, metric, bound, op, what, polywireRows = POLYWIRE) => {
    const table = results[section];
    if (table === undefined || table[peer] === undefined) return;
    for (const row of polywireRows) {
      if (table[row] === undefined) continue;
      const r = ratio(table[row][metric], table[peer][metric]);
      const met = op === "≥" ? r.median >= bound : r.median <= bound;
      rows.push(`| ${what} | ${row} | ${peer} | ${op} ${bound}× | **${r.median.toFixed(2)}×** (${r.low.toFixed(2)}–${r.high.toFixed(2)}) | ${met ? "met" : "**missed**"} |`);
    }
  };
  push("produce 100B", "core NATS pub/sub", "records", 1, "≥", "produce 100 B, records/s");
  push("produce 100B", "JetStream async publish", "records", 10, "≥", "produce 100 B, records/s");
  push("produce 100B", "Redis pipelined XADD", "records", 4, "≥", "produce 100 B, records/s");
  push("consume 100B", "JetStream ordered consumer", "records", 3, "≥", "consume 100 B, records/s");
  push("consume 100B", "Redis XREAD COUNT 5000", "records", 2, "≥", "consume 100 B, records/s");
  push("produce 1KiB", "raw TCP, 1 KiB writes", "mbps", 0.5, "≥", "produce 1 KiB, MB/s");
  const latency = results["latency 100B"];
  if (latency !== undefined) {
    const echo = Object.keys(latency).find((k) => k.startsWith("raw TCP echo"));
    push("latency 100B", echo, "p50", 2, "≤", "produce-ack p50, unbatched");
  }
  return rows;
}

/**
 * Rows against Kafka (issue 15): each Polywire row over the Java client's
 * row of the same acks, with the issue's bound, and over KafkaJS's.
 */
function kafkaTargets(results, partitions) {
  const rows = [];
  const push = (section, shape, polywireRows, java, kafkajs, bound) => {
    const table = results[section];
    if (table === undefined || table[java] === undefined) return;
    for (const row of polywireRows) {
      if (table[row] === undefined) continue;
      const r = ratio(table[row].records, table[java].records);
      const js = table[kafkajs] === undefined ? "—" : `${ratio(table[row].records, table[kafkajs].records).median.toFixed(2)}×`;
      rows.push(`| ${shape} | ${row} | ${java} | **${r.median.toFixed(2)}×** (${r.low.toFixed(2)}–${r.high.toFixed(2)}) | ≥ ${bound}× | ${r.median >= bound ? "met" : "**missed**"} | ${js} |`);
    }
  };
  for (const [suffix, shape] of [["", "1 partition"], [" partitions", `${partitions} partitions`]]) {
    push(`produce 100B${suffix}`, `produce, ${shape}`, POLYWIRE, "Kafka: Java producer, acks 1", "Kafka: KafkaJS, acks 1", 1.5);
    push(`produce 100B${suffix}`, `produce, ${shape}`, POLYWIRE.map((r) => `${r}, acks all`), "Kafka: Java producer, acks all", "Kafka: KafkaJS, acks all", 1.5);
    push(`consume 100B${suffix}`, `consume, ${shape}`, [POLYWIRE[0], `${POLYWIRE[0]}, batches()`, POLYWIRE[1]], "Kafka: Java consumer", "Kafka: KafkaJS eachBatch", 1.2);
  }
  return rows;
}

/** The "Log plane" section for a report written by run.mjs. */
export function markdown(report) {
  const { results } = report;
  const out = [];
  out.push(`## Log plane (${report.date.slice(0, 10)})`, "");
  out.push("`node bench/log/run.mjs` (issues 5 and 15): every server started by the script on 127.0.0.1, measured in one run, the systems interleaved in every round.", "");
  out.push(`- Machine: ${report.machine.cores} cores (${report.machine.cpu}), ${report.machine.memoryGiB} GiB, Linux ${report.machine.kernel}; a shared VM where other engineers run builds and tests concurrently.`);
  out.push(`- Load: before \`${report.load.before}\`; after \`${report.load.after}\`.`);
  out.push(`- Versions: ${Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`);
  out.push(`- Each figure: min / median / max of ${report.settings.runs} runs of ≥ ${report.settings.seconds} s after a warm-up run; at most ${int(report.settings.window)} records unacknowledged (JetStream: ${int(report.settings.jsWindow)} pending acks); consume passes over ${int(report.settings.consumeRecords)} stored records (Kafka's Java consumer: one pass over ${int(report.settings.javaConsumeRecords ?? 0)}, the first 40 % its warm-up).`);
  out.push("");
  const partitions = report.settings.partitions;
  for (const [section, title] of [["produce 100B", "100 B records"], ["produce 1KiB", "1 KiB records"], ["produce 100B partitions", `100 B records, ${partitions} partitions`]]) {
    const table = results[section];
    if (table === undefined) continue;
    out.push(`### Produce throughput, ${title}, batched`, "");
    out.push("| system | records/s | MB/s (values) |", "| --- | --- | --- |");
    for (const [name, r] of Object.entries(table)) out.push(`| ${name} | ${name.startsWith("raw TCP") ? `(${triple(r.records, int)} writes/s)` : triple(r.records, int)} | ${triple(r.mbps, mb)} |`);
    out.push("");
  }
  for (const [section, title] of [["consume 100B", "100 B records"], ["consume 100B partitions", `100 B records, ${partitions} partitions`]]) {
    if (results[section] === undefined) continue;
    out.push(`### Consume throughput, ${title}`, "", "| system | records/s |", "| --- | --- |");
    for (const [name, r] of Object.entries(results[section])) out.push(`| ${name} | ${triple(r.records, int)} |`);
    out.push("");
  }
  if (results["latency 100B"] !== undefined) {
    out.push("### Produce-ack latency, unbatched, 100 B records (one in flight)", "", "| system | p50 µs | p99 µs |", "| --- | --- | --- |");
    for (const [name, r] of Object.entries(results["latency 100B"])) out.push(`| ${name} | ${triple(r.p50, us)} | ${triple(r.p99, us)} |`);
    out.push("");
  }
  const rows = targets(results);
  if (rows.length > 0) {
    out.push("### Against the issue's targets", "", "Ratio of medians (in brackets: least and most favourable pairing of runs).", "");
    out.push("| target | polywire | peer | bound | ratio | |", "| --- | --- | --- | --- | --- | --- |", ...rows, "");
  }
  const kafkaRows = kafkaTargets(results, partitions);
  if (kafkaRows.length > 0) {
    out.push("### Against Kafka (issue 15)", "", "Ratio of medians, records/s (in brackets: least and most favourable pairing of runs); the rows without \"acks all\" are acks leader against Kafka's acks 1.", "");
    out.push("| shape | polywire | Kafka's Java client | ratio | bound | | ratio to KafkaJS |", "| --- | --- | --- | --- | --- | --- | --- |", ...kafkaRows, "");
  }
  return `${out.join("\n")}\n`;
}
