// The `all-in-one` command as a user runs it: the real bin/ launcher in a child process, on the tiny model, loopback only.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openSqlite, SqliteRepository } from '../src/db/index.js';
import { ENGINE_DEFAULTS } from '../src/engine/index.js';
import { createScratchDir } from './support/testApp.js';

const BIN = fileURLToPath(new URL('../bin/all-in-one.cjs', import.meta.url));
const EXAMPLE_TASKS = fileURLToPath(new URL('../examples/support-tickets.yaml', import.meta.url));
const DISPLAY_LINE = /^(😄|😡|😐) LLM sentiment: (positive|negative|neutral)$/;
const scratch = createScratchDir('aio-cli-');

afterAll(() => scratch.remove());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment of a user on the tiny model; `env` adds or overrides. Nothing is inherited but PATH and HOME. */
function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    MODEL: inject('tinyModelPath'),
    MODELS_DIR: inject('modelsDir'),
    THREADS: '1',
    CONTEXT_SIZE: '2048',
    DATABASE_PATH: path.join(scratch.dir, 'cli.db'),
    ...env,
  };
}

/** Runs the CLI from the scratch folder (it must not depend on the working directory) and waits for it to exit. */
function runCli(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: scratch.dir, env: cliEnv(options.env) });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('all-in-one', () => {
  it('lists every command in --help', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    for (const command of [
      'serve',
      'pull',
      'sentiment',
      'tasks',
      'classify',
      'extract',
      'analyze',
      'analyze-file',
      'chat',
      'stats',
      'eval',
      'synth-model',
    ]) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('sentiment prints the display line for the text', async () => {
    const run = await runCli(['sentiment', 'I love this phone', '--locale', 'en']);
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd()).toMatch(DISPLAY_LINE);
    // The synthetic model is announced loudly, on stderr, so stdout stays the bare line.
    expect(run.stderr).toContain('RANDOM weights');
  });

  it("tasks lists the built-in tasks and TASKS_FILE's own, with how each is scored", async () => {
    const env = { TASKS_FILE: EXAMPLE_TASKS };
    const text = await runCli(['tasks'], { env });
    expect(text.code).toBe(0);
    for (const task of ['sentiment', 'intent', 'keywords', 'ticket_category', 'order_numbers']) {
      expect(text.stdout).toMatch(new RegExp(`^${task}\\b`, 'm'));
    }
    const json = await runCli(['tasks', '--json'], { env });
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as { tasks: { name: string; kind: string }[]; analyze: string[] };
    expect(listed.tasks.map(({ name, kind }) => `${name}:${kind}`)).toEqual(
      expect.arrayContaining(['sentiment:classify', 'intent:classify', 'keywords:extract', 'ticket_category:classify']),
    );
    // The example file sets what analyze runs by default.
    expect(listed.analyze).toEqual(['sentiment', 'intent', 'ticket_category', 'order_numbers']);
  });

  it('classify prints the label and every probability; extract prints an answer that fits the schema', async () => {
    const classify = await runCli(['classify', '--task', 'intent', 'Where is my parcel?', '--json']);
    expect(classify.code).toBe(0);
    const classified = JSON.parse(classify.stdout) as {
      task: string;
      label: string;
      scores: Record<string, number>;
      locale: string;
    };
    expect(classified).toMatchObject({ task: 'intent', locale: 'en' });
    expect(Object.keys(classified.scores)).toContain(classified.label);
    expect(Object.values(classified.scores).reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 6);

    const text = await runCli(['classify', '--task', 'intent', '你好']);
    expect(text.code).toBe(0);
    const [line, ...rows] = text.stdout.trimEnd().split('\n');
    expect(line).toMatch(/^intent: \w+ \(\d+%\)$/);
    expect(rows).toHaveLength(Object.keys(classified.scores).length);

    const extract = await runCli(['extract', '--task', 'keywords', 'The battery dies after an hour', '--json']);
    expect(extract.code).toBe(0);
    const { value } = JSON.parse(extract.stdout) as { value: unknown };
    expect(Array.isArray(value)).toBe(true);
    expect((value as unknown[]).length).toBeLessThanOrEqual(5);
    expect((value as unknown[]).every((item) => typeof item === 'string')).toBe(true);
  });

  it('analyze runs the default tasks on one text, and refuses a task of the wrong kind or an unknown one', async () => {
    const run = await runCli(['analyze', 'I love this phone']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.split(':')[0])).toEqual(['sentiment', 'intent', 'keywords']);
    expect(lines[2]).toMatch(/^keywords: \[.*\]$/);

    const wrongKind = await runCli(['classify', '--task', 'keywords', 'hello']);
    expect(wrongKind.code).not.toBe(0);
    expect(wrongKind.stderr).toMatch(/keywords/);
    const unknown = await runCli(['analyze', 'hello', '--tasks', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/nope/);
    expect(unknown.stderr).toMatch(/sentiment/);
  });

  it('chat reads a message from stdin, prints its sentiment line, streams a reply and stores the turn', async () => {
    const databasePath = path.join(scratch.dir, 'chat.db');
    const run = await runCli(['chat', '--locale', 'en', '--max-tokens', '4', '--db', databasePath], {
      input: 'I feel great today\n',
    });
    expect(run.code).toBe(0);
    const [sentimentLine, replyLine] = run.stdout.split('\n');
    expect(sentimentLine).toMatch(DISPLAY_LINE);
    expect(replyLine).toMatch(/^assistant › ./);
    expect(run.stderr).toMatch(/Conversation \w+ is stored in /);

    const database = openSqlite({ path: databasePath, readonly: true });
    try {
      // 'user' sorts after 'assistant': both may carry the same millisecond.
      const messages = database.sqlite.prepare('select role, status from messages order by role desc').all();
      expect(messages).toEqual([
        { role: 'user', status: 'complete' },
        { role: 'assistant', status: 'complete' },
      ]);
    } finally {
      database.close();
    }
  });

  it('stats prints totals per label and a chart per day', async () => {
    const databasePath = path.join(scratch.dir, 'stats.db');
    const database = SqliteRepository.open({ path: databasePath });
    const result = { task: 'sentiment', kind: 'classify', locale: 'en', confidence: 0.8, latencyMs: 5 } as const;
    const scores = { positive: 0.1, negative: 0.1, neutral: 0.1 };
    await database.insertQueryAnalyses([
      { owner: null, text: 'a', taskResults: [{ ...result, scores, label: 'positive' }] },
      { owner: null, text: 'b', taskResults: [{ ...result, scores, label: 'positive' }] },
      { owner: null, text: 'c', taskResults: [{ ...result, scores, label: 'negative' }] },
    ]);
    await database.close();

    const run = await runCli(['stats', '--db', databasePath, '--source', 'query']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Sentiments: 3 (source query, records without an owner)');
    expect(run.stdout).toMatch(/^ {2}positive +2 +66\.7% +█{40}$/m);
    expect(run.stdout).toMatch(/^ {2}negative +1 +33\.3% +█{20}$/m);
    expect(run.stdout).toMatch(/^By day \(UTC\)\n {2}\d{4}-\d{2}-\d{2} +3 +█{40} +\+2 -1 =0$/m);
  });

  it('pull of an unreachable hf: model exits non-zero with one clear line', async () => {
    // A loopback port nothing listens on: the download fails without leaving this machine.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const run = await runCli(
      [
        'pull',
        'hf:nobody/nothing-GGUF/nothing.gguf',
        '--models-dir',
        path.join(scratch.dir, 'models'),
        '--connect-timeout',
        '1000',
      ],
      { env: { HF_ENDPOINT: `http://127.0.0.1:${closedPort}/` } },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^all-in-one: Error: Could not find or download MODEL=hf:nobody\/nothing-GGUF\/nothing\.gguf/,
    );
  });

  it('serve prints the start-up banner, shows /metrics moving after a chat, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      cwd: scratch.dir,
      env: cliEnv({ DATABASE_PATH: path.join(scratch.dir, 'serve.db'), LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let exitCode: number | null;
    try {
      let stderr = '';
      child.stdout.resume();
      const banner = await new Promise<string>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (/SYNTHETIC MODEL.*\n.*\n/.test(stderr)) resolve(stderr);
        });
        void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      const url = /GraphQL +(http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(banner)?.[1];
      expect(url).toBeDefined();
      expect(banner).toContain(`Playground  ${url}/graphql`);
      expect(banner).toContain(`Metrics     ${url}/metrics`);
      expect(banner).toContain(`from      local file ${inject('tinyModelPath')}`);
      expect(banner).toContain(`Database    ${path.join(scratch.dir, 'serve.db')}`);
      expect(banner).toMatch(/Auth +off/);
      expect(banner).toMatch(
        new RegExp(
          `Engine +llama\\.cpp (native build \\(npm run build:native\\)|prebuilt binary), 1 thread \\(decodes on a pool of \\d+\\), ` +
            `${ENGINE_DEFAULTS.maxParallelReplies} replies at once, 2048-token sequences`,
        ),
      );

      const chat = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation { chat(input: { message: "hi", locale: EN, maxTokens: 4 }) { reply { tokenCount } } }',
        }),
      });
      const tokenCount = ((await chat.json()) as { data: { chat: { reply: { tokenCount: number } } } }).data.chat.reply
        .tokenCount;
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain(`allinone_engine_tokens_generated_total ${tokenCount}`);
      expect(metrics).toContain(
        'allinone_graphql_operations_total{operation_name="anonymous",operation_type="mutation",outcome="ok"} 1',
      );
      expect(metrics).toMatch(/^allinone_sentiments_total\{label="\w+",source="chat"\} 1$/m);
      expect(metrics).toContain('allinone_engine_job_duration_seconds_count{kind="chat",outcome="ok"} 1');
    } finally {
      child.kill('SIGTERM');
      exitCode = await exited;
    }
    expect(exitCode).toBe(0);
  });
});
