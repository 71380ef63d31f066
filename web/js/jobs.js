// The Files view: a CSV file picked in the browser becomes an analysis job — columns and tasks chosen, rows uploaded in
// chunks, the job's progress followed, its label counts per tag value charted, its results downloaded.
import { readCsvFile } from './csvFile.js';
import { byId, h } from './dom.js';
import { formatPercent, localize } from './i18n.js';
import { jobChart } from './jobChart.js';
import { createJob, followJob, jobGroups, resultsBlob, startJob, TERMINAL, uploadRows } from './jobApi.js';
import { errorNotice } from './messageViews.js';
import { localizeLabelName, localizeTaskName } from './taskNames.js';

const TASKS = `query JobTasks { tasks { name kind labels { name } } }`;
/** Columns that usually hold the text, tried in this order before falling back to the first column. */
const TEXT_COLUMN_GUESSES = ['text', 'review', 'comment', 'message', 'content', 'body'];

export function createJobsView({ api, onEnterKey }) {
  const fileInput = byId('job-file');
  const fileSummary = byId('job-file-summary');
  const options = byId('job-options');
  const textColumn = byId('job-text-column');
  const idColumn = byId('job-id-column');
  const tagColumns = byId('job-tag-columns');
  const taskChoices = byId('job-tasks');
  const status = byId('job-status');
  const stage = byId('job-stage');
  const progress = byId('job-progress');
  const counts = byId('job-counts');
  const download = byId('job-download');
  const chartControls = byId('job-chart-controls');
  const chartTask = byId('job-chart-task');
  const chartTag = byId('job-chart-tag');
  const chartCard = byId('job-chart-card');
  const chart = byId('job-chart');
  const legend = byId('job-chart-legend');
  const notice = byId('job-notice');

  /** The picked file, parsed: `{ name, columns, rows }`. */
  let file = null;
  /** Every task's kind and labels, asked once. */
  let tasks = null;
  /** The job being shown, with what the person chose for it. */
  let current = null;
  let stopFollowing = () => {};
  let chartShown = null;

  async function loadTasks() {
    if (tasks) return;
    const answer = await api.request(TASKS);
    tasks = new Map(answer.tasks.map((task) => [task.name, task]));
    taskChoices.replaceChildren(
      ...answer.tasks.map((task) =>
        h(
          'label',
          {},
          h('input', { type: 'checkbox', name: 'task', value: task.name, checked: task.name === 'sentiment' }),
          localizeTaskName(h('span'), task.name),
        ),
      ),
    );
  }

  async function pickFile() {
    const picked = fileInput.files?.[0];
    options.disabled = true;
    file = null;
    notice.replaceChildren();
    if (!picked) return void fileSummary.replaceChildren();
    try {
      const parsed = await readCsvFile(picked);
      file = { name: picked.name, ...parsed };
    } catch (error) {
      localize(fileSummary, 'jobs.notCsv', { detail: error.message });
      return;
    }
    localize(fileSummary, 'jobs.fileSummary', { rows: file.rows.length, columns: file.columns.length });
    const columnOptions = () => file.columns.map((column) => h('option', { value: column, text: column }));
    textColumn.replaceChildren(...columnOptions());
    textColumn.value = TEXT_COLUMN_GUESSES.find((guess) => file.columns.includes(guess)) ?? file.columns[0];
    idColumn.replaceChildren(localize(h('option', { value: '' }), 'jobs.rowNumber'), ...columnOptions());
    idColumn.value = file.columns.includes('id') ? 'id' : '';
    tagColumns.replaceChildren(
      ...file.columns.map((column) =>
        h('label', {}, h('input', { type: 'checkbox', name: 'tag', value: column }), h('span', { text: column })),
      ),
    );
    try {
      await loadTasks();
      options.disabled = false;
    } catch (error) {
      notice.replaceChildren(errorNotice(error, { onRetry: () => void pickFile(), onEnterKey }));
    }
  }

  async function run(event) {
    event.preventDefault();
    const chosenTasks = [...taskChoices.querySelectorAll('input:checked')].map((input) => input.value);
    if (!file || chosenTasks.length === 0) {
      notice.replaceChildren(localize(h('p', { class: 'notice notice--error', role: 'alert' }), 'jobs.noTasks'));
      return;
    }
    const columns = {
      text: textColumn.value,
      id: idColumn.value || null,
      tags: [...tagColumns.querySelectorAll('input:checked')].map((input) => input.value),
    };
    stopFollowing();
    current = { file, columns, tasks: chosenTasks, job: null };
    chartControls.hidden = true;
    chartCard.hidden = true;
    download.hidden = true;
    status.hidden = false;
    await send(current);
  }

  /**
   * Creates the job (once), uploads every row and starts it, then follows it. Retrying after a failure sends to the
   * same job: rows are idempotent by their id (or row number), so what arrived before is not added twice.
   */
  async function send(shown) {
    options.disabled = true;
    notice.replaceChildren();
    try {
      const { file: source, columns } = shown;
      showUpload(0, source.rows.length);
      shown.job ??= await createJob(api, source.name, shown.tasks);
      status.dataset.jobId = shown.job.id;
      if (shown.job.status === 'OPEN') {
        const job = await uploadRows(api, shown.job, source, columns, (sent) => showUpload(sent, source.rows.length));
        shown.job = await startJob(api, job.id);
      }
      await watch(shown);
    } catch (error) {
      if (current !== shown) return;
      status.dataset.state = 'error';
      notice.replaceChildren(errorNotice(error, { onRetry: () => void send(shown), onEnterKey }));
    } finally {
      if (current === shown) options.disabled = false;
    }
  }

  /** Follows a started job to its end; a lost connection offers to follow it again (it runs on without the page). */
  async function watch(shown) {
    showJob(shown.job);
    try {
      if (TERMINAL.has(shown.job.status)) return finish(shown.job);
      await follow(shown.job);
    } catch (error) {
      if (current !== shown) return;
      notice.replaceChildren(
        errorNotice(error, {
          onRetry: () => {
            notice.replaceChildren();
            void watch(shown);
          },
          onEnterKey,
        }),
      );
    }
  }

  function follow(job) {
    const shown = current;
    return new Promise((resolve, reject) => {
      stopFollowing = followJob(api, job.id, {
        next: (snapshot) => {
          if (current !== shown) return;
          showJob(snapshot);
          shown.job = snapshot;
        },
        error: reject,
        complete: () => {
          if (current === shown) finish(shown.job);
          resolve();
        },
      });
    });
  }

  function showUpload(sent, total) {
    status.dataset.state = 'uploading';
    progress.max = Math.max(1, total);
    progress.value = sent;
    localize(stage, 'jobs.stage.uploading', { sent, total });
    counts.replaceChildren();
  }

  function showJob(job) {
    status.dataset.state = job.status;
    status.dataset.processed = String(job.processed);
    progress.max = Math.max(1, job.total);
    progress.value = job.processed;
    localize(stage, `jobs.stage.${job.status}`, { detail: job.error?.message ?? '' });
    // Rate and time left once the service can tell them (from the first items done; no time left at the end).
    const key = job.etaSeconds !== null ? 'jobs.countsEta' : job.itemsPerSecond !== null ? 'jobs.countsRate' : 'jobs.counts';
    localize(counts, key, {
      processed: job.processed,
      total: job.total,
      failed: job.failed,
      share: formatPercent(job.total === 0 ? 1 : job.processed / job.total),
      rate: job.itemsPerSecond?.toFixed(1) ?? '',
      eta: Math.round(job.etaSeconds ?? 0),
    });
  }

  function finish(job) {
    showJob(job);
    if (job.status !== 'DONE') return;
    download.hidden = false;
    const classify = current.tasks.filter((name) => tasks.get(name)?.kind === 'CLASSIFY');
    if (classify.length === 0) {
      notice.replaceChildren(localize(h('p', { class: 'field-hint' }), 'jobs.nothingToChart'));
      return;
    }
    chartTask.replaceChildren(...classify.map((name) => localizeTaskName(h('option', { value: name }), name)));
    chartTag.replaceChildren(
      ...current.columns.tags.map((tag) => h('option', { value: tag, text: tag })),
      localize(h('option', { value: '' }), 'jobs.allRows'),
    );
    chartControls.hidden = false;
    void loadChart();
  }

  async function loadChart() {
    const shown = current;
    const task = chartTask.value;
    const tag = chartTag.value || null;
    try {
      const stats = await jobGroups(api, { jobId: shown.job.id, task, tag });
      if (current !== shown) return;
      chartShown = { stats, task, tag };
      chartCard.hidden = false;
      renderChart();
    } catch (error) {
      notice.replaceChildren(errorNotice(error, { onRetry: () => void loadChart(), onEnterKey }));
    }
  }

  function renderChart() {
    if (!chartShown) return;
    const { stats, task, tag } = chartShown;
    const taskLabels = tasks.get(task)?.labels.map((label) => label.name) ?? [];
    const drawn = jobChart({ stats, task, taskLabels, tag, width: Math.max(280, chart.clientWidth) });
    drawn.svg.dataset.jobId = current.job.id;
    chart.replaceChildren(drawn.svg);
    legend.replaceChildren(
      ...drawn.series.map(({ key, colour }) =>
        h(
          'span',
          { class: 'legend-item', dataset: { label: key } },
          h('span', { class: `swatch swatch--${colour}` }),
          localizeLabelName(h('span'), task, key),
        ),
      ),
    );
  }

  async function saveResults() {
    const { job, file: source } = current;
    try {
      const blob = await resultsBlob(api, job.id);
      const link = h('a', { href: URL.createObjectURL(blob), download: `${source.name}.results.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      // The click has handed the blob to the download; the URL is not needed after this turn.
      setTimeout(() => URL.revokeObjectURL(link.href));
    } catch (error) {
      notice.replaceChildren(errorNotice(error, { onRetry: () => void saveResults(), onEnterKey }));
    }
  }

  fileInput.addEventListener('change', () => void pickFile());
  byId('job-form').addEventListener('submit', (event) => void run(event));
  download.addEventListener('click', () => void saveResults());
  chartTask.addEventListener('change', () => void loadChart());
  chartTag.addEventListener('change', () => void loadChart());
  let lastWidth = 0;
  new ResizeObserver(() => {
    if (chart.clientWidth === lastWidth) return;
    lastWidth = chart.clientWidth;
    renderChart();
  }).observe(chart);

  return {
    show() {
      loadTasks().catch(() => {
        // Asked again when a file is picked.
      });
    },
    // Texts set with localize() follow the language by themselves; the chart is drawn with words in it.
    relocalize: renderChart,
  };
}
