// A job's label counts per tag value as the stacked bar chart of the statistics view: one bar per value, one segment
// per label.
import { SERIES, labelColour, stackedBarChart } from './chart.js';
import { t } from './i18n.js';
import { labelName, taskName } from './taskNames.js';

const CHART_HEIGHT = 260;

/**
 * `stats`: taskStats' answer (with `groups` when `tag` is set); `taskLabels`: the task's labels in order. Returns the
 * chart and its legend entries (`{ key, colour }`).
 */
export function jobChart({ stats, task, taskLabels, tag, width }) {
  const counted = (stats.labels ?? []).map(({ label }) => label).filter((label) => !taskLabels.includes(label));
  const keys = task === 'sentiment' ? SERIES : [...taskLabels, ...counted.sort()];
  const series = keys.map((key) => ({ key, colour: task === 'sentiment' ? key : labelColour(taskLabels, key) }));
  const groups = tag ? (stats.groups ?? []) : [{ value: null, total: stats.total, labels: stats.labels }];
  const slots = groups.map((group) => ({
    start: group.value ?? '',
    total: group.total,
    counts: Object.fromEntries(group.labels.map(({ label, count }) => [label, count])),
  }));
  const valueName = (slot) => (slot.start !== '' ? slot.start : t(tag ? 'jobs.noValue' : 'jobs.allRows'));
  const countList = (counts) =>
    keys
      .filter((key) => counts[key] > 0)
      .map((key) => t('stats.labelCount', { count: counts[key], label: labelName(task, key) }))
      .join(t('stats.listSeparator')) || t('stats.noResults');
  const svgElement = stackedBarChart({
    slots,
    series,
    width,
    height: CHART_HEIGHT,
    title: tag ? t('jobs.chartTitle', { task: taskName(task), tag }) : t('jobs.chartTitleAll', { task: taskName(task) }),
    description: t('stats.taskChartDesc', { total: stats.total, counts: countList(totalsOf(stats.labels)) }),
    tickLabel: valueName,
    barTitle: (slot) => t('stats.taskBarTitle', { when: valueName(slot), counts: countList(slot.counts) }),
  });
  svgElement.dataset.task = task;
  svgElement.dataset.tag = tag ?? '';
  return { svg: svgElement, series };
}

function totalsOf(labels) {
  return Object.fromEntries((labels ?? []).map(({ label, count }) => [label, count]));
}
