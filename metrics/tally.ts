// Per-stanza metrics without prom-client's per-call cost: prom-client hashes the label object on
// every inc() and observe() (about 1 µs and 3–4 µs here), which the per-stanza counters and the
// store call timing paid several times per message. These count in plain numbers on the hot path
// and hand the counts to prom-client when it collects (at each scrape), so what is exported is
// the same.
import { type Aggregator, Counter, Histogram, type HistogramConfiguration, type LabelValues, type MetricObjectWithValues, type MetricType, type MetricValueWithName } from 'prom-client';

/**
 * Counts of one counter by its one label, added to the counter when it is collected: set the
 * counter's `collect` to `() => tally.addTo(counter)`.
 */
export class Tally<L extends string, V extends string> {
  private readonly counts = new Map<V, number>();

  constructor(private readonly label: L) {}

  add(value: V): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }

  addTo(counter: Counter<L>): void {
    for (const [value, count] of this.counts) {
      if (count === 0) continue;
      const labels: LabelValues<L> = {};
      labels[this.label] = value;
      counter.inc(labels, count);
      this.counts.set(value, 0);
    }
  }
}

/** One label set of a BucketHistogram: counts per bucket (not cumulative), sum and count. */
export interface HistogramSeries {
  observe(value: number): void;
}

interface Series extends HistogramSeries {
  readonly labels: LabelValues<string>;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A prom-client Histogram whose label sets are bound once (`series(labels)`), so an observation
 * is a bucket search and three additions. It exports what a Histogram exports.
 */
export class BucketHistogram<L extends string = string> extends Histogram<L> {
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, Series>();
  private readonly metricName: string;
  private readonly metricHelp: string;
  private readonly metricAggregator: Aggregator;
  /** The series of no labels, for observe(value) (looked up once, not per observation). */
  private unlabelled: HistogramSeries | undefined;

  constructor(config: HistogramConfiguration<L> & { buckets: number[] }) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.metricName = config.name;
    this.metricHelp = config.help;
    this.metricAggregator = config.aggregator ?? 'sum';
    // prom-client's constructor sets `observe` on the instance, which would hide this class's.
    Reflect.deleteProperty(this, 'observe');
    if ((config.labelNames ?? []).length === 0) this.seriesOf({} as LabelValues<L>);
  }

  /** The series of one label set; keep it, and observe on it. */
  seriesOf(labels: LabelValues<L>): HistogramSeries {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let series = this.series.get(key);
    if (!series) {
      const bounds = this.bounds;
      const created: Series = {
        labels: { ...labels },
        buckets: new Float64Array(bounds.length),
        sum: 0,
        count: 0,
        observe(value: number): void {
          if (!Number.isFinite(value)) return;
          for (let i = 0; i < bounds.length; i++) {
            if (value <= (bounds[i] as number)) {
              (created.buckets[i] as number)++;
              break;
            }
          }
          created.sum += value;
          created.count += 1;
        },
      };
      series = created;
      this.series.set(key, series);
    }
    return series;
  }

  override observe(labelsOrValue: LabelValues<L> | number | object, value?: number): void {
    if (typeof labelsOrValue === 'number') (this.unlabelled ??= this.seriesOf({} as LabelValues<L>)).observe(labelsOrValue);
    else this.seriesOf(labelsOrValue as LabelValues<L>).observe(value ?? Number.NaN);
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    if (this.series === undefined) return;
    for (const series of this.series.values()) {
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<L>>> {
    return this.exported();
  }

  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<L>>> {
    return this.exported();
  }

  private exported(): MetricObjectWithValues<MetricValueWithName<L>> {
    const values: MetricValueWithName<L>[] = [];
    const name = this.metricName;
    const bucketName = `${name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.buckets[i] as number;
        values.push({ labels: { ...series.labels, le: this.bounds[i] } as LabelValues<L>, value: cumulative, metricName: bucketName });
      }
      values.push({ labels: { ...series.labels, le: '+Inf' } as LabelValues<L>, value: series.count, metricName: bucketName });
      values.push({ labels: { ...series.labels } as LabelValues<L>, value: series.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...series.labels } as LabelValues<L>, value: series.count, metricName: `${name}_count` });
    }
    return { name, help: this.metricHelp, type: 'histogram' as unknown as MetricType, aggregator: this.metricAggregator, collect: () => {}, values };
  }
}
