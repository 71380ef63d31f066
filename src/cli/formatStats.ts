// Sentiment statistics as text for a terminal: totals with bars, then one line per bucket.
import type { StatsBucket } from '../db/index.js';
import type { SentimentStats } from '../service/sentimentStats.js';

/** Widest bar, in characters; the largest count fills it. */
const BAR_WIDTH = 40;
const BAR_CHAR = '█';
const LABELS = ['positive', 'negative', 'neutral'] as const;

export interface StatsHeading {
  bucket: StatsBucket;
  /** What the numbers cover, e.g. "source chat, from 2026-01-01". */
  scope: string;
}

export function formatStats(stats: SentimentStats, heading: StatsHeading): string {
  const lines = [`Sentiments: ${stats.total} (${heading.scope})`];
  if (stats.total === 0) return `${lines[0]}\n`;
  const largestLabel = Math.max(...LABELS.map((label) => stats[label]));
  for (const label of LABELS) {
    const count = stats[label];
    const share = ((count / stats.total) * 100).toFixed(1).padStart(5);
    lines.push(`  ${label.padEnd(9)}${String(count).padStart(8)}  ${share}%  ${bar(count, largestLabel)}`.trimEnd());
  }
  lines.push(`  average confidence ${stats.averageConfidence.toFixed(3)}`, '', `By ${heading.bucket} (UTC)`);
  const largestBucket = Math.max(...stats.series.map((point) => point.total));
  for (const point of stats.series) {
    const counts = `+${point.positive} -${point.negative} =${point.neutral}`;
    const start = bucketStart(point.start, heading.bucket);
    const chart = bar(point.total, largestBucket).padEnd(BAR_WIDTH);
    lines.push(`  ${start}  ${String(point.total).padStart(8)}  ${chart}  ${counts}`);
  }
  return `${lines.join('\n')}\n`;
}

function bar(count: number, largest: number): string {
  // Any non-zero count shows at least one block, so it never reads as zero.
  return count === 0 ? '' : BAR_CHAR.repeat(Math.max(1, Math.round((count / largest) * BAR_WIDTH)));
}

function bucketStart(start: Date, bucket: StatsBucket): string {
  const iso = start.toISOString();
  if (bucket === 'hour') return `${iso.slice(0, 13)}:00`;
  if (bucket === 'month') return iso.slice(0, 7);
  return iso.slice(0, 10);
}
