// The evaluation harness: data formats and label spellings, hand-checked metrics, NEUTRAL on binary sets, the runner,
// and any other classify task (--task) scored over its own labels.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { computeCalibration } from '../src/eval/calibration.js';
import { SENTIMENT_LABELS, type OwnedEngine, type SentimentLabel } from '../src/eval/classifier.js';
import { percentile, summarize } from '../src/eval/distribution.js';
import { loadTaskDefinitions, type PromptPart } from '../src/engine/index.js';
import {
  DatasetColumnsError,
  EmptyDatasetError,
  EvalTaskError,
  LabelMapError,
  UnsupportedOptionError,
} from '../src/eval/errors.js';
import { formatReport } from '../src/eval/formatReport.js';
import { createLabelResolver, parseLabelMap, SENTIMENT_VOCABULARY, taskVocabulary } from '../src/eval/labels.js';
import { computeClassificationMetrics } from '../src/eval/metrics.js';
import { resolveEvalTarget, SENTIMENT_TARGET } from '../src/eval/evalTarget.js';
import { readDataset, type Dataset } from '../src/eval/readDataset.js';
import { runEvalCommand } from '../src/eval/runEvalCommand.js';
import { summarizeRun, type Prediction } from '../src/eval/summarizeRun.js';

const fixtures = path.resolve('test/fixtures/eval');
const fixture = (name: string) => path.join(fixtures, name);
const modelsDir = inject('modelsDir');

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'aio-eval-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function countLabels(dataset: Dataset): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { label } of dataset.examples) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

const textOn = (dataset: Dataset, line: number) => dataset.examples.find((example) => example.line === line)?.text;

describe('readDataset', () => {
  it('reads GLUE-style TSV (text<TAB>label, 0/1) and reports each bad row by line', async () => {
    const dataset = await readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: fixture('movie-reviews.tsv') });
    expect(dataset.format).toBe('tsv');
    expect([dataset.textField, dataset.labelField]).toEqual(['text', 'label']);
    expect(dataset.labelMapping).toContain('0=negative,1=positive');
    expect(countLabels(dataset)).toEqual({ positive: 11, negative: 10 });
    expect(dataset.badRows).toEqual([
      { line: 8, reason: 'expected 2 columns, found 3' },
      { line: 9, reason: 'missing text' },
      // A stray 5 in a 0/1 file is a bad row, not a reason to give up on the 0/1 reading.
      { line: 16, reason: 'unknown label "5" (see --label-map)' },
    ]);
    expect(dataset.blankLines).toBe(1);
    // TSV quotes are literal unless they wrap the whole field: raw GLUE text keeps its opening quote.
    expect(textOn(dataset, 6)).toBe('" a quiet triumph , " as one critic put it');
    expect(textOn(dataset, 25)).toBe('a small gem');
  });

  it('reads ChnSentiCorp-style TSV (label<TAB>text_a) with Chinese word labels mixed in', async () => {
    const dataset = await readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: fixture('chnsenticorp-style.tsv') });
    expect(dataset.textField).toBe('text_a');
    expect(countLabels(dataset)).toEqual({ positive: 10, negative: 10 });
    expect(dataset.examples.find((example) => example.line === 14)?.label).toBe('positive');
    expect(dataset.examples.find((example) => example.line === 15)?.label).toBe('negative');
    expect(textOn(dataset, 8)).toBe('键盘手感不错，"屏幕"也很亮。');
    expect(dataset.badRows).toEqual([{ line: 16, reason: 'expected 2 columns, found 1' }]);
  });

  it('reads CSV with RFC 4180 quoting, CRLF endings, multi-line fields and any-case word labels', async () => {
    const dataset = await readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: fixture('product-reviews.csv') });
    expect(dataset.format).toBe('csv');
    // The id column is ignored; text and label are found by name.
    expect([dataset.textField, dataset.labelField]).toEqual(['sentence', 'sentiment']);
    expect(countLabels(dataset)).toEqual({ positive: 6, negative: 7, neutral: 6 });
    expect(textOn(dataset, 2)).toBe('Arrived early, works perfectly');
    expect(textOn(dataset, 5)).toBe('The manual calls it "intuitive". It is not.');
    expect(textOn(dataset, 6)).toBe('Great sound.\nBattery lasts all day.');
    expect(textOn(dataset, 16)).toBe('Fits the 5" tablet well');
    expect(dataset.badRows).toEqual([
      { line: 11, reason: 'expected 3 columns, found 4' },
      { line: 12, reason: 'missing text' },
      { line: 14, reason: 'missing label' },
      { line: 18, reason: 'unknown label "meh" (see --label-map)' },
      { line: 26, reason: 'quoted field is never closed (the rest of the file was read into it)' },
    ]);
  });

  it('reads JSONL with 0/1/2 labels (numbers, strings, 1.0) and reports malformed lines', async () => {
    const dataset = await readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: fixture('short-posts.jsonl') });
    expect(dataset.format).toBe('jsonl');
    // A 2 in the file selects the three-class reading, so 1 is neutral here.
    expect(dataset.labelMapping).toContain('0=negative,1=neutral,2=positive');
    expect(countLabels(dataset)).toEqual({ positive: 7, negative: 7, neutral: 5 });
    expect(dataset.examples.find((example) => example.line === 6)?.label).toBe('neutral');
    expect(textOn(dataset, 25)).toBe('Capitalised keys are still found');
    expect(dataset.badRows.map((row) => row.line)).toEqual([9, 10, 11, 12, 21]);
    expect(dataset.badRows[0]?.reason).toMatch(/^malformed JSON: /);
    expect(dataset.badRows.slice(1)).toEqual([
      { line: 10, reason: 'not a JSON object' },
      { line: 11, reason: 'missing text' },
      { line: 12, reason: 'missing label' },
      { line: 21, reason: 'unknown label "7" (see --label-map)' },
    ]);
    expect(dataset.blankLines).toBe(1);
  });

  it('reads parallel text and label files, keeping a blank text as a row so later labels stay aligned', async () => {
    const dataset = await readDataset({
      vocabulary: SENTIMENT_VOCABULARY,
      path: fixture('texts.txt'),
      labelsPath: fixture('labels.txt'),
    });
    expect(dataset.format).toBe('parallel');
    expect(countLabels(dataset)).toEqual({ positive: 6, negative: 7, neutral: 6 });
    expect(textOn(dataset, 21)).toBe('房东突然涨房租，很无奈。');
    expect(dataset.examples.find((example) => example.line === 21)?.label).toBe('negative');
    expect(dataset.badRows).toEqual([
      { line: 7, reason: 'missing text' },
      { line: 20, reason: 'unknown label "好" (see --label-map)' },
      { line: 22, reason: 'text without a label (the labels file is shorter)' },
    ]);
  });

  it('applies an explicit --label-map instead of the default numeric reading', async () => {
    const dataset = await readDataset({
      vocabulary: SENTIMENT_VOCABULARY,
      path: fixture('chnsenticorp-style.tsv'),
      labelMap: parseLabelMap('0=positive,1=negative', SENTIMENT_VOCABULARY),
    });
    expect(dataset.labelMapping).toBe('0=positive,1=negative (--label-map)');
    expect(dataset.examples.find((example) => example.line === 2)?.label).toBe('negative');
    // Word labels still read as themselves.
    expect(dataset.examples.find((example) => example.line === 14)?.label).toBe('positive');
  });

  it('refuses a header without known columns, and a file with no usable rows', async () => {
    const noColumns = path.join(workDir, 'no-columns.csv');
    await writeFile(noColumns, 'id,body,score\n1,fine,1\n');
    await expect(readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: noColumns })).rejects.toBeInstanceOf(
      DatasetColumnsError,
    );
    const allBad = path.join(workDir, 'all-bad.jsonl');
    await writeFile(allBad, '{"text": "x", "label": "maybe"}\nnot json\n');
    const failure = readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: allBad });
    await expect(failure).rejects.toBeInstanceOf(EmptyDatasetError);
    await expect(failure).rejects.toMatchObject({ code: 'EVAL_NO_VALID_ROWS' });
  });
});

describe('labels', () => {
  it('reads every supported spelling in any case', () => {
    const resolver = createLabelResolver([], SENTIMENT_VOCABULARY);
    const spellings: [string, SentimentLabel][] = [
      ['positive', 'positive'],
      ['POSITIVE', 'positive'],
      ['Pos', 'positive'],
      ['正面', 'positive'],
      ['negative', 'negative'],
      ['NEG', 'negative'],
      ['负面', 'negative'],
      [' Neutral ', 'neutral'],
      ['neu', 'neutral'],
      ['中性', 'neutral'],
    ];
    for (const [raw, label] of spellings) expect(resolver.resolve(raw), raw).toBe(label);
    expect(resolver.resolve('good')).toBeUndefined();
  });

  it('chooses the numeric reading from the numbers the file uses', () => {
    expect(createLabelResolver(['0', '1'], SENTIMENT_VOCABULARY).resolve('1')).toBe('positive');
    expect(createLabelResolver(['0', '1'], SENTIMENT_VOCABULARY).resolve('1.0')).toBe('positive');
    expect(createLabelResolver(['0', '1', '2'], SENTIMENT_VOCABULARY).resolve('1')).toBe('neutral');
    expect(createLabelResolver(['-1', '0', '1'], SENTIMENT_VOCABULARY).resolve('0')).toBe('neutral');
    expect(createLabelResolver(['-1', '0', '1'], SENTIMENT_VOCABULARY).resolve('-1')).toBe('negative');
    // 1–5 stars have no default: a 2 selects 0/1/2, and 3–5 are left as bad rows rather than guessed.
    expect(createLabelResolver(['1', '2', '3', '4', '5'], SENTIMENT_VOCABULARY).resolve('4')).toBeUndefined();
  });

  it('parses --label-map and rejects malformed ones with a stable code', () => {
    expect([...parseLabelMap('0=negative, 4=POS', SENTIMENT_VOCABULARY)]).toEqual([
      ['0', 'negative'],
      ['4', 'positive'],
    ]);
    expect(() => parseLabelMap('0negative', SENTIMENT_VOCABULARY)).toThrow(LabelMapError);
    expect(() => parseLabelMap('3=great', SENTIMENT_VOCABULARY)).toThrow(/must map to positive, negative or neutral/);
    expect(() => parseLabelMap(' , ', SENTIMENT_VOCABULARY)).toThrow(
      expect.objectContaining({ code: 'EVAL_BAD_LABEL_MAP' }),
    );
  });
});

/** A fixed three-class prediction list; every expected number below is worked out by hand from it. */
const THREE_CLASS: { gold: SentimentLabel; predicted: SentimentLabel; confidence: number }[] = [
  { gold: 'positive', predicted: 'positive', confidence: 0.95 },
  { gold: 'positive', predicted: 'positive', confidence: 0.85 },
  { gold: 'positive', predicted: 'negative', confidence: 0.62 },
  { gold: 'positive', predicted: 'neutral', confidence: 0.4 },
  { gold: 'negative', predicted: 'negative', confidence: 0.91 },
  { gold: 'negative', predicted: 'negative', confidence: 0.55 },
  { gold: 'negative', predicted: 'positive', confidence: 0.7 },
  { gold: 'neutral', predicted: 'neutral', confidence: 0.45 },
  { gold: 'neutral', predicted: 'positive', confidence: 0.38 },
  { gold: 'neutral', predicted: 'negative', confidence: 0.66 },
];

describe('metrics (hand-computed)', () => {
  it('computes accuracy, per-class P/R/F1, macro averages and the confusion matrix', () => {
    const metrics = computeClassificationMetrics(THREE_CLASS, ['positive', 'negative', 'neutral'], SENTIMENT_LABELS);
    // Confusion, gold rows × answer columns (pos, neg, neu): pos 2 1 1 | neg 1 2 0 | neu 1 1 1.
    expect(metrics.confusion).toEqual({
      positive: { positive: 2, negative: 1, neutral: 1 },
      negative: { positive: 1, negative: 2, neutral: 0 },
      neutral: { positive: 1, negative: 1, neutral: 1 },
    });
    // Correct = diagonal 2 + 2 + 1 = 5 of 10.
    expect(metrics.correct).toBe(5);
    expect(metrics.accuracy).toBe(0.5);
    // Answers per class (column sums): pos 4, neg 4, neu 2. Precision = diagonal / column: 2/4, 2/4, 1/2.
    // Recall = diagonal / row: 2/4, 2/3, 1/3.
    // F1 = 2PR/(P+R): pos 2·.5·.5/1 = 0.5; neg 2·(1/2)(2/3)/(7/6) = 4/7 ≈ 0.5714; neu 2·(1/2)(1/3)/(5/6) = 2/5.
    expect(metrics.perClass.positive).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 4, predicted: 4 });
    expect(metrics.perClass.negative?.precision).toBe(0.5);
    expect(metrics.perClass.negative?.recall).toBeCloseTo(0.666667, 6);
    expect(metrics.perClass.negative?.f1).toBeCloseTo(0.571429, 6);
    expect(metrics.perClass.neutral?.precision).toBe(0.5);
    expect(metrics.perClass.neutral?.recall).toBeCloseTo(0.333333, 6);
    expect(metrics.perClass.neutral?.f1).toBeCloseTo(0.4, 10);
    // Macro-F1 = (1/2 + 4/7 + 2/5) / 3 = (35 + 40 + 28)/70 / 3 = 103/210 ≈ 0.490476.
    expect(metrics.macroF1).toBeCloseTo(0.490476, 6);
    // Macro-recall = (1/2 + 2/3 + 1/3) / 3 = 1.5 / 3 = 0.5.
    expect(metrics.macroRecall).toBeCloseTo(0.5, 10);
  });

  it('computes calibration by confidence decile', () => {
    const calibration = computeCalibration(
      THREE_CLASS.map(({ gold, predicted, confidence }) => ({ confidence, correct: gold === predicted })),
    );
    // Correct: .95 .85 .91 .55 .45 → 3.71/5 = 0.742. Wrong: .62 .40 .70 .38 .66 → 2.76/5 = 0.552.
    expect(calibration.meanConfidenceCorrect).toBeCloseTo(0.742, 10);
    expect(calibration.meanConfidenceWrong).toBeCloseTo(0.552, 10);
    const nonEmpty = calibration.bins.filter((bin) => bin.count > 0);
    // 0.3–0.4: {.38✗}; 0.4–0.5: {.40✗ .45✓}; 0.5–0.6: {.55✓}; 0.6–0.7: {.62✗ .66✗}; 0.7–0.8: {.70✗};
    // 0.8–0.9: {.85✓}; 0.9–1.0: {.95✓ .91✓}. (0.70 belongs to 0.7–0.8: bins are [from, to).)
    expect(nonEmpty.map((bin) => [bin.from, bin.count, bin.accuracy])).toEqual([
      [0.3, 1, 0],
      [0.4, 2, 0.5],
      [0.5, 1, 1],
      [0.6, 2, 0],
      [0.7, 1, 0],
      [0.8, 1, 1],
      [0.9, 2, 1],
    ]);
    expect(nonEmpty[1]?.meanConfidence).toBeCloseTo(0.425, 10);
    expect(nonEmpty[6]?.meanConfidence).toBeCloseTo(0.93, 10);
    // ECE = Σ n/N·|acc − conf| = .1·.38 + .2·.075 + .1·.45 + .2·.64 + .1·.70 + .1·.15 + .2·.07
    //     = .038 + .015 + .045 + .128 + .070 + .015 + .014 = 0.325.
    expect(calibration.expectedCalibrationError).toBeCloseTo(0.325, 10);
  });

  it('computes nearest-rank percentiles and means of latency and prompt tokens', () => {
    // Sorted latencies: 80 85 90 95 100 105 110 120 300 1000; sum 2085.
    const latencies = [120, 80, 100, 90, 300, 110, 95, 85, 105, 1000];
    // p50 = sorted[ceil(.5·10) − 1] = 5th = 100; p95 = sorted[ceil(.95·10) − 1] = 10th = 1000; mean 208.5.
    expect(summarize(latencies)).toEqual({ mean: 208.5, p50: 100, p95: 1000 });
    // Sorted tokens: 37 38 39 40 41 42 44 45 50 60; sum 436 → mean 43.6; p50 = 5th = 41.
    const tokens = [40, 42, 38, 50, 41, 39, 44, 60, 37, 45];
    expect(summarize(tokens).mean).toBeCloseTo(43.6, 10);
    expect(percentile(tokens, 50)).toBe(41);
    expect(percentile([7], 95)).toBe(7);
  });
});

function prediction(
  line: number,
  gold: SentimentLabel,
  predicted: SentimentLabel,
  scores: [number, number, number],
  parsed = true,
): Prediction {
  const [positive, negative, neutral] = scores;
  const byLabel = { positive, negative, neutral };
  return {
    line,
    gold,
    locale: 'en',
    predicted,
    confidence: byLabel[predicted],
    scores: byLabel,
    latencyMs: 10,
    promptTokens: 20,
    parsed,
  };
}

describe('NEUTRAL answers on a binary data set', () => {
  const third = 1 / 3;
  const predictions = [
    prediction(1, 'positive', 'positive', [0.7, 0.2, 0.1]),
    prediction(2, 'positive', 'neutral', [0.2, 0.1, 0.7]), // (b) → positive, right
    prediction(3, 'positive', 'neutral', [0.1, 0.3, 0.6]), // (b) → negative, wrong
    prediction(4, 'negative', 'negative', [0.1, 0.8, 0.1]),
    prediction(5, 'negative', 'neutral', [0.1, 0.4, 0.5]), // (b) → negative, right
    prediction(6, 'negative', 'positive', [0.6, 0.3, 0.1]),
    prediction(7, 'negative', 'neutral', [third, third, third], false), // (b) tie → stays NEUTRAL, wrong
    prediction(8, 'positive', 'positive', [0.9, 0.05, 0.05]),
  ];

  it('reports NEUTRAL answers separately and scores them both ways', () => {
    const run = summarizeRun('logprob', predictions, [], ['positive', 'negative'], SENTIMENT_TARGET);
    expect(run.metricsNote).toMatch(/^\(a\) NEUTRAL answers counted as wrong/);
    // NEUTRAL answers: lines 2, 3, 5, 7 → 4 of 8.
    expect(run.neutralOnBinary?.count).toBe(4);
    expect(run.neutralOnBinary?.rate).toBe(0.5);
    // (a): right on lines 1, 4, 8 → 3/8. pos: P = 2/3 (answers 1, 8, 6), R = 2/4, F1 = (2/3)/(7/6) = 4/7;
    // neg: P = 1/1, R = 1/4, F1 = .5/1.25 = 0.4. Macro-F1 = (4/7 + 2/5)/2 = 17/35 ≈ 0.485714; macro-R = .375.
    expect(run.metrics.accuracy).toBe(0.375);
    expect(run.metrics.confusion.negative).toEqual({ positive: 1, negative: 1, neutral: 2 });
    expect(run.metrics.macroF1).toBeCloseTo(0.485714, 6);
    expect(run.metrics.macroRecall).toBe(0.375);
    // (b): answers become 1 pos, 2 pos, 3 neg, 4 neg, 5 neg, 6 pos, 7 NEUTRAL, 8 pos → right on 1, 2, 4, 5, 8 = 5/8.
    // pos: P = 3/4, R = 3/4, F1 = .75; neg: P = 2/3, R = 2/4, F1 = 4/7. Macro-F1 = (3/4 + 4/7)/2 = 37/56 ≈ 0.660714.
    const mapped = run.neutralOnBinary?.mappedMetrics;
    expect(mapped?.accuracy).toBe(0.625);
    expect(mapped?.macroF1).toBeCloseTo(0.660714, 6);
    expect(mapped?.macroRecall).toBe(0.625);
    expect(run.neutralOnBinary?.unresolved).toBe(1);
    expect(run.unparsed).toMatchObject({ count: 1, rate: 0.125 });
  });

  it('scores a three-class set as given, with no second reading', () => {
    const run = summarizeRun(
      'logprob',
      [...predictions, prediction(9, 'neutral', 'neutral', [0.1, 0.1, 0.8])],
      [],
      ['positive', 'negative', 'neutral'],
      SENTIMENT_TARGET,
    );
    expect(run.neutralOnBinary).toBeUndefined();
    expect(run.metricsNote).toMatch(/three-class/);
    // Right on 1, 4, 8, 9 → 4/9.
    expect(run.metrics.accuracy).toBeCloseTo(4 / 9, 10);
  });
});

/**
 * Answers by text: the gold label with 0.8 (the rest shared by the other labels), except where `wrong` says otherwise;
 * sentiment's generate answers are unparsed for `unparsed`. Other tasks are answered through `runTasks`, as the engine does.
 */
function scriptedEngine(options: {
  dataset: Dataset;
  labels?: readonly string[];
  wrong?: Map<number, string>;
  unparsed?: Set<number>;
  failOn?: Set<number>;
}): OwnedEngine & { calls: string[]; disposed: boolean } {
  const byText = new Map(options.dataset.examples.map((example) => [example.text, example]));
  const labels = options.labels ?? SENTIMENT_LABELS;
  const exampleFor = (text: string) => {
    const example = byText.get(text);
    if (example === undefined) throw new Error(`unexpected text ${text}`);
    return example;
  };
  const scoresFor = (label: string) => ({
    ...Object.fromEntries(labels.map((other) => [other, 0.2 / (labels.length - 1)])),
    [label]: 0.8,
  });
  const state = {
    calls: [] as string[],
    disposed: false,
    // The generate-and-parse baseline: a whole prompt completed, its answer parsed by the harness.
    async complete(prompt: readonly PromptPart[]) {
      const text = prompt.find((part) => !part.trusted)!.text;
      const example = exampleFor(text);
      const locale = prompt[0]!.text.includes('情感分析师') ? 'zh' : 'en';
      state.calls.push(`generate:${locale}:${example.line}`);
      if (options.failOn?.has(example.line)) throw new Error('input too long');
      const label = options.wrong?.get(example.line) ?? example.label;
      return { text: options.unparsed?.has(example.line) ? '???' : `😄 ${label}`, promptTokens: 120, latencyMs: 50 };
    },
    // Sentiment by its label probabilities is the task `sentiment` through runTasks, as the harness asks for it.
    async runTasks(text: string, tasks: readonly string[], runOptions?: { locale?: string; kind?: string }) {
      const example = exampleFor(text);
      const sentiment = tasks.length === 1 && tasks[0] === 'sentiment';
      state.calls.push(
        sentiment ? `logprob:${runOptions?.locale}:${example.line}` : `${tasks.join('+')}:${runOptions?.kind}:${runOptions?.locale}:${example.line}`,
      );
      if (options.failOn?.has(example.line)) throw new Error('input too long');
      const label = options.wrong?.get(example.line) ?? example.label;
      const scores = scoresFor(label);
      const cost = sentiment ? { latencyMs: 5, promptTokens: 30 } : { latencyMs: 7, promptTokens: 12 };
      return { results: [{ kind: 'classify' as const, label, confidence: 0.8, scores, ...cost }] };
    },
    async dispose() {
      state.disposed = true;
    },
  };
  return state;
}

describe('runEvalCommand', () => {
  it('runs both methods over the same texts and writes a full report as a table and as JSON', async () => {
    const dataset = await readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: fixture('movie-reviews.tsv') });
    const classifier = scriptedEngine({
      dataset,
      wrong: new Map([
        [3, 'positive'],
        [11, 'neutral'],
      ]),
      unparsed: new Set([2, 5]),
      failOn: new Set([26]),
    });
    const printed: string[] = [];
    const progress: [number, number][] = [];
    const out = path.join(workDir, 'nested', 'report.json');
    const report = await runEvalCommand({
      data: fixture('movie-reviews.tsv'),
      model: 'scripted',
      method: 'both',
      out,
      write: (text) => printed.push(text),
      progress: { update: (done, total) => progress.push([done, total]), stop: () => progress.push([-1, -1]) },
      openEngine: async (engineOptions) => {
        expect(engineOptions).toMatchObject({ model: 'scripted', modelsDir: 'models' });
        return classifier;
      },
    });

    expect(classifier.disposed).toBe(true);
    // 21 texts × 2 methods, logprob first, each in file order, English prompt chosen from the script.
    expect(classifier.calls).toHaveLength(42);
    expect(classifier.calls[0]).toBe('logprob:en:2');
    expect(classifier.calls[21]).toBe('generate:en:2');
    expect(progress.at(-2)).toEqual([42, 42]);
    expect(progress.at(-1)).toEqual([-1, -1]);

    expect(report.dataset).toMatchObject({ kind: 'binary', evaluatedRows: 21, validRows: 21, badRows: { count: 3 } });
    const [logprob, generate] = report.runs;
    // logprob: 20 scored (line 26 failed); wrong on 3 (positive) and 11 (NEUTRAL) → 18/20 under (a).
    expect(logprob?.failed).toEqual({ count: 1, samples: [{ line: 26, message: 'input too long' }] });
    expect(logprob?.metrics.accuracy).toBe(0.9);
    expect(logprob?.neutralOnBinary?.count).toBe(1);
    // (b): line 11's scores favour neither side (0.1 vs 0.1), so it stays wrong.
    expect(logprob?.neutralOnBinary?.mappedMetrics.accuracy).toBe(0.9);
    expect(logprob?.latencyMs.p50).toBe(5);
    expect(logprob?.promptTokens.mean).toBe(30);
    // generate: lines 2 and 5 unparsed → scored NEUTRAL despite their tie-break label; plus 3 and 11 → 16/20.
    expect(generate?.unparsed).toEqual({
      count: 2,
      rate: 0.1,
      samples: [
        { line: 2, answer: '???' },
        { line: 5, answer: '???' },
      ],
    });
    expect(generate?.predictions.find((entry) => entry.line === 2)?.predicted).toBe('neutral');
    expect(generate?.metrics.accuracy).toBe(0.8);
    expect(generate?.neutralOnBinary?.count).toBe(3);

    const text = printed.join('\n');
    expect(text).toMatch(/accuracy\s+90\.0%\s+80\.0%/);
    expect(text).toMatch(/unparseable answers\s+0 \(0\.0%\)\s+2 \(10\.0%\)/);
    expect(text).toContain('bad row, line 16: unknown label "5"');
    expect(text).toContain('WARNING: 1 texts failed');
    expect(text).toContain('(a) NEUTRAL answers counted as wrong');

    const written = JSON.parse(await readFile(out, 'utf8'));
    expect(written).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('honours --limit, --locale and a three-class set', async () => {
    const dataset = await readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: fixture('product-reviews.csv') });
    const classifier = scriptedEngine({ dataset });
    const report = await runEvalCommand({
      data: fixture('product-reviews.csv'),
      limit: 5,
      locale: 'zh',
      openEngine: async () => classifier,
    });
    expect(classifier.calls).toEqual(['logprob:zh:2', 'logprob:zh:3', 'logprob:zh:4', 'logprob:zh:5', 'logprob:zh:6']);
    expect(report.dataset).toMatchObject({ kind: 'three-class', evaluatedRows: 5, validRows: 19, limit: 5 });
    expect(report.runs[0]?.metrics.accuracy).toBe(1);
    expect(report.runs[0]?.neutralOnBinary).toBeUndefined();
    expect(formatReport(report)).toContain('5 evaluated (positive 2, negative 2, neutral 1) of 19 usable (--limit 5)');
  });

  it('stops on abort and still releases the classifier', async () => {
    const dataset = await readDataset({ vocabulary: SENTIMENT_VOCABULARY, path: fixture('short-posts.jsonl') });
    const classifier = scriptedEngine({ dataset });
    const controller = new AbortController();
    const run = runEvalCommand({
      data: fixture('short-posts.jsonl'),
      signal: controller.signal,
      progress: { update: (done) => done === 3 && controller.abort(), stop: () => undefined },
      openEngine: async () => classifier,
    });
    await expect(run).rejects.toThrow();
    expect(classifier.calls).toHaveLength(3);
    expect(classifier.disposed).toBe(true);
  });

  it(
    'evaluates through the real engine on the tiny synthetic model (accuracy meaningless: random weights)',
    { timeout: 300_000 },
    async () => {
      const out = path.join(workDir, 'engine-report.json');
      const report = await runEvalCommand({
        data: fixture('chnsenticorp-style.tsv'),
        model: 'synthetic:tiny',
        modelsDir,
        threads: availableParallelism(),
        method: 'both',
        limit: 3,
        out,
      });
      expect(report.runs.map((run) => run.method)).toEqual(['logprob', 'generate']);
      for (const run of report.runs) {
        expect(run.failed.count).toBe(0);
        expect(run.metrics.scored).toBe(3);
        expect(run.locales).toEqual({ zh: 3 });
        expect(run.latencyMs.p50).toBeGreaterThan(0);
        expect(run.promptTokens.p50).toBeGreaterThan(0);
        for (const entry of run.predictions) {
          expect(Object.keys(entry.scores).sort()).toEqual(['negative', 'neutral', 'positive']);
          expect(sum(Object.values(entry.scores))).toBeCloseTo(1, 6);
        }
      }
      // The warm system prefix is reused by logprob; the original method evaluates its whole prompt each time.
      expect(report.runs[0]!.promptTokens.mean).toBeLessThan(report.runs[1]!.promptTokens.mean);
      expect(report.runs[0]!.unparsed.count).toBe(0);
      expect(JSON.parse(await readFile(out, 'utf8')).runs).toHaveLength(2);
    },
  );
});

const INTENT_LABELS = ['question', 'request', 'complaint', 'praise', 'greeting', 'other'];

describe('evaluating another classify task (--task)', () => {
  const intent = resolveEvalTarget('intent', loadTaskDefinitions());
  // Labels as a data set might write them: names in any case, and the task's own English and Chinese spellings.
  const rows = [
    ['What time do you open on Sundays?', 'question'], // line 2
    ['How do I reset my password?', 'Question'],
    ['Please book a table for two', 'request'],
    ['帮我订一张去上海的机票', '请求'], // line 5
    ['The soup was cold and the waiter was rude', 'COMPLAINT'],
    ['快递三天了还没到，太慢了', '投诉'],
    ['Great service, thank you!', ' praise '],
    ['Hi there!', 'greeting'],
    ['你好', '问候'], // line 10
    ['The sky is blue', 'other'],
    ['今天星期三', '其他'],
    ['Hmm', 'positive'], // a sentiment label means nothing to intent
  ];
  let intentData: string;
  beforeAll(async () => {
    intentData = path.join(workDir, 'intent.tsv');
    await writeFile(intentData, `text\tlabel\n${rows.map((row) => row.join('\t')).join('\n')}\n`);
  });

  it("reads the task's label names and spellings, in any case, and nothing else", async () => {
    const dataset = await readDataset({ vocabulary: intent.vocabulary, path: intentData });
    expect(countLabels(dataset)).toEqual({ question: 2, request: 2, complaint: 2, praise: 1, greeting: 2, other: 2 });
    expect(dataset.labelMapping).toBe('word labels only');
    expect(dataset.badRows).toEqual([{ line: 13, reason: 'unknown label "positive" (see --label-map)' }]);
  });

  it('reads a label as its name first, and a spelling two labels share (ignoring case) as neither', () => {
    const label = (name: string, en: string[], zh: string[]) => ({
      name,
      description: { en: name, zh: name },
      spellings: { en, zh },
    });
    // TASKS_FILE refuses a spelling shared within a language, exactly; across languages and cases it cannot know.
    const vocabulary = taskVocabulary({
      labels: [label('yes', ['yes', 'Sure'], ['是']), label('no', ['no', 'yes!'], ['SURE'])],
    });
    const resolver = createLabelResolver([], vocabulary);
    expect(['YES', 'no', 'yes!', '是', 'sure'].map((raw) => resolver.resolve(raw))).toEqual([
      'yes',
      'no',
      'no',
      'yes',
      undefined,
    ]);
  });

  it('scores the answers over the six intent labels (hand-checked)', async () => {
    const dataset = await readDataset({ vocabulary: intent.vocabulary, path: intentData });
    // Wrong on line 3 (a question answered as a request) and line 7 (a complaint answered as other).
    const engine = scriptedEngine({
      dataset,
      labels: INTENT_LABELS,
      wrong: new Map([
        [3, 'request'],
        [7, 'other'],
      ]),
    });
    const report = await runEvalCommand({ task: 'intent', data: intentData, openEngine: async () => engine });

    expect(engine.disposed).toBe(true);
    // One classify task per text, through runTasks, the language detected per text.
    expect(engine.calls.slice(0, 4)).toEqual([
      'intent:classify:en:2',
      'intent:classify:en:3',
      'intent:classify:en:4',
      'intent:classify:zh:5',
    ]);
    expect(report.task).toBe('intent');
    expect(report.methods).toEqual(['logprob']);
    expect(report.dataset).toMatchObject({
      labels: INTENT_LABELS,
      classes: INTENT_LABELS,
      evaluatedRows: 11,
      badRows: { count: 1 },
    });
    expect(report.dataset.kind).toBeUndefined();

    const run = report.runs[0]!;
    expect(run.neutralOnBinary).toBeUndefined();
    expect(run.metricsNote).toBe('every answer scored as given');
    expect(run.locales).toEqual({ en: 7, zh: 4 });
    const { metrics } = run;
    expect(metrics.labels).toEqual(INTENT_LABELS);
    // 9 of 11 right. Answers per label: question 1, request 3, complaint 1, praise 1, greeting 2, other 3.
    expect(metrics.accuracy).toBeCloseTo(9 / 11, 10);
    expect(metrics.confusion['question']).toEqual({
      question: 1,
      request: 1,
      complaint: 0,
      praise: 0,
      greeting: 0,
      other: 0,
    });
    expect(metrics.confusion['complaint']).toEqual({
      question: 0,
      request: 0,
      complaint: 1,
      praise: 0,
      greeting: 0,
      other: 1,
    });
    // question: P 1/1, R 1/2, F1 2/3. request: P 2/3, R 1, F1 4/5. complaint: P 1, R 1/2, F1 2/3. other: P 2/3, R 1, F1 4/5.
    expect(metrics.perClass['question']).toMatchObject({ precision: 1, recall: 0.5, support: 2, predicted: 1 });
    expect(metrics.perClass['request']?.precision).toBeCloseTo(2 / 3, 10);
    expect(metrics.perClass['request']?.f1).toBeCloseTo(0.8, 10);
    expect(metrics.perClass['other']).toMatchObject({ recall: 1, support: 2, predicted: 3 });
    expect(metrics.perClass['praise']?.f1).toBe(1);
    // Macro-F1 = (2/3 + 4/5 + 2/3 + 1 + 1 + 4/5) / 6 = 74/90; macro-recall = (1/2 + 1 + 1/2 + 1 + 1 + 1) / 6 = 5/6.
    expect(metrics.macroF1).toBeCloseTo(74 / 90, 10);
    expect(metrics.macroRecall).toBeCloseTo(5 / 6, 10);

    const text = formatReport(report);
    expect(text).toContain('task:   intent (labels question, request, complaint, praise, greeting, other)');
    expect(text).toContain(
      "rows:   6 of the task's 6 labels, 11 evaluated (question 2, request 2, complaint 2, praise 1, greeting 2, other 2)",
    );
    expect(text).toMatch(
      /gold \\ answer +question +request +complaint +praise +greeting +other\n +question +1 +1 +0 +0 +0 +0\n/,
    );
    expect(text).not.toContain('NEUTRAL');
  });

  it('evaluates through the real engine on the tiny synthetic model', { timeout: 300_000 }, async () => {
    const report = await runEvalCommand({
      task: 'intent',
      data: intentData,
      model: 'synthetic:tiny',
      modelsDir,
      threads: availableParallelism(),
    });
    const run = report.runs[0]!;
    expect(run.failed.count).toBe(0);
    expect(run.unparsed.count).toBe(0);
    expect(run.locales).toEqual({ en: 7, zh: 4 });
    expect(run.metrics.classes).toEqual(INTENT_LABELS);
    expect(run.metrics.labels).toEqual(INTENT_LABELS);
    for (const entry of run.predictions) {
      expect(INTENT_LABELS).toContain(entry.predicted);
      expect(Object.keys(entry.scores).sort()).toEqual([...INTENT_LABELS].sort());
      expect(sum(Object.values(entry.scores))).toBeCloseTo(1, 6);
      expect(entry.confidence).toBe(entry.scores[entry.predicted]);
    }
    // The metrics agree with the answers they summarise, whatever random weights answer.
    expect(run.metrics.correct).toBe(run.predictions.filter((entry) => entry.gold === entry.predicted).length);
    for (const label of INTENT_LABELS) {
      expect(sum(Object.values(run.metrics.confusion[label]!))).toBe(run.metrics.perClass[label]?.support);
      expect(run.metrics.perClass[label]?.predicted).toBe(
        run.predictions.filter((entry) => entry.predicted === label).length,
      );
    }
  });

  it("maps raw labels with --label-map onto the task's labels, and reports maps and labels that name none", async () => {
    const numeric = path.join(workDir, 'intent-numeric.csv');
    await writeFile(numeric, 'text,label\nwhere is it?,0\nthis is broken,1\nhello,greeting\nbye,7\n');
    // Numbers have no default reading outside sentiment: the report says so, and each becomes a bad row.
    const unmapped = await readDataset({ vocabulary: intent.vocabulary, path: numeric });
    expect(unmapped.labelMapping).toBe('word labels only (numbers need --label-map)');
    expect(unmapped.badRows.map((row) => row.reason)).toEqual([
      'unknown label "0" (see --label-map)',
      'unknown label "1" (see --label-map)',
      'unknown label "7" (see --label-map)',
    ]);

    const dataset = await readDataset({
      vocabulary: intent.vocabulary,
      path: numeric,
      labelMap: parseLabelMap('0=question,1=投诉', intent.vocabulary),
    });
    expect(dataset.labelMapping).toBe('0=question,1=complaint (--label-map)');
    expect(dataset.examples.map((example) => example.label)).toEqual(['question', 'complaint', 'greeting']);
    expect(dataset.badRows).toEqual([{ line: 5, reason: 'unknown label "7" (see --label-map)' }]);

    let opened = false;
    const openEngine = async () => {
      opened = true;
      return scriptedEngine({ dataset, labels: INTENT_LABELS });
    };
    const badMap = runEvalCommand({ task: 'intent', data: numeric, labelMap: '0=question,1=negative', openEngine });
    await expect(badMap).rejects.toBeInstanceOf(LabelMapError);
    await expect(badMap).rejects.toThrow(
      'label map entry "1=negative" must map to question, request, complaint, praise, greeting or other',
    );
    const noTask = runEvalCommand({ task: 'mood', data: numeric, openEngine });
    await expect(noTask).rejects.toBeInstanceOf(EvalTaskError);
    await expect(noTask).rejects.toThrow('there is no task "mood"; the classify tasks are sentiment, intent');
    await expect(runEvalCommand({ task: 'keywords', data: numeric, openEngine })).rejects.toThrow(
      'task "keywords" is an extract task; only classify tasks (sentiment, intent) have labels to evaluate',
    );
    // Every refusal comes before the model would load.
    expect(opened).toBe(false);
  });

  it("refuses sentiment's generate-and-parse baseline for another task, before loading anything", async () => {
    let opened = false;
    const openEngine = async () => {
      opened = true;
      return scriptedEngine({ dataset: await readDataset({ vocabulary: intent.vocabulary, path: intentData }) });
    };
    for (const method of ['generate', 'both'] as const) {
      const run = runEvalCommand({ task: 'intent', data: intentData, method, openEngine });
      await expect(run).rejects.toBeInstanceOf(UnsupportedOptionError);
      await expect(run).rejects.toMatchObject({
        code: 'EVAL_UNSUPPORTED_OPTION',
        message: `--method ${method} needs the generate-and-parse baseline, which only sentiment has; task "intent" is scored from its labels' probabilities (--method logprob)`,
      });
    }
    expect(opened).toBe(false);
  });
});
