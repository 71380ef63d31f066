// Running tasks on a text: `classify`, `extract`, `analyze`, and the result types messages carry too.
import type { Locale } from '../engine/index.js';
import type { AnalysisView } from '../service/analysis.js';
import type { ClassificationView, ExtractionView, TaskResultView } from '../service/views.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { LocaleEnum } from './enums.js';

const LabelScore = builder.objectRef<ClassificationView['scores'][number]>('LabelScore').implement({
  fields: (t) => ({ label: t.exposeString('label'), probability: t.exposeFloat('probability') }),
});

export const Classification = builder.objectRef<ClassificationView>('Classification').implement({
  description: "A classify task result (sentiment included). Stored; its id is the record's.",
  fields: (t) => ({
    id: t.exposeID('id'),
    task: t.exposeString('task'),
    label: t.exposeString('label'),
    confidence: t.exposeFloat('confidence', { description: 'Probability of the chosen label.' }),
    scores: t.field({
      type: [LabelScore],
      description: "Every label's probability; they sum to 1.",
      resolve: (result) => result.scores,
    }),
    locale: t.expose('locale', {
      type: LocaleEnum,
      description: 'The language of the prompt: the one asked for, or the one detected.',
    }),
    latencyMs: t.exposeFloat('latencyMs'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const Extraction = builder.objectRef<ExtractionView>('Extraction').implement({
  description: "An extract task result: an answer that matches the task's JSON Schema. Stored.",
  fields: (t) => ({
    id: t.exposeID('id'),
    task: t.exposeString('task'),
    value: t.field({ type: 'JSON', resolve: (result) => result.value }),
    locale: t.expose('locale', { type: LocaleEnum }),
    latencyMs: t.exposeFloat('latencyMs'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const TaskResult = builder.unionType('TaskResult', {
  types: [Classification, Extraction],
  resolveType: (result: TaskResultView) => (result.kind === 'classify' ? 'Classification' : 'Extraction'),
});

const Analysis = builder.objectRef<AnalysisView>('Analysis').implement({
  fields: (t) => ({
    locale: t.expose('locale', {
      type: LocaleEnum,
      description: 'The language used: the one asked for, or the one detected.',
    }),
    results: t.field({
      type: [TaskResult],
      description: 'In the order the tasks were asked for.',
      resolve: (analysis) => analysis.results,
    }),
  }),
});

/** The text and its language: what `classify`, `extract` and `analyze` all take. */
const textArgs = builder.args((t) => ({
  text: t.string({ required: true }),
  locale: t.field({ type: LocaleEnum, description: 'Default: detected from the text.' }),
}));

const oneTaskArgs = builder.args((t) => ({ task: t.string({ required: true }) }));

/** The resolver of `classify` and `extract`: one task of that kind on the text, through `analyze`; its one result. */
function resolveOneTask<K extends TaskResultView['kind']>(kind: K) {
  return async (
    _: unknown,
    { task, text, locale }: { task: string; text: string; locale?: Locale | null },
    { services, operation }: GraphQLContext,
  ): Promise<Extract<TaskResultView, { kind: K }>> => {
    const { results } = await services.analysis.analyze(text, [task], { locale: locale ?? null, kind }, operation);
    return results[0] as Extract<TaskResultView, { kind: K }>;
  };
}

builder.queryFields((t) => ({
  classify: t.field({
    type: Classification,
    description: 'Runs a classify task on a text; the result is stored (source QUERY).',
    args: { ...oneTaskArgs, ...textArgs },
    resolve: resolveOneTask('classify'),
  }),
  extract: t.field({
    type: Extraction,
    description: 'Runs an extract task on a text; the answer matches its schema and is stored (source QUERY).',
    args: { ...oneTaskArgs, ...textArgs },
    resolve: resolveOneTask('extract'),
  }),
  analyze: t.field({
    type: Analysis,
    description: 'Runs several tasks on one text in one engine job, in order; every result is stored (source QUERY).',
    args: {
      ...textArgs,
      tasks: t.arg.stringList({
        description: 'Default: the configured analysis (sentiment, intent, keywords unless TASKS_FILE says otherwise).',
      }),
    },
    resolve: (_, { text, tasks, locale }, { services, operation }) =>
      services.analysis.analyze(text, tasks ?? null, { locale: locale ?? null }, operation),
  }),
}));
