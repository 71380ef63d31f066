// Renders an evaluation report as plain-text tables for the terminal.

import { SENTIMENT_TASK } from './evalTarget.js';
import type { ClassificationMetrics } from './metrics.js';
import type { EvalReport } from './report.js';
import type { MethodReport } from './summarizeRun.js';

// Mirrors the engine's `synthetic:` model prefix: such models have random weights.
const SYNTHETIC_MODEL_PREFIX = 'synthetic:';

/** Bad rows, unparsed answers and failures quoted on screen; the JSON report keeps more. */
export const PRINTED_SAMPLES = 5;

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
const decimal = (value: number | null): string => (value === null ? '-' : value.toFixed(3));
const whole = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const countAndRate = (count: number, rate: number): string => `${count} (${percent(rate)})`;

/** Left-aligns the first column and right-aligns the others, two spaces apart. */
export function renderTable(rows: readonly (readonly string[])[], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, index) => (index === 0 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

function comparisonTable(runs: readonly MethodReport[]): string {
  const row = (name: string, cell: (run: MethodReport) => string): string[] => [name, ...runs.map(cell)];
  const rows = [
    row('', (run) => run.method),
    row('accuracy', (run) => percent(run.metrics.accuracy)),
    row('macro-F1', (run) => decimal(run.metrics.macroF1)),
    row('macro-recall', (run) => decimal(run.metrics.macroRecall)),
  ];
  if (runs.some((run) => run.neutralOnBinary !== undefined)) {
    rows.push(
      row('NEUTRAL answers', (run) =>
        run.neutralOnBinary ? countAndRate(run.neutralOnBinary.count, run.neutralOnBinary.rate) : '-',
      ),
      row('accuracy, NEUTRAL by scores (b)', (run) =>
        run.neutralOnBinary ? percent(run.neutralOnBinary.mappedMetrics.accuracy) : '-',
      ),
    );
  }
  rows.push(
    row('unparseable answers', (run) => countAndRate(run.unparsed.count, run.unparsed.rate)),
    row('failed texts', (run) => String(run.failed.count)),
    row('latency p50 / p95 (ms)', (run) => `${whole(run.latencyMs.p50)} / ${whole(run.latencyMs.p95)}`),
    row('prompt tokens mean / p50', (run) => `${whole(run.promptTokens.mean)} / ${whole(run.promptTokens.p50)}`),
  );
  return renderTable(rows);
}

function classTables(metrics: ClassificationMetrics): string {
  const perClass = [
    ['class', 'precision', 'recall', 'F1', 'support', 'answered'],
    ...metrics.classes.map((label) => {
      const entry = metrics.perClass[label];
      return entry === undefined
        ? [label]
        : [
            label,
            decimal(entry.precision),
            decimal(entry.recall),
            decimal(entry.f1),
            String(entry.support),
            String(entry.predicted),
          ];
    }),
  ];
  const confusion = [
    ['gold \\ answer', ...metrics.labels],
    ...metrics.classes.map((gold) => [
      gold,
      ...metrics.labels.map((answer) => String(metrics.confusion[gold]?.[answer] ?? 0)),
    ]),
  ];
  return `${renderTable(perClass)}\n\n${renderTable(confusion)}`;
}

function headline(metrics: ClassificationMetrics): string {
  return `accuracy ${percent(metrics.accuracy)} (${metrics.correct}/${metrics.scored}), macro-F1 ${decimal(metrics.macroF1)}, macro-recall ${decimal(metrics.macroRecall)}`;
}

function methodSection(run: MethodReport): string {
  const lines = [
    `== ${run.method} ==`,
    `metrics: ${run.metricsNote}`,
    `  ${headline(run.metrics)}`,
    '',
    classTables(run.metrics),
    '',
  ];
  const neutral = run.neutralOnBinary;
  if (neutral !== undefined) {
    lines.push(
      `NEUTRAL answers on a binary set: ${countAndRate(neutral.count, neutral.rate)}`,
      `(b) NEUTRAL mapped to the likelier of positive/negative by the scores (${neutral.unresolved} ties stay wrong):`,
      `  ${headline(neutral.mappedMetrics)}`,
      '',
    );
  }
  const { calibration } = run;
  lines.push(
    `calibration: mean confidence when correct ${decimal(calibration.meanConfidenceCorrect)}, when wrong ${decimal(calibration.meanConfidenceWrong)}, ECE ${decimal(calibration.expectedCalibrationError)}`,
    renderTable([
      ['confidence', 'texts', 'accuracy', 'mean conf.'],
      ...calibration.bins
        .filter((bin) => bin.count > 0)
        .map((bin) => [
          `${bin.from.toFixed(1)}-${bin.to.toFixed(1)}`,
          String(bin.count),
          bin.accuracy === null ? '-' : percent(bin.accuracy),
          decimal(bin.meanConfidence),
        ]),
    ]),
    `latency per text (ms): mean ${whole(run.latencyMs.mean)}, p50 ${whole(run.latencyMs.p50)}, p95 ${whole(run.latencyMs.p95)}`,
    `prompt tokens per text: mean ${whole(run.promptTokens.mean)}, p50 ${whole(run.promptTokens.p50)}`,
  );
  if (run.unparsed.count > 0) {
    lines.push(
      `unparseable answers: ${countAndRate(run.unparsed.count, run.unparsed.rate)}, scored as NEUTRAL; first ones:`,
    );
    for (const sample of run.unparsed.samples.slice(0, PRINTED_SAMPLES))
      lines.push(`  line ${sample.line}: ${JSON.stringify(sample.answer)}`);
  }
  if (run.failed.count > 0) {
    lines.push(`WARNING: ${run.failed.count} texts failed and are left out of every metric; first ones:`);
    for (const failure of run.failed.samples.slice(0, PRINTED_SAMPLES))
      lines.push(`  line ${failure.line}: ${failure.message}`);
  }
  return lines.join('\n');
}

export function formatReport(report: EvalReport): string {
  const { dataset } = report;
  const distribution = dataset.classes.map((label) => `${label} ${dataset.distribution[label] ?? 0}`).join(', ');
  const source = dataset.labelsPath === undefined ? dataset.path : `${dataset.path} + ${dataset.labelsPath}`;
  const localeCounts = Object.entries(report.runs[0]?.locales ?? {})
    .map(([locale, count]) => `${locale} ${count}`)
    .join(', ');
  // Sentiment's set is binary or three-class; another task's is described by the labels it covers.
  const setKind =
    dataset.kind === undefined
      ? `${dataset.classes.length} of the task's ${dataset.labels.length} labels`
      : `${dataset.kind} set`;
  const lines = [
    `Evaluation of ${report.model}` +
      (report.model.startsWith(SYNTHETIC_MODEL_PREFIX)
        ? ' (synthetic, random weights: the accuracy below means nothing)'
        : ''),
    ...(report.task === SENTIMENT_TASK ? [] : [`task:   ${report.task} (labels ${dataset.labels.join(', ')})`]),
    `prompt: ${report.locale === 'auto' ? 'locale chosen per text by script' : `locale ${report.locale}`} (${localeCounts})`,
    `data:   ${source} (${dataset.format}; text from ${dataset.textField}, label from ${dataset.labelField})`,
    `labels: ${dataset.labelMapping}`,
    `rows:   ${setKind}, ${dataset.evaluatedRows} evaluated (${distribution})` +
      (dataset.limit === undefined ? '' : ` of ${dataset.validRows} usable (--limit ${dataset.limit})`) +
      `; ${dataset.badRows.count} bad rows, ${dataset.blankLines} blank lines skipped`,
  ];
  for (const bad of dataset.badRows.samples.slice(0, PRINTED_SAMPLES))
    lines.push(`  bad row, line ${bad.line}: ${bad.reason}`);
  if (dataset.badRows.count > PRINTED_SAMPLES)
    lines.push(`  … ${dataset.badRows.count - PRINTED_SAMPLES} more bad rows (see the JSON report)`);
  lines.push('', comparisonTable(report.runs), '');
  for (const run of report.runs) lines.push(methodSection(run), '');
  return lines.join('\n');
}
