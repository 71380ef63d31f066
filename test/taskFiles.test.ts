// TASKS_FILE checked before any work: every limit and every impossible task refused at load with one line naming the
// file, the task and the field; instructions checked against the context; a warm-up of many tasks that no job time
// limit cuts short and that reports its progress; prepared states kept across restarts (TASK_STATES_DIR) and never
// trusted blindly. The real loader, the real engine on the tiny model, and the real service process.
import { mkdirSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeGeneratedTasksFile } from '../bench/lib/generatedTasks.js';
import { loadTaskDefinitions, TaskDefinitionError, type Engine, type WarmUpProgress } from '../src/engine/index.js';
import { TASK_LIMITS } from '../src/engine/tasks/taskLimits.js';
import { BINARY_TESTS_FOLDER } from '../src/engine/binaryTestVerdicts.js';
import { startService, stopProcess } from './support/serviceProcess.js';
import { createScratchDir, loadTestEngine } from './support/testApp.js';

const scratch = createScratchDir('aio-task-files-');
const leftovers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  scratch.remove();
});

function writeTasks(name: string, content: unknown): string {
  const file = path.join(scratch.dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function classify(name: string, labels = 2, spellings = 1) {
  return {
    kind: 'classify',
    name,
    description: 'd',
    instruction: { en: 'Choose.', zh: '选择。' },
    labels: Array.from({ length: labels }, (_, index) => ({
      name: `label_${index}`,
      description: { en: 'e', zh: 'z' },
      spellings: {
        en: Array.from({ length: spellings }, (_, spelling) => `l${index}s${spelling}`),
        zh: [`标签${index}`],
      },
    })),
  };
}

function extract(name: string, schema: unknown, extra: Record<string, unknown> = {}) {
  return { kind: 'extract', name, description: 'd', instruction: { en: 'e', zh: 'z' }, schema, ...extra };
}

const shortString = { type: 'string', maxLength: 4 };

/** An object schema `levels` deep: each level one property holding the next, a string at the bottom. */
function nested(levels: number): unknown {
  let schema: unknown = shortString;
  for (let level = 1; level < levels; level += 1) schema = { type: 'object', properties: { inner: schema } };
  return schema;
}

describe('TASKS_FILE limits', () => {
  it.each([
    [
      'a file larger than the limit',
      () => writeTasks('big.yaml', `# ${'x'.repeat(TASK_LIMITS.fileBytes)}\ntasks: []\n`),
      /big\.yaml: is \d+ bytes, at most 1048576/,
    ],
    [
      // 10,000 levels crashed the YAML parser with an out-of-memory abort, not even an error.
      'brackets nested 10,000 deep',
      () => writeTasks('deep.yaml', `tasks: ${'['.repeat(10_000)}${']'.repeat(10_000)}`),
      /deep\.yaml: line 1: nested more than 64 levels deep/,
    ],
    [
      '201 tasks',
      () => writeTasks('many.json', { tasks: Array.from({ length: 201 }, (_, index) => classify(`t${index}`)) }),
      /many\.json: tasks: 201 tasks, at most 200/,
    ],
    [
      'eleven spellings of one label',
      () => writeTasks('spellings.json', { tasks: [classify('wordy', 2, 11)] }),
      /task "wordy": labels\[0\]\.spellings\.en: 11 spellings, at most 10/,
    ],
    [
      '20 labels of 6 spellings each (120 in all)',
      () => writeTasks('all-spellings.json', { tasks: [classify('wordy', 20, 6)] }),
      /task "wordy": labels: 120 English spellings in all, at most 100/,
    ],
    [
      'an object of 10,000 properties',
      () =>
        writeTasks('wide.json', {
          tasks: [
            extract('wide', {
              type: 'object',
              properties: Object.fromEntries(Array.from({ length: 10_000 }, (_, index) => [`p${index}`, { type: 'null' }])),
            }),
          ],
        }),
      /task "wide": schema\.properties: 10000 properties, at most 64/,
    ],
    [
      'an enum of 257 values',
      () => writeTasks('enum.json', { tasks: [extract('pick', { enum: Array.from({ length: 257 }, (_, index) => `v${index}`) })] }),
      /task "pick": schema\.enum: 257 values, at most 256/,
    ],
    [
      'a schema nested 9 levels',
      () => writeTasks('nested.json', { tasks: [extract('nest', nested(9))] }),
      /task "nest": schema(\.properties\.inner){8}: nested more than 8 levels deep/,
    ],
    [
      'a schema of more than 500 nodes',
      () => {
        const row = { type: 'object', properties: Object.fromEntries(Array.from({ length: 30 }, (_, index) => [`c${index}`, { type: 'null' }])) };
        const table = { type: 'object', properties: Object.fromEntries(Array.from({ length: 30 }, (_, index) => [`r${index}`, row])) };
        return writeTasks('nodes.json', { tasks: [extract('table', table, { maxTokens: 4096 })] });
      },
      /task "table": schema: more than 500 nodes/,
    ],
  ])('refuses %s with one line naming the file, the task and the field', (_, file, message) => {
    const attempt = () => loadTaskDefinitions(file());
    expect(attempt).toThrow(TaskDefinitionError);
    expect(attempt).toThrow(message);
  });
});

describe('TASKS_FILE impossible tasks', () => {
  it.each([
    ['minLength over maxLength', extract('s', { type: 'string', minLength: 9, maxLength: 4 }), /task "s": schema\.minLength: 9 is more than maxLength 4/],
    [
      'minItems over maxItems',
      extract('a', { type: 'array', items: shortString, minItems: 3, maxItems: 2 }),
      /task "a": schema\.minItems: 3 is more than maxItems 2/,
    ],
    [
      'an impossible string inside an array inside an object',
      extract('o', { type: 'object', properties: { tags: { type: 'array', items: { type: 'string', minLength: 5, maxLength: 1 }, maxItems: 2 } } }),
      /task "o": schema\.properties\.tags\.items\.minLength: 5 is more than maxLength 1/,
    ],
    [
      'required naming a missing property',
      extract('r', { type: 'object', properties: { name: shortString }, required: ['name', 'age'] }),
      /task "r": schema\.required: "age" is not one of its properties/,
    ],
    [
      'a required property listed twice',
      extract('r', { type: 'object', properties: { name: shortString }, required: ['name', 'name'] }),
      /task "r": schema\.required: "name" is listed twice/,
    ],
    ['duplicate enum values', extract('e', { enum: ['yes', 'no', 'yes'] }), /task "e": schema\.enum: "yes" is listed twice/],
    [
      'a number with minimum over maximum (numbers are outside the supported subset)',
      extract('n', { type: 'integer', minimum: 5, maximum: 1 }),
      /task "n": schema: not a supported schema: .*number and integer are not supported/,
    ],
    [
      'an unsupported type deep inside an object, named at its own field',
      extract('n', { type: 'object', properties: { age: { type: 'number' } } }),
      /task "n": schema\.properties\.age: not a supported schema/,
    ],
    [
      'a string without maxLength, named at the missing field',
      extract('n', { type: 'string', minLength: 1 }),
      /task "n": schema\.maxLength: Invalid input: expected number/,
    ],
    [
      'an answer bound beyond any context (50 strings of 500 characters)',
      extract('huge', { type: 'array', items: { type: 'string', maxLength: 500 }, maxItems: 50 }),
      /task "huge": schema: its longest answer takes \d+ tokens, more than 4096/,
    ],
    [
      'a spelling repeated within a label',
      (() => {
        const task = classify('twice');
        const [first, second] = task.labels;
        return { ...task, labels: [{ ...first!, spellings: { en: ['same', 'same'], zh: ['同'] } }, second!] };
      })(),
      /task "twice": labels\[0\]\.spellings\.en: "same" is listed twice/,
    ],
  ])('refuses %s with one line naming the file, the task and the field', (_, task, message) => {
    const file = writeTasks('impossible.json', { tasks: [task] });
    const attempt = () => loadTaskDefinitions(file);
    expect(attempt).toThrow(TaskDefinitionError);
    expect(attempt).toThrow(message);
  });
});

describe('task files in the engine', () => {
  it('refuses at load a task whose instructions do not fit the context with room for a text, naming file, task and field', async () => {
    const description = 'a long description of what this label means and when to choose it '.repeat(29).trim();
    const task = classify('long', 20);
    const file = writeTasks('long.json', {
      tasks: [{ ...task, labels: task.labels.map((label) => ({ ...label, description: { en: description, zh: description } })) }],
    });
    const warnings: string[] = [];
    const attempt = loadTestEngine({ contextSize: 1024, tasks: loadTaskDefinitions(file), onWarning: (line) => warnings.push(line) });
    await expect(attempt).rejects.toThrow(TaskDefinitionError);
    await expect(attempt).rejects.toThrow(
      /long\.json: task "long": instruction\.en: the instructions \(en\) and the longest answer take \d+ tokens, leaving less than 64 for a text in the 1024-token context/,
    );
    expect(((await attempt.catch((error: unknown) => error)) as Error).message).not.toContain('\n');
    // The built-in keywords' answer bound does not fit 1,024 tokens either: said, not refused (no file to blame).
    expect(warnings.some((line) => line.startsWith('task "keywords" (built in): '))).toBe(true);
  });

  it('warms up 60 tasks with a job time limit far below the warm-up, reporting progress up to every instruction', async () => {
    const file = writeGeneratedTasksFile(scratch.dir, 60);
    const progress: WarmUpProgress[] = [];
    // 1 ms: every job would time out; the warm-up is not a job under the limit.
    const engine: Engine = await loadTestEngine({ jobTimeoutMs: 1, tasks: loadTaskDefinitions(file), onWarmUp: (step) => progress.push(step) });
    leftovers.push(() => engine.dispose());
    expect(engine.tasks()).toHaveLength(63);
    const total = 2 * 63;
    expect(progress.map((step) => step.done)).toEqual(Array.from({ length: total + 1 }, (_, index) => index));
    expect(progress.every((step) => step.total === total)).toBe(true);
  });
});

describe('TASK_STATES_DIR', () => {
  it('keeps the prepared states for the next start, which loads them instead of evaluating, with the same results', async () => {
    const dir = path.join(scratch.dir, 'states');
    const tasks = loadTaskDefinitions(writeGeneratedTasksFile(scratch.dir, 4));
    const start = async () => {
      let last: WarmUpProgress | undefined;
      const engine = await loadTestEngine({ tasks, taskStatesDir: dir, onWarmUp: (step) => (last = step) });
      leftovers.push(() => engine.dispose());
      const run = await engine.runTasks('Where is my parcel? It is late again.', ['generated_0', 'sentiment'], { locale: 'en' });
      await engine.dispose();
      return { progress: last!, scores: run.results.map((result) => (result.kind === 'classify' ? result.scores : {})) };
    };
    // The states' folders; beside them, what the binary load tests found (test/binaryTestVerdicts.test.ts).
    const files = () =>
      readdirSync(dir)
        .filter((key) => key !== BINARY_TESTS_FOLDER)
        .flatMap((key) => readdirSync(path.join(dir, key)).map((name) => path.join(dir, key, name)));

    const first = await start();
    const total = 2 * 7;
    expect(first.progress).toEqual({ done: total, total, fromCache: 0 });
    // Each task's instructions in both languages, and the chat's system prompt.
    expect(files()).toHaveLength(total + 1);
    const written = new Map(files().map((file) => [file, statSync(file).ino]));

    const second = await start();
    expect(second.progress).toEqual({ done: total, total, fromCache: total });
    // Loaded, none written again (a write replaces the file: a new inode), the chat's system prompt included.
    expect(new Map(files().map((file) => [file, statSync(file).ino]))).toEqual(written);
    second.scores.forEach((scores, index) => {
      for (const [label, score] of Object.entries(scores)) expect(score).toBeCloseTo(first.scores[index]![label]!, 4);
    });

    // Damaged files (cut short by a full disk, edited by hand) are evaluated again and rewritten, never half loaded.
    const whole = new Map(files().map((file) => [file, statSync(file).size]));
    for (const [file, size] of whole) truncateSync(file, size >> 1);
    const third = await start();
    expect(third.progress).toEqual({ done: total, total, fromCache: 0 });
    expect(new Map(files().map((file) => [file, statSync(file).size]))).toEqual(whole);
  });
});

describe('saved states removed while the service runs', () => {
  it.each([
    ['TASK_STATES_DIR', true],
    ['the private temporary folder', false],
  ])('%s deleted: a task is evaluated again and its state saved again, never failed', async (_, cached) => {
    const dir = path.join(scratch.dir, `deleted-${cached}`);
    mkdirSync(dir);
    const tasks = loadTaskDefinitions(writeGeneratedTasksFile(scratch.dir, 2));
    // TMPDIR is read when the private folder is made, so this engine's folder lands in `dir`.
    const before = process.env['TMPDIR'];
    process.env['TMPDIR'] = dir;
    const engine = await loadTestEngine({ tasks, ...(cached ? { taskStatesDir: dir } : {}) }).finally(() => {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    });
    leftovers.push(() => engine.dispose());
    // The model's states folder, not the binary test's verdicts (TASK_STATES_DIR holds both; readdir's order is the
    // file system's).
    const states = readdirSync(dir).filter((entry) => entry !== BINARY_TESTS_FOLDER);
    expect(states).toHaveLength(1);
    const [own] = states;
    rmSync(path.join(dir, own!), { recursive: true, force: true });
    // Sentiment's instructions are the ones left resident after the warm-up; generated_0's must be restored.
    const run = await engine.runTasks('Where is my parcel?', ['generated_0'], { locale: 'en' });
    expect(run.results[0]!.prefix).toBe('evaluated');
    expect(readdirSync(path.join(dir, own!))).toHaveLength(1);
    expect((await engine.runTasks('Where is my parcel now?', ['generated_0', 'sentiment'], { locale: 'en' })).results[0]!.prefix).not.toBe('evaluated');
  });
});

describe('TASK_STATES_DIR that cannot be used', () => {
  it('is a warning, and the states go to a private temporary folder', async () => {
    const notAFolder = path.join(scratch.dir, 'plain-file');
    writeFileSync(notAFolder, 'not a folder');
    const warnings: string[] = [];
    const engine = await loadTestEngine({ taskStatesDir: path.join(notAFolder, 'states'), onWarning: (line) => warnings.push(line) });
    leftovers.push(() => engine.dispose());
    expect(warnings).toContainEqual(expect.stringMatching(/^task states folder .*plain-file\/states cannot be used \(ENOTDIR\)/));
    expect((await engine.runTasks('A short text.', ['sentiment'], { locale: 'en' })).results[0]!.prefix).not.toBe('evaluated');
  });
});

describe('the service process', () => {
  it('logs warm-up progress, and after a kill -9 the next start removes the saved states the killed one left', async () => {
    // The processes' own temporary folder, so the test sees exactly their folders.
    const tmp = path.join(scratch.dir, 'tmp');
    mkdirSync(tmp);
    const env = {
      TASKS_FILE: writeGeneratedTasksFile(scratch.dir, 20),
      JOB_TIMEOUT_MS: '100',
      DATABASE_PATH: path.join(scratch.dir, 'service.db'),
      TMPDIR: tmp,
      // Without the cache folder the states live in a private temporary folder, the one a kill -9 leaves behind.
      TASK_STATES_DIR: 'off',
    };
    const folders = () => readdirSync(tmp).filter((name) => name.startsWith('all-in-one-prefixes-'));
    const ownedBy = (pid: number) => new RegExp(`^all-in-one-prefixes-[0-9a-f]{8}-${pid}-`);

    const killed = await startService(env);
    leftovers.push(() => stopProcess(killed));
    const warming = killed.logs().filter((line) => line.msg?.startsWith('warming up task instructions '));
    const total = 2 * 23;
    expect(warming[0]?.msg).toBe(`warming up task instructions 0/${total}`);
    expect(warming.at(-1)?.msg).toBe(`warming up task instructions ${total}/${total}`);
    // A line per tenth of the way, not one per instruction.
    expect(warming.length).toBeLessThanOrEqual(11);
    expect(folders()).toEqual([expect.stringMatching(ownedBy(killed.child.pid!))]);
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(folders()).toEqual([expect.stringMatching(ownedBy(killed.child.pid!))]);

    const next = await startService(env);
    leftovers.push(() => stopProcess(next));
    expect(folders()).toEqual([expect.stringMatching(ownedBy(next.child.pid!))]);
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
    expect(folders()).toEqual([]);
  });

  it('loads the states the start before it saved in TASK_STATES_DIR, and says so in its progress lines', async () => {
    const env = {
      TASKS_FILE: writeGeneratedTasksFile(scratch.dir, 5),
      DATABASE_PATH: path.join(scratch.dir, 'cached.db'),
      TASK_STATES_DIR: path.join(scratch.dir, 'service-states'),
    };
    const total = 2 * 8;
    const lastLine = (service: Awaited<ReturnType<typeof startService>>) =>
      service.logs().filter((line) => line.msg?.startsWith('warming up task instructions ')).at(-1);
    const first = await startService(env);
    leftovers.push(() => stopProcess(first));
    expect(lastLine(first)).toMatchObject({ done: total, total, fromCache: 0 });
    await stopProcess(first);
    const second = await startService(env);
    leftovers.push(() => stopProcess(second));
    expect(lastLine(second)).toMatchObject({
      msg: `warming up task instructions ${total}/${total} (${total} loaded from TASK_STATES_DIR)`,
      fromCache: total,
    });
  });
});
