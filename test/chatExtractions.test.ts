// CHAT_TASKS' extractions beside the reply, on the tiny model and both databases: they end with their answer, the reply
// does not wait for them, each reaches the client as ChatTaskResults before ChatDone and is stored with the message.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTaskDefinitions, type Engine } from '../src/engine/index.js';
import { createDatabase, testDialects, type TestDatabase } from './support/dialects.js';
import { readSseNextPayloads } from './support/readSseEvents.js';
import { createScratchDir, createTestServiceOn, loadTestEngine, type TestService } from './support/testApp.js';

const scratch = createScratchDir('aio-chat-extractions-');
const leftovers: (() => unknown)[] = [];
let engine: Engine;

/**
 * An extraction the tiny model cannot finish quickly: its answer is at least 400 characters, so it takes dozens of
 * tokens (one per engine cycle) while the reply's prompt takes a few cycles before its first token.
 */
const LONG_TASK = {
  kind: 'extract',
  name: 'retelling',
  description: 'The message retold at length.',
  instruction: { en: 'Retell the message at length.', zh: '详细复述这条消息。' },
  schema: { type: 'string', minLength: 400, maxLength: 400 },
};

const TASKS_FILE = path.join(scratch.dir, 'tasks.json');

beforeAll(async () => {
  writeFileSync(TASKS_FILE, JSON.stringify({ tasks: [LONG_TASK] }));
  engine = await loadTestEngine({ contextSize: 4096, tasks: loadTaskDefinitions(TASKS_FILE) });
});

afterAll(async () => {
  for (const close of leftovers.reverse()) await close();
  await engine.dispose();
  scratch.remove();
});

const RESULT = '__typename ... on Classification { task label } ... on Extraction { task value }';

describe('an extraction', () => {
  it("ends when its answer does (the grammar's closing newlines), far inside its bound", async () => {
    // Before, it wrote newlines after the answer until the bound: keywords took all its 1,008 tokens, every time.
    const keywords = engine.tasks().find((task) => task.name === 'keywords');
    const bound = keywords?.kind === 'extract' ? keywords.maxTokens : 0;
    expect(bound).toBeGreaterThan(1000);
    const run = await engine.runTasks('My parcel is lost, this is the third time!', ['keywords']);
    const result = run.results[0];
    expect(result?.kind).toBe('extract');
    expect(result?.kind === 'extract' ? result.tokens : bound).toBeLessThan(bound / 4);
  });
});

describe.each(testDialects())('CHAT_TASKS with an extraction, on %s', (dialect) => {
  let service: TestService;
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createDatabase(dialect, scratch.dir, 'chat');
    leftovers.push(() => db.dispose());
    service = createTestServiceOn(await db.open(), engine, { TASKS_FILE, CHAT_TASKS: 'sentiment,retelling' });
  });

  it('streams reply tokens before the extraction ends, then ChatTaskResults, then ChatDone; stores it with the message', async () => {
    const response = await service.app.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: `subscription { chatStream(input: { message: "Where is my parcel?", maxTokens: 4, temperature: 0 }) {
          __typename
          ... on ChatStarted { userMessage { id taskResults { ${RESULT} } } }
          ... on ChatTaskResults { messageId taskResults { ${RESULT} } }
          ... on ChatDone { reply { status } }
        } }`,
      }),
    });
    const events: any[] = [];
    for await (const payload of readSseNextPayloads(response)) events.push((payload as any).data.chatStream);
    const kinds = events.map((event) => event.__typename);
    expect(kinds[0]).toBe('ChatStarted');
    expect(kinds.at(-1)).toBe('ChatDone');
    expect(kinds.filter((kind) => kind === 'ChatTaskResults')).toHaveLength(1);
    // The order the issue asked for: the reply's first token does not wait for the extraction.
    expect(kinds.indexOf('ChatToken')).toBeGreaterThan(0);
    expect(kinds.indexOf('ChatToken')).toBeLessThan(kinds.indexOf('ChatTaskResults'));
    // Only the classify tasks come before the reply; the extraction is its own event, for the same message.
    const userMessage = events[0].userMessage;
    expect(userMessage.taskResults.map((result: { task: string }) => result.task)).toEqual(['sentiment']);
    const extracted = events[kinds.indexOf('ChatTaskResults')];
    expect(extracted.messageId).toBe(userMessage.id);
    expect(extracted.taskResults).toHaveLength(1);
    expect(extracted.taskResults[0].task).toBe('retelling');
    expect([...extracted.taskResults[0].value]).toHaveLength(400);
    expect(events.at(-1).reply.status).toBe('COMPLETE');
    // The message's sentiment is stored beside it, in the same table.
    const stored = await db.rows('select task, source from task_results where message_id = ? order by id', userMessage.id);
    expect(stored).toEqual([
      { task: 'sentiment', source: 'chat' },
      { task: 'retelling', source: 'chat' },
    ]);
  });

  it('stops a running extraction with the reply: unsubscribing stores the reply ABORTED and no half extraction', async () => {
    const response = await service.app.yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        query: `subscription { chatStream(input: { message: "Hello there", maxTokens: 400 }) {
          __typename ... on ChatStarted { userMessage { id } } } }`,
      }),
    });
    let messageId = '';
    const kinds: string[] = [];
    // Leaving the loop at the first token closes the stream: the client has gone while the extraction runs.
    for await (const payload of readSseNextPayloads(response)) {
      const event = (payload as any).data.chatStream;
      kinds.push(event.__typename);
      if (event.userMessage) messageId = event.userMessage.id;
      if (event.__typename === 'ChatToken') break;
    }
    expect(kinds).toEqual(['ChatStarted', 'ChatToken']);
    await service.services.chat.settle();
    expect(engine.status().runningJobs).toEqual([]);
    const reply = await db.rows<{ status: string }>(
      "select status from messages where role = 'assistant' and conversation_id = (select conversation_id from messages where id = ?)",
      messageId,
    );
    expect(reply).toEqual([{ status: 'aborted' }]);
    // Only the sentiment, stored with the message before the reply: no half extraction.
    expect(await db.rows('select task from task_results where message_id = ?', messageId)).toEqual([{ task: 'sentiment' }]);
  });
});
