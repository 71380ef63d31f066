// Tasks by prompt: `tasks`, `classify`, `extract`, `analyze` and `taskStats`, and the result types messages carry too.
import type { TaskInfo } from '../engine/index.js';
import type { AnalysisView } from '../service/analysis.js';
import type { ClassificationView, ExtractionView, TaskResultView } from '../service/views.js';
import { StatsFilterInput, TimeBucketEnum } from './analytics.js';
import { builder } from './builder.js';
import { LocaleEnum } from './enums.js';

const TaskKindEnum = builder.enumType('TaskKind', {
  values: { CLASSIFY: { value: 'classify' }, EXTRACT: { value: 'extract' } } as const,
});

const TaskScoringEnum = builder.enumType('TaskScoring', {
  description:
    'FIRST_TOKEN: every label starts with its own token, one forward pass decides. WHOLE_LABEL: labels share a first ' +
    "token, each label's tokens are scored (length-normalized). GRAMMAR: the answer is generated under a JSON grammar.",
  values: {
    FIRST_TOKEN: { value: 'first-token' },
    WHOLE_LABEL: { value: 'whole-label' },
    GRAMMAR: { value: 'grammar' },
  } as const,
});

type LabelInfo = Extract<TaskInfo, { kind: 'classify' }>['labels'][number];

const TaskLabel = builder.objectRef<LabelInfo>('TaskLabel').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.string({
      args: { locale: t.arg({ type: LocaleEnum, description: 'Defaults to EN.' }) },
      resolve: (label, { locale }) => label.description[locale ?? 'en'],
    }),
    spellings: t.stringList({
      description: 'What the model may answer with for this label.',
      args: { locale: t.arg({ type: LocaleEnum, description: 'Defaults to EN.' }) },
      resolve: (label, { locale }) => [...label.spellings[locale ?? 'en']],
    }),
    steers: t.boolean({
      description: "Whether this label adds a line to a chat reply's system prompt.",
      resolve: (label) => label.steer !== undefined,
    }),
  }),
});

const Task = builder.objectRef<TaskInfo>('Task').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: TaskKindEnum }),
    description: t.exposeString('description'),
    labels: t.field({
      type: [TaskLabel],
      description: 'Empty for EXTRACT tasks.',
      resolve: (task) => (task.kind === 'classify' ? [...task.labels] : []),
    }),
    scoring: t.field({
      type: TaskScoringEnum,
      args: { locale: t.arg({ type: LocaleEnum, description: 'Defaults to EN.' }) },
      resolve: (task, { locale }) => (task.kind === 'classify' ? task.scoring[locale ?? 'en'] : task.scoring),
    }),
    schema: t.field({
      type: 'JSON',
      nullable: true,
      description: 'EXTRACT tasks: the JSON Schema of the answer.',
      resolve: (task) => (task.kind === 'extract' ? task.schema : null),
    }),
    maxTokens: t.int({
      nullable: true,
      description:
        'EXTRACT tasks: the most tokens an answer can take, its closing newlines included (the worst case: 6 tokens ' +
        'per string character, as the grammar allows \\uXXXX escapes); generation stops at the end of the answer, ' +
        'usually far sooner.',
      resolve: (task) => (task.kind === 'extract' ? task.maxTokens : null),
    }),
  }),
});

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

const LabelCount = builder.objectRef<{ label: string; count: number }>('LabelCount').implement({
  fields: (t) => ({ label: t.exposeString('label'), count: t.exposeInt('count') }),
});

const TaskStatsBucket = builder
  .objectRef<{ start: Date; total: number; labels: { label: string; count: number }[] }>('TaskStatsBucket')
  .implement({
    fields: (t) => ({
      start: t.expose('start', { type: 'DateTime' }),
      total: t.exposeInt('total'),
      labels: t.field({ type: [LabelCount], description: 'Most frequent first.', resolve: (bucket) => bucket.labels }),
    }),
  });

const TaskStats = builder
  .objectRef<{
    task: string;
    total: number;
    averageConfidence: number;
    labels: { label: string; count: number }[];
    series: { start: Date; total: number; labels: { label: string; count: number }[] }[];
  }>('TaskStats')
  .implement({
    fields: (t) => ({
      task: t.exposeString('task'),
      total: t.exposeInt('total'),
      averageConfidence: t.exposeFloat('averageConfidence', { description: '0 when there are no records.' }),
      labels: t.field({
        type: [LabelCount],
        description: 'Labels that occurred, most frequent first.',
        resolve: (stats) => stats.labels,
      }),
      series: t.field({
        type: [TaskStatsBucket],
        description: 'Non-empty buckets, oldest first.',
        resolve: (stats) => stats.series,
      }),
    }),
  });

builder.queryFields((t) => ({
  tasks: t.field({
    type: [Task],
    description: "Every task: the built-ins (sentiment, intent, keywords) and TASKS_FILE's.",
    resolve: (_, __, { services }) => services.tasks(),
  }),
  classify: t.field({
    type: Classification,
    description: 'Runs a classify task on a text; the result is stored (source QUERY).',
    args: {
      task: t.arg.string({ required: true }),
      text: t.arg.string({ required: true }),
      locale: t.arg({ type: LocaleEnum, description: 'Default: detected from the text.' }),
    },
    resolve: async (_, { task, text, locale }, { services, operation }) =>
      (await services.analyze(text, [task], { locale: locale ?? null, kind: 'classify' }, operation))
        .results[0] as ClassificationView,
  }),
  extract: t.field({
    type: Extraction,
    description: 'Runs an extract task on a text; the answer matches its schema and is stored (source QUERY).',
    args: {
      task: t.arg.string({ required: true }),
      text: t.arg.string({ required: true }),
      locale: t.arg({ type: LocaleEnum, description: 'Default: detected from the text.' }),
    },
    resolve: async (_, { task, text, locale }, { services, operation }) =>
      (await services.analyze(text, [task], { locale: locale ?? null, kind: 'extract' }, operation))
        .results[0] as ExtractionView,
  }),
  analyze: t.field({
    type: Analysis,
    description: 'Runs several tasks on one text in one engine job, in order; every result is stored (source QUERY).',
    args: {
      text: t.arg.string({ required: true }),
      tasks: t.arg.stringList({
        description: 'Default: the configured analysis (sentiment, intent, keywords unless TASKS_FILE says otherwise).',
      }),
      locale: t.arg({ type: LocaleEnum, description: 'Default: detected from the text.' }),
    },
    resolve: (_, { text, tasks, locale }, { services, operation }) =>
      services.analyze(text, tasks ?? null, { locale: locale ?? null }, operation),
  }),
  taskStats: t.field({
    type: TaskStats,
    description:
      "A classify task's counts per label and average confidence, in total and per bucket (the caller's records only).",
    args: {
      task: t.arg.string({ required: true }),
      filter: t.arg({ type: StatsFilterInput }),
      bucket: t.arg({ type: TimeBucketEnum, description: 'Defaults to DAY.' }),
    },
    resolve: async (_, { task, filter, bucket }, { services, owner }) => ({
      task,
      ...(await services.taskStats(
        task,
        owner,
        { ...filter, conversationId: filter?.conversationId == null ? null : String(filter.conversationId) },
        bucket ?? 'day',
      )),
    }),
  }),
}));
