// sentimentStats as the API has always shaped it: taskStats of the task `sentiment`, one count per label.
import type { TaskStats } from '../db/index.js';

export interface LabelCounts {
  total: number;
  positive: number;
  negative: number;
  neutral: number;
}

export interface SentimentSeriesPoint extends LabelCounts {
  /** Start of the UTC bucket. */
  start: Date;
}

export interface SentimentStats extends LabelCounts {
  /** 0 when there is nothing to average. */
  averageConfidence: number;
  /** Non-empty buckets only, ascending by start. */
  series: SentimentSeriesPoint[];
  /** With a `groupBy`: one per value of the tag (null: items without it), most results first. */
  groups?: SentimentStatsGroup[];
}

export interface SentimentStatsGroup extends LabelCounts {
  value: string | null;
  averageConfidence: number;
}

/** taskStats of `sentiment` in the SentimentStats shape: a label that never occurred counts 0. */
export function toSentimentStats(stats: TaskStats): SentimentStats {
  return {
    ...labelCounts(stats),
    averageConfidence: stats.averageConfidence,
    series: stats.series.map((point) => ({ start: point.start, ...labelCounts(point) })),
    ...(stats.groups
      ? {
          groups: stats.groups.map((group) => ({
            value: group.value,
            ...labelCounts(group),
            averageConfidence: group.averageConfidence,
          })),
        }
      : {}),
  };
}

function labelCounts({ total, labels }: Pick<TaskStats, 'total' | 'labels'>): LabelCounts {
  const count = (label: string): number => labels.find((item) => item.label === label)?.count ?? 0;
  return { total, positive: count('positive'), negative: count('negative'), neutral: count('neutral') };
}
