// The sentiment view: totals and a stacked chart per hour or day from `sentimentStats`, for everything or one conversation.
import { SERIES, stackedBarChart } from './chart.js';
import { byId, h } from './dom.js';
import { formatDateTime, formatPercent, localize, t } from './i18n.js';
import { errorNotice } from './messageViews.js';

const STATS = `query SentimentStats($filter: SentimentStatsFilter, $bucket: TimeBucket) {
  sentimentStats(filter: $filter, bucket: $bucket) {
    total positive negative neutral averageConfidence
    series { start total positive negative neutral }
  }
}`;

const CONVERSATIONS = `query ScopeConversations { conversations(first: 100) { edges { node { id title updatedAt } } } }`;

const HOUR_MS = 3_600_000;
const PERIODS = {
  hour: { bucket: 'HOUR', slotMs: HOUR_MS, slots: 48, tick: { hour: '2-digit', minute: '2-digit' }, long: { dateStyle: 'medium', timeStyle: 'short' } },
  day: { bucket: 'DAY', slotMs: 24 * HOUR_MS, slots: 30, tick: { month: 'short', day: 'numeric' }, long: { dateStyle: 'medium' } },
};
const CHART_HEIGHT = 260;

export function createStatsView({ api, onEnterKey }) {
  const scopeSelect = byId('stats-scope');
  const periodSelect = byId('stats-period');
  const totals = byId('stats-totals');
  const chart = byId('chart');
  const notice = byId('stats-notice');
  /** The last answer, kept so a new language or width redraws without asking the server again. */
  let shown = null;
  let request = 0;

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
          nodes.map((node) => h('option', { value: `conversation:${node.id}`, text: node.title ?? formatDateTime(node.updatedAt) })),
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
    const filter = { from };
    if (scope === 'chat') filter.source = 'CHAT';
    if (scope.startsWith('conversation:')) filter.conversationId = scope.slice('conversation:'.length);
    try {
      const { sentimentStats } = await api.request(STATS, { filter, bucket: period.bucket });
      if (current !== request) return;
      shown = { stats: sentimentStats, period, from, end, scope };
      notice.replaceChildren();
      render();
    } catch (error) {
      if (current !== request) return;
      notice.replaceChildren(errorNotice(error, { onRetry: () => void load(), onEnterKey }));
    }
  }

  function render() {
    if (!shown) return;
    const { stats, period, from, end, scope } = shown;
    totals.replaceChildren(
      statCard('total', stats.total, String(stats.total), 'stats.total'),
      ...SERIES.map((series) =>
        statCard(series, stats[series], String(stats[series]), `label.${series}`, stats.total ? formatPercent(stats[series] / stats.total) : null),
      ),
      statCard('averageConfidence', stats.averageConfidence, formatPercent(stats.averageConfidence), 'stats.averageConfidence'),
    );
    const byStart = new Map(stats.series.map((point) => [Date.parse(point.start), point]));
    const slots = [];
    for (let at = Date.parse(from); at <= end; at += period.slotMs) {
      slots.push(byStart.get(at) ?? { start: new Date(at).toISOString(), total: 0, positive: 0, neutral: 0, negative: 0 });
    }
    const utc = (options) => (slot) => formatDateTime(slot.start, { ...options, timeZone: 'UTC' });
    const longLabel = utc(period.long);
    const svgElement = stackedBarChart({
      slots,
      width: Math.max(280, chart.clientWidth),
      height: CHART_HEIGHT,
      title: t(`stats.chartTitle.${period.bucket.toLowerCase()}`),
      description: t('stats.chartDesc', stats),
      tickLabel: utc(period.tick),
      barTitle: (slot) => t('stats.barTitle', { ...slot, when: longLabel(slot) }),
    });
    svgElement.dataset.from = from;
    svgElement.dataset.bucket = period.bucket;
    svgElement.dataset.scope = scope;
    chart.replaceChildren(svgElement);
    if (stats.total === 0) chart.append(localize(h('p', { class: 'chart__empty' }), 'stats.empty'));
  }

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
      await loadScopes();
      await load();
    },
    relocalize: () => {
      for (const group of scopeSelect.querySelectorAll('optgroup')) group.label = t(group.dataset.i18nLabel);
      render();
    },
  };
}

function statCard(name, value, text, labelKey, share = null) {
  return h(
    'div',
    { class: `stat stat--${name}`, dataset: { stat: name, value: String(value) } },
    h('span', { class: 'stat__value', text }),
    localize(h('span', { class: 'stat__label' }), labelKey),
    share ? h('span', { class: 'stat__share', text: share }) : null,
  );
}
