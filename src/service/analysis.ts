// Tasks on texts — the sentiment queries, classify, extract, analyze — and the task catalogue: each call runs in one
// engine job within its operation's budget, and every result is stored (source QUERY).
import type { Repository } from '../db/index.js';
import { SENTIMENT_TASK_NAME, type Locale, type SentimentLabel, type TaskInfo } from '../engine/index.js';
import type { EngineHolder } from './EngineHolder.js';
import type { OperationScope } from './OperationScope.js';
import type { SentimentListener } from './sentimentListener.js';
import { storedShapeOf } from './taskRuns.js';
import { toSentimentView, toTaskResultView, type SentimentView, type TaskResultView } from './views.js';

export interface AnalysisServiceOptions {
  repository: Repository;
  engine: EngineHolder;
  onSentiment?: SentimentListener;
}

export interface AnalysisView {
  /** The language the prompts were in: the one asked for, or the one detected from the text. */
  locale: Locale;
  /** In the order asked for. */
  results: TaskResultView[];
}

export interface AnalyzeOptions {
  /** Default: detected from the text. */
  locale: Locale | null;
  /** Only tasks of this kind (the `classify` and `extract` queries). */
  kind?: 'classify' | 'extract';
}

export interface AnalysisService {
  /** Every task: the built-ins and TASKS_FILE's. */
  tasks(): TaskInfo[];
  /** Sentiment of each text, within the operation's budget; without a locale each text's language is detected. */
  sentiments(texts: readonly string[], locale: Locale | null, operation: OperationScope): Promise<SentimentView[]>;
  /**
   * Runs tasks on one text in one engine job and stores every result; without a list, the default analysis
   * (sentiment, intent, keywords unless TASKS_FILE says otherwise).
   */
  analyze(text: string, tasks: readonly string[] | null, options: AnalyzeOptions, operation: OperationScope): Promise<AnalysisView>;
}

export function createAnalysisService(options: AnalysisServiceOptions): AnalysisService {
  const { repository, engine, onSentiment } = options;
  return {
    tasks: () => engine.get().tasks(),

    sentiments: (texts, locale, operation) =>
      operation.run(texts.length, async () => {
        const runs = await engine.get().runTaskBatch(texts, [SENTIMENT_TASK_NAME], {
          ...(locale ? { locale } : {}),
          signal: operation.signal,
          key: operation.key,
        });
        // Nobody will receive results that arrive after the operation ended: they are not stored.
        operation.signal.throwIfAborted();
        const analyses = await repository.insertQueryAnalyses(
          runs.map((run, index) => ({ owner: operation.owner, text: texts[index]!, ...storedShapeOf(run) })),
        );
        const views = analyses.map((analysis) => toSentimentView(analysis.taskResults[0]!));
        for (const view of views) onSentiment?.({ label: view.label, source: 'query', locale: view.locale });
        return views;
      }),

    analyze: (text, tasks, { locale, kind }, operation) => {
      const current = engine.get();
      const names = tasks ?? current.defaultAnalysis;
      return operation.run(new Set(names).size, async () => {
        const run = await current.runTasks(text, names, {
          ...(locale ? { locale } : {}),
          ...(kind ? { kind } : {}),
          signal: operation.signal,
          key: operation.key,
        });
        operation.signal.throwIfAborted();
        const [stored] = await repository.insertQueryAnalyses([{ owner: operation.owner, text, ...storedShapeOf(run) }]);
        const results = stored!.taskResults.map(toTaskResultView);
        for (const result of results) {
          if (result.task === SENTIMENT_TASK_NAME && result.kind === 'classify') {
            onSentiment?.({ label: result.label as SentimentLabel, source: 'query', locale: result.locale });
          }
        }
        return { locale: run.locale, results };
      });
    },
  };
}
