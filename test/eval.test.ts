// The evaluation harness: data formats and label spellings, hand-checked metrics, NEUTRAL on binary sets, the runner.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { computeCalibration } from '../src/eval/calibration.js';
import type { ClassifierAnswer, OwnedClassifier, SentimentLabel } from '../src/eval/classifier.js';
import { percentile, summarize } from '../src/eval/distribution.js';
import { DatasetColumnsError, EmptyDatasetError, LabelMapError } from '../src/eval/errors.js';
import { formatReport } from '../src/eval/formatReport.js';
import { createLabelResolver, parseLabelMap } from '../src/eval/labels.js';
import { computeClassificationMetrics } from '../src/eval/metrics.js';
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

function countLabels(dataset: Dataset): Partial<Record<SentimentLabel, number>> {
  const counts: Partial<Record<SentimentLabel, number>> = {};
  for (const { label } of dataset.examples) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

const textOn = (dataset: Dataset, line: number) => dataset.examples.find((example) => example.line === line)?.text;

describe('readDataset', () => {
  it('reads GLUE-style TSV (text<TAB>label, 0/1) and reports each bad row by line', async () => {
    const dataset = await readDataset({ path: fixture('movie-reviews.tsv') });
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
    const dataset = await readDataset({ path: fixture('chnsenticorp-style.tsv') });
    expect(dataset.textField).toBe('text_a');
    expect(countLabels(dataset)).toEqual({ positive: 10, negative: 10 });
    expect(dataset.examples.find((example) => example.line === 14)?.label).toBe('positive');
    expect(dataset.examples.find((example) => example.line === 15)?.label).toBe('negative');
    expect(textOn(dataset, 8)).toBe('键盘手感不错，"屏幕"也很亮。');
    expect(dataset.badRows).toEqual([{ line: 16, reason: 'expected 2 columns, found 1' }]);
  });

  it('reads CSV with RFC 4180 quoting, CRLF endings, multi-line fields and any-case word labels', async () => {
    const dataset = await readDataset({ path: fixture('product-reviews.csv') });
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
    const dataset = await readDataset({ path: fixture('short-posts.jsonl') });
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
    const dataset = await readDataset({ path: fixture('texts.txt'), labelsPath: fixture('labels.txt') });
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
    const dataset = await readDataset({ path: fixture('chnsenticorp-style.tsv'), labelMap: parseLabelMap('0=positive,1=negative') });
    expect(dataset.labelMapping).toBe('0=positive,1=negative (--label-map)');
    expect(dataset.examples.find((example) => example.line === 2)?.label).toBe('negative');
    // Word labels still read as themselves.
    expect(dataset.examples.find((example) => example.line === 14)?.label).toBe('positive');
  });

  it('refuses a header without known columns, and a file with no usable rows', async () => {
    const noColumns = path.join(workDir, 'no-columns.csv');
    await writeFile(noColumns, 'id,body,score\n1,fine,1\n');
    await expect(readDataset({ path: noColumns })).rejects.toBeInstanceOf(DatasetColumnsError);
    const allBad = path.join(workDir, 'all-bad.jsonl');
    await writeFile(allBad, '{"text": "x", "label": "maybe"}\nnot json\n');
    const failure = readDataset({ path: allBad });
    await expect(failure).rejects.toBeInstanceOf(EmptyDatasetError);
    await expect(failure).rejects.toMatchObject({ code: 'EVAL_NO_VALID_ROWS' });
  });
});

describe('labels', () => {
  it('reads every supported spelling in any case', () => {
    const resolver = createLabelResolver([]);
    const spellings: [string, SentimentLabel][] = [
      ['positive', 'positive'], ['POSITIVE', 'positive'], ['Pos', 'positive'], ['正面', 'positive'],
      ['negative', 'negative'], ['NEG', 'negative'], ['负面', 'negative'],
      [' Neutral ', 'neutral'], ['neu', 'neutral'], ['中性', 'neutral'],
    ];
    for (const [raw, label] of spellings) expect(resolver.resolve(raw), raw).toBe(label);
    expect(resolver.resolve('good')).toBeUndefined();
  });

  it('chooses the numeric reading from the numbers the file uses', () => {
    expect(createLabelResolver(['0', '1']).resolve('1')).toBe('positive');
    expect(createLabelResolver(['0', '1']).resolve('1.0')).toBe('positive');
    expect(createLabelResolver(['0', '1', '2']).resolve('1')).toBe('neutral');
    expect(createLabelResolver(['-1', '0', '1']).resolve('0')).toBe('neutral');
    expect(createLabelResolver(['-1', '0', '1']).resolve('-1')).toBe('negative');
    // 1–5 stars have no default: a 2 selects 0/1/2, and 3–5 are left as bad rows rather than guessed.
    expect(createLabelResolver(['1', '2', '3', '4', '5']).resolve('4')).toBeUndefined();
  });

  it('parses --label-map and rejects malformed ones with a stable code', () => {
    expect([...parseLabelMap('0=negative, 4=POS')]).toEqual([['0', 'negative'], ['4', 'positive']]);
    expect(() => parseLabelMap('0negative')).toThrow(LabelMapError);
    expect(() => parseLabelMap('3=great')).toThrow(/must map to positive, negative or neutral/);
    expect(() => parseLabelMap(' , ')).toThrow(expect.objectContaining({ code: 'EVAL_BAD_LABEL_MAP' }));
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
    const metrics = computeClassificationMetrics(THREE_CLASS, ['positive', 'negative', 'neutral']);
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
      [0.3, 1, 0], [0.4, 2, 0.5], [0.5, 1, 1], [0.6, 2, 0], [0.7, 1, 0], [0.8, 1, 1], [0.9, 2, 1],
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
  return { line, gold, locale: 'en', predicted, confidence: byLabel[predicted], scores: byLabel, latencyMs: 10, promptTokens: 20, parsed };
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
    const run = summarizeRun('logprob', predictions, [], ['positive', 'negative']);
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
    const run = summarizeRun('logprob', [...predictions, prediction(9, 'neutral', 'neutral', [0.1, 0.1, 0.8])], [], ['positive', 'negative', 'neutral']);
    expect(run.neutralOnBinary).toBeUndefined();
    expect(run.metricsNote).toMatch(/three-class/);
    // Right on 1, 4, 8, 9 → 4/9.
    expect(run.metrics.accuracy).toBeCloseTo(4 / 9, 10);
  });
});

/** Answers by text: the gold label, except where `wrong` says otherwise; generate answers are unparsed for `unparsed`. */
function scriptedClassifier(options: {
  dataset: Dataset;
  wrong?: Map<number, SentimentLabel>;
  unparsed?: Set<number>;
  failOn?: Set<number>;
}): OwnedClassifier & { calls: string[]; disposed: boolean } {
  const byText = new Map(options.dataset.examples.map((example) => [example.text, example]));
  const state = {
    calls: [] as string[],
    disposed: false,
    async classify(text: string, classifyOptions?: { method?: string; locale?: string }): Promise<ClassifierAnswer> {
      const example = byText.get(text);
      if (example === undefined) throw new Error(`unexpected text ${text}`);
      state.calls.push(`${classifyOptions?.method}:${classifyOptions?.locale}:${example.line}`);
      if (options.failOn?.has(example.line)) throw new Error('input too long');
      const generateUnparsed = classifyOptions?.method === 'generate' && options.unparsed?.has(example.line);
      // Unparsed answers carry a tie-break label of positive, as the engine's argmax over uniform scores does.
      const label = generateUnparsed ? 'positive' : (options.wrong?.get(example.line) ?? example.label);
      const scores = generateUnparsed
        ? { positive: 1 / 3, negative: 1 / 3, neutral: 1 / 3 }
        : { positive: 0.1, negative: 0.1, neutral: 0.1, [label]: 0.8 };
      return {
        label,
        confidence: scores[label],
        scores,
        latencyMs: classifyOptions?.method === 'generate' ? 50 : 5,
        promptTokens: classifyOptions?.method === 'generate' ? 120 : 30,
        parsed: !generateUnparsed,
        ...(classifyOptions?.method === 'generate' ? { rawAnswer: generateUnparsed ? '???' : `😄 ${label}` } : {}),
      };
    },
    async dispose() {
      state.disposed = true;
    },
  };
  return state;
}

describe('runEvalCommand', () => {
  it('runs both methods over the same texts and writes a full report as a table and as JSON', async () => {
    const dataset = await readDataset({ path: fixture('movie-reviews.tsv') });
    const classifier = scriptedClassifier({
      dataset,
      wrong: new Map<number, SentimentLabel>([[3, 'positive'], [11, 'neutral']]),
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
      openClassifier: async (engineOptions) => {
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
    expect(generate?.unparsed).toEqual({ count: 2, rate: 0.1, samples: [{ line: 2, answer: '???' }, { line: 5, answer: '???' }] });
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
    const dataset = await readDataset({ path: fixture('product-reviews.csv') });
    const classifier = scriptedClassifier({ dataset });
    const report = await runEvalCommand({
      data: fixture('product-reviews.csv'),
      limit: 5,
      locale: 'zh',
      openClassifier: async () => classifier,
    });
    expect(classifier.calls).toEqual(['logprob:zh:2', 'logprob:zh:3', 'logprob:zh:4', 'logprob:zh:5', 'logprob:zh:6']);
    expect(report.dataset).toMatchObject({ kind: 'three-class', evaluatedRows: 5, validRows: 19, limit: 5 });
    expect(report.runs[0]?.metrics.accuracy).toBe(1);
    expect(report.runs[0]?.neutralOnBinary).toBeUndefined();
    expect(formatReport(report)).toContain('5 evaluated (positive 2, negative 2, neutral 1) of 19 usable (--limit 5)');
  });

  it('stops on abort and still releases the classifier', async () => {
    const dataset = await readDataset({ path: fixture('short-posts.jsonl') });
    const classifier = scriptedClassifier({ dataset });
    const controller = new AbortController();
    const run = runEvalCommand({
      data: fixture('short-posts.jsonl'),
      signal: controller.signal,
      progress: { update: (done) => done === 3 && controller.abort(), stop: () => undefined },
      openClassifier: async () => classifier,
    });
    await expect(run).rejects.toThrow();
    expect(classifier.calls).toHaveLength(3);
    expect(classifier.disposed).toBe(true);
  });

  it('evaluates through the real engine on the tiny synthetic model (accuracy meaningless: random weights)', { timeout: 300_000 }, async () => {
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
        expect(entry.scores.positive + entry.scores.negative + entry.scores.neutral).toBeCloseTo(1, 6);
      }
    }
    // The warm system prefix is reused by logprob; the original method evaluates its whole prompt each time.
    expect(report.runs[0]!.promptTokens.mean).toBeLessThan(report.runs[1]!.promptTokens.mean);
    expect(report.runs[0]!.unparsed.count).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8')).runs).toHaveLength(2);
  });
});
