// The task catalogue: the Task and TaskLabel types and the `tasks` query (running tasks is analysis.ts's).
import type { TaskInfo } from '../engine/index.js';
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

builder.queryFields((t) => ({
  tasks: t.field({
    type: [Task],
    description: "Every task: the built-ins (sentiment, intent, keywords) and TASKS_FILE's.",
    resolve: (_, __, { services }) => services.analysis.tasks(),
  }),
}));
