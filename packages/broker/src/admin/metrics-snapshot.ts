import type { MessageInitShape } from "@bufbuild/protobuf";
import { MetricType, type MetricFamilySchema, type SampleSchema } from "@polywire/proto/admin";
import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from "prom-client";

type Family = MessageInitShape<typeof MetricFamilySchema>;
type Sample = MessageInitShape<typeof SampleSchema>;
type Labels = Record<string, string | number>;

const TYPES: Readonly<Record<string, MetricType>> = {
  counter: MetricType.COUNTER,
  gauge: MetricType.GAUGE,
  histogram: MetricType.HISTOGRAM,
};

/** Labels ordered by name (PW-ADMIN-044), without the histogram's `le`. */
function sortedLabels(labels: Labels): { name: string; value: string }[] {
  return Object.keys(labels)
    .filter((name) => name !== "le")
    .sort()
    .map((name) => ({ name, value: String(labels[name]) }));
}

function histogramSamples(name: string, values: readonly MetricValueWithName<string>[]): Sample[] {
  // prom-client lists a histogram as _bucket, _sum and _count lines per label set; fold them into one Sample each.
  const byLabels = new Map<string, { labels: { name: string; value: string }[]; count: number; sum: number; buckets: { upperBound: number; count: bigint }[] }>();
  for (const v of values) {
    const labels = sortedLabels(v.labels as Labels);
    const key = JSON.stringify(labels);
    let sample = byLabels.get(key);
    if (sample === undefined) {
      sample = { labels, count: 0, sum: 0, buckets: [] };
      byLabels.set(key, sample);
    }
    if (v.metricName === `${name}_bucket`) {
      const le = (v.labels as Labels).le;
      sample.buckets.push({ upperBound: le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), count: BigInt(v.value) });
    } else if (v.metricName === `${name}_sum`) {
      sample.sum = v.value;
    } else if (v.metricName === `${name}_count`) {
      sample.count = v.value;
    }
  }
  return [...byLabels.values()].map((s) => ({
    labels: s.labels,
    count: BigInt(s.count),
    sum: s.sum,
    buckets: s.buckets.sort((a, b) => a.upperBound - b.upperBound),
  }));
}

/**
 * The registry's metric families whose name starts with `prefix`, ordered
 * by name, as GetMetricsSnapshot returns them (PW-ADMIN-043, PW-ADMIN-044).
 * It reads the same collectors `/metrics` renders, so names, help, types,
 * labels and values agree.
 */
export async function metricFamilies(registry: Registry, prefix: string): Promise<Family[]> {
  const metrics = (await registry.getMetricsAsJSON()) as MetricObjectWithValues<MetricValue<string>>[];
  return metrics
    .filter((m) => m.name.startsWith(prefix))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => {
      const type = TYPES[String(m.type)] ?? MetricType.UNSPECIFIED;
      const samples = type === MetricType.HISTOGRAM
        ? histogramSamples(m.name, m.values as MetricValueWithName<string>[])
        : m.values.map((v) => ({ labels: sortedLabels(v.labels as Labels), value: v.value }));
      return { name: m.name, help: m.help, type, samples };
    });
}
