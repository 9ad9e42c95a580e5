// A latency histogram with logarithmic buckets (0.5 % relative precision, from 1 µs to hours),
// cheap to record into and to merge across generator processes.

const SCALE = 200; // buckets per unit of ln(1 + µs)
const BUCKETS = 4200; // ln(1 + 1.3e9 µs) * 200 ≈ 4190

export interface HistogramData {
  /** [bucket, count] pairs. */
  buckets: Array<[number, number]>;
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  sumMs = 0;
  minMs = Number.POSITIVE_INFINITY;
  maxMs = 0;

  record(ms: number): void {
    const us = ms > 0 ? ms * 1000 : 0;
    let bucket = Math.floor(Math.log1p(us) * SCALE);
    if (bucket >= BUCKETS) bucket = BUCKETS - 1;
    this.counts[bucket]!++;
    this.count++;
    this.sumMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.minMs = Number.POSITIVE_INFINITY;
    this.maxMs = 0;
  }

  merge(other: Histogram | HistogramData): void {
    if (other instanceof Histogram) {
      for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    } else {
      for (const [bucket, count] of other.buckets) this.counts[bucket]! += count;
    }
    this.count += other.count;
    this.sumMs += other.sumMs;
    this.minMs = Math.min(this.minMs, other.minMs);
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  /** q in [0, 1]; milliseconds (the bucket's midpoint, exact max for q = 1). */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    if (q >= 1) return this.maxMs;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const mid = (Math.expm1(i / SCALE) + Math.expm1((i + 1) / SCALE)) / 2 / 1000;
        return Math.min(Math.max(mid, this.minMs), this.maxMs);
      }
    }
    return this.maxMs;
  }

  mean(): number {
    return this.count === 0 ? Number.NaN : this.sumMs / this.count;
  }

  toData(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, sumMs: this.sumMs, minMs: this.count ? this.minMs : 0, maxMs: this.maxMs };
  }

  static from(data: HistogramData): Histogram {
    const histogram = new Histogram();
    histogram.merge(data);
    if (data.count === 0) histogram.minMs = Number.POSITIVE_INFINITY;
    return histogram;
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarize(histogram: Histogram): LatencySummary {
  return {
    count: histogram.count,
    p50: histogram.quantile(0.5),
    p99: histogram.quantile(0.99),
    p999: histogram.quantile(0.999),
    max: histogram.quantile(1),
    mean: histogram.mean(),
  };
}
