// What the sentiment view shows of one classify task, in one shape: sentiment from `sentimentStats` (as it always
// was), any other task from `taskStats`; and the words that go with it, in the page language.
import { SERIES, labelColour } from './chart.js';
import { t } from './i18n.js';
import { labelName, taskName } from './taskNames.js';

const SENTIMENT_STATS = `query SentimentStats($filter: SentimentStatsFilter, $bucket: TimeBucket) {
  sentimentStats(filter: $filter, bucket: $bucket) {
    total positive negative neutral averageConfidence
    series { start total positive negative neutral }
  }
}`;

const TASK_STATS = `query TaskStats($task: String!, $filter: SentimentStatsFilter, $bucket: TimeBucket) {
  taskStats(task: $task, filter: $filter, bucket: $bucket) {
    total averageConfidence
    labels { label count }
    series { start total labels { label count } }
  }
}`;

/**
 * `task`'s figures for `filter` and `bucket`; `taskLabels` are the labels the task defines, in order. Resolves with
 * `{ task, total, averageConfidence, labels, points }`: `labels` as `{ key, colour, count }` from the bottom of a bar
 * up (every defined label, counted or not), `points` the non-empty buckets as `{ start, total, counts }`.
 */
export async function loadFigures(api, { task, taskLabels, filter, bucket }) {
  if (task === 'sentiment') {
    const { sentimentStats: stats } = await api.request(SENTIMENT_STATS, { filter, bucket });
    return {
      task,
      total: stats.total,
      averageConfidence: stats.averageConfidence,
      labels: SERIES.map((key) => ({ key, colour: key, count: stats[key] })),
      points: stats.series.map((point) => ({
        start: point.start,
        total: point.total,
        counts: Object.fromEntries(SERIES.map((key) => [key, point[key]])),
      })),
    };
  }
  const { taskStats: stats } = await api.request(TASK_STATS, { task, filter, bucket });
  const totals = countsOf(stats.labels);
  // Labels stored before a TASKS_FILE change still count, after the ones the task defines now.
  const former = Object.keys(totals)
    .filter((label) => !taskLabels.includes(label))
    .sort();
  return {
    task,
    total: stats.total,
    averageConfidence: stats.averageConfidence,
    labels: [...taskLabels, ...former].map((key) => ({
      key,
      colour: labelColour(taskLabels, key),
      count: totals[key] ?? 0,
    })),
    points: stats.series.map((point) => ({ start: point.start, total: point.total, counts: countsOf(point.labels) })),
  };
}

export function chartTitle({ task }, bucket) {
  if (task === 'sentiment') return t(`stats.chartTitle.${bucket}`);
  return t(`stats.taskChartTitle.${bucket}`, { task: taskName(task) });
}

export function chartDescription(figures) {
  const { task, total, labels } = figures;
  if (task === 'sentiment')
    return t('stats.chartDesc', { total, ...Object.fromEntries(labels.map(({ key, count }) => [key, count])) });
  return t('stats.taskChartDesc', {
    total,
    counts: countList(
      task,
      labels.map(({ key, count }) => [key, count]),
    ),
  });
}

/** A bar's tooltip: when, and how many of each label. */
export function barTitle({ task, labels }, slot, when) {
  if (task === 'sentiment') return t('stats.barTitle', { ...slot.counts, when });
  return t('stats.taskBarTitle', {
    when,
    counts: countList(
      task,
      labels.map(({ key }) => [key, slot.counts[key] ?? 0]),
    ),
  });
}

/** The note over an empty chart: its key and arguments, for `localize`. */
export function emptyNote({ task }) {
  return task === 'sentiment' ? ['stats.empty'] : ['stats.taskEmpty', { task: taskName(task) }];
}

function countsOf(entries) {
  return Object.fromEntries(entries.map(({ label, count }) => [label, count]));
}

/** "3 question, 1 other": the labels that occurred, or "no results". */
function countList(task, counts) {
  const occurred = counts.filter(([, count]) => count > 0);
  if (occurred.length === 0) return t('stats.noResults');
  return occurred
    .map(([label, count]) => t('stats.labelCount', { count, label: labelName(task, label) }))
    .join(t('stats.listSeparator'));
}
