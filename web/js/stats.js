// The sentiment view: totals and a stacked chart per hour or day, for sentiment (`sentimentStats`) or another classify
// task (`taskStats`), for everything or one conversation.
import { SERIES, stackedBarChart } from './chart.js';
import { byId, h } from './dom.js';
import { formatDateTime, formatPercent, localize, t } from './i18n.js';
import { errorNotice } from './messageViews.js';
import { barTitle, chartDescription, chartTitle, emptyNote, loadFigures } from './statsFigures.js';
import { localizeLabelName, localizeTaskName } from './taskNames.js';

const TASKS = `query StatsTasks { tasks { name kind labels { name } } }`;
const CONVERSATIONS = `query ScopeConversations { conversations(first: 100) { edges { node { id title updatedAt } } } }`;

const HOUR_MS = 3_600_000;
const PERIODS = {
  hour: {
    bucket: 'HOUR',
    slotMs: HOUR_MS,
    slots: 48,
    tick: { hour: '2-digit', minute: '2-digit' },
    long: { dateStyle: 'medium', timeStyle: 'short' },
  },
  day: {
    bucket: 'DAY',
    slotMs: 24 * HOUR_MS,
    slots: 30,
    tick: { month: 'short', day: 'numeric' },
    long: { dateStyle: 'medium' },
  },
};
const CHART_HEIGHT = 260;

export function createStatsView({ api, onEnterKey }) {
  const taskSelect = byId('stats-task');
  const scopeSelect = byId('stats-scope');
  const periodSelect = byId('stats-period');
  const totals = byId('stats-totals');
  const chart = byId('chart');
  const legend = byId('chart-legend');
  const notice = byId('stats-notice');
  /** The last answer, kept so a new language or width redraws without asking the server again. */
  let shown = null;
  let request = 0;
  /** Each classify task's labels, in its order; asked once (again after a failure). */
  let taskLabels = null;

  async function loadTasks() {
    if (taskLabels) return;
    let names = ['sentiment'];
    try {
      const { tasks } = await api.request(TASKS);
      const classifiers = tasks.filter((task) => task.kind === 'CLASSIFY');
      taskLabels = new Map(classifiers.map((task) => [task.name, task.labels.map((label) => label.name)]));
      names = ['sentiment', ...classifiers.map((task) => task.name).filter((name) => name !== 'sentiment')];
    } catch {
      // Sentiment alone, until the next visit asks again.
    }
    const selected = taskSelect.value;
    taskSelect.replaceChildren(...names.map((name) => localizeTaskName(h('option', { value: name }), name)));
    taskSelect.value = names.includes(selected) ? selected : 'sentiment';
  }

  async function loadScopes() {
    const selected = scopeSelect.value;
    let nodes = [];
    try {
      nodes = (await api.request(CONVERSATIONS)).conversations.edges.map((edge) => edge.node);
    } catch {
      // Without the list, the view still offers everything and all chats.
    }
    scopeSelect.replaceChildren(
      localize(h('option', { value: 'all' }), 'stats.scopeAll'),
      localize(h('option', { value: 'chat' }), 'stats.scopeChat'),
    );
    if (nodes.length > 0) {
      scopeSelect.append(
        h(
          'optgroup',
          { dataset: { i18nLabel: 'stats.scopeConversation' }, label: t('stats.scopeConversation') },
          nodes.map((node) =>
            h('option', { value: `conversation:${node.id}`, text: node.title ?? formatDateTime(node.updatedAt) }),
          ),
        ),
      );
    }
    scopeSelect.value = [...scopeSelect.options].some((option) => option.value === selected) ? selected : 'all';
  }

  async function load() {
    const current = ++request;
    const period = PERIODS[periodSelect.value] ?? PERIODS.day;
    const end = Math.floor(Date.now() / period.slotMs) * period.slotMs;
    const from = new Date(end - (period.slots - 1) * period.slotMs).toISOString();
    const scope = scopeSelect.value;
    const task = taskSelect.value || 'sentiment';
    const filter = { from };
    if (scope === 'chat') filter.source = 'CHAT';
    if (scope.startsWith('conversation:')) filter.conversationId = scope.slice('conversation:'.length);
    try {
      const labels = task === 'sentiment' ? SERIES : (taskLabels?.get(task) ?? []);
      const figures = await loadFigures(api, { task, taskLabels: labels, filter, bucket: period.bucket });
      if (current !== request) return;
      shown = { figures, period, from, end, scope };
      notice.replaceChildren();
      render();
    } catch (error) {
      if (current !== request) return;
      notice.replaceChildren(errorNotice(error, { onRetry: () => void load(), onEnterKey }));
    }
  }

  function render() {
    if (!shown) return;
    const { figures, period, from, end, scope } = shown;
    const { task, total, labels } = figures;
    totals.replaceChildren(
      statCard({ name: 'total', value: total, text: String(total) }, localize(h('span'), 'stats.total')),
      ...labels.map(({ key, colour, count }) =>
        statCard(
          // Sentiment's cards keep their own names; another task's labels may be anything, "total" included.
          { name: task === 'sentiment' ? key : 'label', colour, label: key, value: count, text: String(count) },
          localizeLabelName(h('span'), task, key),
          total ? formatPercent(count / total) : null,
        ),
      ),
      statCard(
        { name: 'averageConfidence', value: figures.averageConfidence, text: formatPercent(figures.averageConfidence) },
        localize(h('span'), 'stats.averageConfidence'),
      ),
    );
    legend.replaceChildren(
      ...labels.map(({ key, colour }) =>
        h(
          'span',
          { class: 'legend-item', dataset: { label: key } },
          h('span', { class: `swatch swatch--${colour}` }),
          localizeLabelName(h('span'), task, key),
        ),
      ),
    );
    const byStart = new Map(figures.points.map((point) => [Date.parse(point.start), point]));
    const slots = [];
    for (let at = Date.parse(from); at <= end; at += period.slotMs) {
      slots.push(byStart.get(at) ?? { start: new Date(at).toISOString(), total: 0, counts: {} });
    }
    const utc = (options) => (slot) => formatDateTime(slot.start, { ...options, timeZone: 'UTC' });
    const longLabel = utc(period.long);
    const svgElement = stackedBarChart({
      slots,
      series: labels,
      width: Math.max(280, chart.clientWidth),
      height: CHART_HEIGHT,
      title: chartTitle(figures, period.bucket.toLowerCase()),
      description: chartDescription(figures),
      tickLabel: utc(period.tick),
      barTitle: (slot) => barTitle(figures, slot, longLabel(slot)),
    });
    svgElement.dataset.task = task;
    svgElement.dataset.from = from;
    svgElement.dataset.bucket = period.bucket;
    svgElement.dataset.scope = scope;
    chart.replaceChildren(svgElement);
    if (total === 0) chart.append(localize(h('p', { class: 'chart__empty' }), ...emptyNote(figures)));
  }

  taskSelect.addEventListener('change', () => void load());
  scopeSelect.addEventListener('change', () => void load());
  periodSelect.addEventListener('change', () => void load());
  byId('stats-refresh').addEventListener('click', () => void load());
  let lastWidth = 0;
  new ResizeObserver(() => {
    if (chart.clientWidth === lastWidth) return;
    lastWidth = chart.clientWidth;
    render();
  }).observe(chart);

  return {
    async show() {
      await Promise.all([loadTasks(), loadScopes()]);
      await load();
    },
    relocalize: () => {
      for (const group of scopeSelect.querySelectorAll('optgroup')) group.label = t(group.dataset.i18nLabel);
      render();
    },
  };
}

/** A total: `name` is what tests and styles know it by (`data-stat`), `colour` its label's colour if it has one. */
function statCard({ name, colour = name, label = null, value, text }, labelElement, share = null) {
  labelElement.classList.add('stat__label');
  return h(
    'div',
    { class: `stat stat--${colour}`, dataset: { stat: name, value: String(value), ...(label === null ? {} : { label }) } },
    h('span', { class: 'stat__value', text }),
    labelElement,
    share ? h('span', { class: 'stat__share', text: share }) : null,
  );
}
