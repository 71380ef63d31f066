// `--task` and `--tasks`: names checked against the configured tasks (built-ins and TASKS_FILE's) while the command
// line is parsed, so a wrong name fails in one line before a model loads.
import { InvalidArgumentError, Option } from 'commander';
import type { TaskCatalog, TaskDefinition } from '../engine/index.js';

type TaskKind = TaskDefinition['kind'];

/** `--task <name>`, required, for a command that runs one task of `kind`. */
export function taskOption(catalog: TaskCatalog, kind: TaskKind): Option {
  const names = catalog.tasks.filter((task) => task.kind === kind).map((task) => task.name);
  return new Option('--task <name>', `the ${kind} task to run: ${names.join(', ')} (see all-in-one tasks)`)
    .argParser((name: string) => checkTask(catalog, name, kind))
    .makeOptionMandatory();
}

/** `--tasks a,b,c` for analyze: tasks of either kind, run in the order given. */
export function taskListOption(catalog: TaskCatalog): Option {
  return new Option(
    '--tasks <names>',
    `comma-separated tasks to run, in order (default: ${catalog.selection.analyze.join(',')})`,
  ).argParser((value: string) => {
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    if (names.length === 0) throw new InvalidArgumentError('Name at least one task, e.g. --tasks sentiment,intent.');
    return names.map((name) => checkTask(catalog, name));
  });
}

function checkTask(catalog: TaskCatalog, name: string, kind?: TaskKind): string {
  const task = catalog.tasks.find((candidate) => candidate.name === name);
  if (task === undefined) {
    throw new InvalidArgumentError(
      `There is no task "${name}"; the tasks are ${catalog.tasks.map(({ name }) => name).join(', ')}.`,
    );
  }
  if (kind !== undefined && task.kind !== kind) {
    const article = task.kind === 'extract' ? 'an' : 'a';
    throw new InvalidArgumentError(
      `Task "${name}" is ${article} ${task.kind} task; run it with all-in-one ${task.kind} --task ${name}, or analyze.`,
    );
  }
  return name;
}
