// Mean and nearest-rank percentiles of per-text measurements (latency, prompt tokens).

export interface Distribution {
  mean: number;
  p50: number;
  p95: number;
}

/**
 * Nearest-rank percentile: the smallest value with at least p% of the values at or below it
 * (sorted[ceil(p/100 * n) - 1]); it is always an observed value, so it is easy to check by hand.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? 0;
}

export function summarize(values: readonly number[]): Distribution {
  const total = values.reduce((sum, value) => sum + value, 0);
  return {
    mean: values.length === 0 ? 0 : total / values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
  };
}
