// The GraphQL API in-process (yoga.fetch) on the real engine, on a real SQLite file and a real PostgreSQL: every field
// and error code, with the same answers from both.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SqliteRepository, type Repository } from '../src/db/index.js';
import { PostgresRepository } from '../src/db/postgres/index.js';
import type { Engine } from '../src/engine/index.js';
import { printSortedSchema } from '../src/schema/printSchema.js';
import { createDatabase, testDialects, type Dialect, type TestDatabase } from './support/dialects.js';
import {
  createScratchDir,
  createTestServiceOn,
  loadTestEngine,
  type GraphQLBody,
  type TestService,
} from './support/testApp.js';

const scratch = createScratchDir('aio-api-');
const leftovers: { close(): Promise<void> | void }[] = [];
let engine: Engine;

beforeAll(async () => {
  engine = await loadTestEngine();
  leftovers.push({ close: () => engine.dispose() });
});

afterAll(async () => {
  for (const leftover of leftovers.reverse()) await leftover.close();
  scratch.remove();
});

/** A service on a new database of `dialect`, disposed with the file's leftovers. */
async function serviceOn(
  dialect: Dialect,
  name: string,
  serviceEngine: Engine | undefined,
): Promise<[TestService, TestDatabase]> {
  const database = await createDatabase(dialect, scratch.dir, name);
  leftovers.push({ close: () => database.dispose() });
  return [createTestServiceOn(await database.open(), serviceEngine), database];
}

const SENTIMENT_FIELDS = 'id label confidence scores { positive negative neutral } emoji display locale latencyMs createdAt';

const COUNT_SENTIMENTS = "select cast(count(*) as integer) as n from task_results where task = 'sentiment'";
const COUNT_MESSAGES = 'select cast(count(*) as integer) as n from messages';
const COUNT_CONVERSATIONS = 'select cast(count(*) as integer) as n from conversations';

/** Makes the database itself refuse to store a message with this (quote-free) content: a trigger, a CHECK. */
async function refuseMessage(repository: Repository, content: string): Promise<void> {
  if (repository instanceof SqliteRepository) {
    repository.database.sqlite.exec(
      `CREATE TRIGGER refuse_message BEFORE INSERT ON messages WHEN NEW.content = '${content}'
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
  } else if (repository instanceof PostgresRepository) {
    await repository.database.pool.query(
      `ALTER TABLE messages ADD CONSTRAINT refuse_message CHECK (content <> '${content}') NOT VALID`,
    );
  }
}

function codesOf(body: { errors?: { extensions?: { code?: string } }[] }): (string | undefined)[] {
  return (body.errors ?? []).map((error) => error.extensions?.code);
}

describe('schema', () => {
  it('matches the committed schema.graphql (run `npm run schema` after changing the API)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(printSortedSchema()).toBe(committed);
  });

  it('keeps the public contract names', () => {
    const sdl = printSortedSchema();
    for (const line of [
      'sentiment(locale: Locale, text: String!): Sentiment!',
      'sentiments(locale: Locale, texts: [String!]!): [Sentiment!]!',
      'chat(input: ChatInput!): ChatPayload!',
      'chatStream(input: ChatInput!): ChatStreamEvent!',
      'deleteConversation(id: ID!): Boolean!',
      'union ChatStreamEvent = ChatDone | ChatStarted | ChatTaskResults | ChatToken',
      'type ChatToken {\n  index: Int!\n  text: String!\n}',
    ]) {
      expect(sdl).toContain(line);
    }
  });
});

describe.each(testDialects())('on %s', (dialect) => {
  let service: TestService;
  let db: TestDatabase;

  beforeAll(async () => {
    [service, db] = await serviceOn(dialect, 'api', engine);
  });

  describe('sentiment queries', () => {
    it('classifies one text and stores it', async () => {
      const body = await service.graphql(`query ($text: String!) { sentiment(text: $text) { ${SENTIMENT_FIELDS} } }`, {
        text: '今天的实验终于成功了，太棒了！',
      });
      expect(body.errors).toBeUndefined();
      const sentiment = body.data!.sentiment;
      expect(['POSITIVE', 'NEGATIVE', 'NEUTRAL']).toContain(sentiment.label);
      const { positive, negative, neutral } = sentiment.scores;
      expect(positive + negative + neutral).toBeCloseTo(1, 6);
      expect(sentiment.display).toMatch(/^(😄|😡|😐) LLM 情感判断: (正面|负面|中性)$/);
      expect(sentiment.locale).toBe('ZH');
      expect(sentiment.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      const stored = await db.rows("select source, text from task_results where task = 'sentiment' and id = ?", sentiment.id);
      expect(stored).toEqual([{ source: 'query', text: '今天的实验终于成功了，太棒了！' }]);
    });

    it('classifies a batch in order with English display lines', async () => {
      const body = await service.graphql(`{ sentiments(texts: ["great", "awful", "fine"], locale: EN) { label display } }`);
      expect(body.errors).toBeUndefined();
      expect(body.data!.sentiments).toHaveLength(3);
      for (const sentiment of body.data!.sentiments)
        expect(sentiment.display).toMatch(/^.+ LLM sentiment: (positive|negative|neutral)$/);
    });

    it.each([
      ['empty text', '{ sentiment(text: "") { id } }'],
      ['whitespace-only text', '{ sentiment(text: "  \\n\\t ") { id } }'],
      ['a batch of 33', `{ sentiments(texts: [${Array.from({ length: 33 }, () => '"a"').join(',')}]) { id } }`],
      ['text over MAX_INPUT_CHARS', `{ sentiment(text: "${'x'.repeat(4001)}") { id } }`],
    ])('refuses %s with BAD_USER_INPUT', async (_, query) => {
      const body = await service.graphql(query);
      expect(codesOf(body)).toEqual(['BAD_USER_INPUT']);
    });

    it('refuses a text that fits MAX_INPUT_CHARS but not the context, with the message chat gives, and stores nothing', async () => {
      const before = await db.rows(COUNT_SENTIMENTS);
      const body = await service.graphql('query ($text: String!) { sentiment(text: $text, locale: EN) { id } }', {
        text: 'x '.repeat(2000),
      });
      expect(codesOf(body)).toEqual(['BAD_USER_INPUT']);
      expect(body.errors![0]!.message).toMatch(
        /^The text needs \d+ prompt tokens, more than the 2048-token context; shorten it\.$/,
      );
      expect(await db.rows(COUNT_SENTIMENTS)).toEqual(before);
    });
  });

  describe('U+0000', () => {
    it.each([
      ['sentiment', 'query ($t: String!) { sentiment(text: $t) { id } }', 'The text'],
      ['sentiments', 'query ($t: String!) { sentiments(texts: ["fine", $t]) { id } }', 'The text #2'],
      ['analyze', 'query ($t: String!) { analyze(text: $t) { locale } }', 'The text'],
      ['chat', 'mutation ($t: String!) { chat(input: { message: $t, maxTokens: 2 }) { reply { id } } }', 'The message'],
    ])('is refused in %s with BAD_USER_INPUT naming its position, and nothing is stored', async (_, query, what) => {
      const counts = async () => [
        await db.rows(COUNT_SENTIMENTS),
        await db.rows(COUNT_MESSAGES),
        await db.rows(COUNT_CONVERSATIONS),
      ];
      const before = await counts();
      const body = await service.graphql(query, { t: '😀b\u0000c' });
      expect(codesOf(body)).toEqual(['BAD_USER_INPUT']);
      expect(body.errors![0]!.message).toBe(
        `${what} contains U+0000 (NUL) at character 3, which cannot be stored; remove it.`,
      );
      expect(await counts()).toEqual(before);
    });
  });

  describe('chat and conversations', () => {
    it('runs a turn: classifies and stores the user message, then generates and stores the reply', async () => {
      const body = await service.graphql(
        `mutation ($input: ChatInput!) { chat(input: $input) {
          conversation { id title messages { id role content status sentiment { label display } } }
          userMessage { id role content sentiment { display } }
          reply { id role content status tokenCount latencyMs finishReason } } }`,
        { input: { message: 'I finally passed the exam!', locale: 'EN', maxTokens: 12, temperature: 0 } },
      );
      expect(body.errors).toBeUndefined();
      const { conversation, userMessage, reply } = body.data!.chat;
      expect(conversation.title).toBe('I finally passed the exam!');
      expect(userMessage.sentiment.display).toMatch(/LLM sentiment/);
      expect(reply.role).toBe('ASSISTANT');
      expect(reply.status).toBe('COMPLETE');
      expect(reply.tokenCount).toBeGreaterThan(0);
      expect(conversation.messages.map((message: { role: string }) => message.role)).toEqual(['USER', 'ASSISTANT']);
      expect(conversation.messages[1].content).toBe(reply.content);
      expect(conversation.messages[0].sentiment).not.toBeNull();
    });

    it('continues a conversation and lists conversations newest first, a page at a time', async () => {
      const first = await service.graphql(
        `mutation { chat(input: { message: "first", maxTokens: 4, temperature: 0 }) { conversation { id } } }`,
      );
      const conversationId = first.data!.chat.conversation.id;
      const follow = await service.graphql(
        `mutation ($id: ID!) { chat(input: { conversationId: $id, message: "second", maxTokens: 4, temperature: 0 }) { conversation { id messages { role content } } } }`,
        { id: conversationId },
      );
      expect(follow.errors).toBeUndefined();
      expect(
        follow
          .data!.chat.conversation.messages.map((message: { content: string }) => message.content)
          .filter((content: string) => ['first', 'second'].includes(content)),
      ).toEqual(['first', 'second']);
      const newer = await service.graphql(
        `mutation { chat(input: { message: "third", maxTokens: 4, temperature: 0 }) { conversation { id } } }`,
      );

      const page1 = await service.graphql(
        `{ conversations(first: 1) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
      );
      expect(page1.data!.conversations.edges[0].node.id).toBe(newer.data!.chat.conversation.id);
      expect(page1.data!.conversations.pageInfo.hasNextPage).toBe(true);
      const page2 = await service.graphql(
        `query ($after: String) { conversations(first: 1, after: $after) { edges { node { id } } } }`,
        {
          after: page1.data!.conversations.pageInfo.endCursor,
        },
      );
      expect(page2.data!.conversations.edges[0].node.id).toBe(conversationId);
    });

    it('deletes a conversation, then reports it NOT_FOUND', async () => {
      const created = await service.graphql(
        `mutation { chat(input: { message: "to delete", maxTokens: 2 }) { conversation { id } } }`,
      );
      const id = created.data!.chat.conversation.id;
      const deleted = await service.graphql(`mutation ($id: ID!) { deleteConversation(id: $id) }`, { id });
      expect(deleted.data!.deleteConversation).toBe(true);
      expect(
        (await service.graphql(`query ($id: ID!) { conversation(id: $id) { id } }`, { id })).data!.conversation,
      ).toBeNull();
      expect(codesOf(await service.graphql(`mutation ($id: ID!) { deleteConversation(id: $id) }`, { id }))).toEqual([
        'NOT_FOUND',
      ]);
      const continued = await service.graphql(
        `mutation ($id: ID!) { chat(input: { conversationId: $id, message: "hi" }) { reply { id } } }`,
        { id },
      );
      expect(codesOf(continued)).toEqual(['NOT_FOUND']);
    });

    it.each([
      ['a malformed conversation id', `{ conversation(id: "not-an-id") { id } }`],
      ['maxTokens 0', `mutation { chat(input: { message: "hi", maxTokens: 0 }) { reply { id } } }`],
      ['a huge maxTokens', `mutation { chat(input: { message: "hi", maxTokens: 100000000 }) { reply { id } } }`],
      ['a negative temperature', `mutation { chat(input: { message: "hi", temperature: -1 }) { reply { id } } }`],
      ['an empty message', `mutation { chat(input: { message: " " }) { reply { id } } }`],
      ['a page over 100', `{ conversations(first: 101) { edges { cursor } } }`],
      ['backward paging', `{ conversations(last: 2) { edges { cursor } } }`],
    ])('refuses %s with BAD_USER_INPUT and stores nothing', async (_, query) => {
      const before = [await db.rows(COUNT_MESSAGES), await db.rows(COUNT_CONVERSATIONS)];
      expect(codesOf(await service.graphql(query))).toEqual(['BAD_USER_INPUT']);
      expect([await db.rows(COUNT_MESSAGES), await db.rows(COUNT_CONVERSATIONS)]).toEqual(before);
    });

    it('leaves no empty conversation when a new chat fails to store its message, and logs the failure without the text', async () => {
      const database = await createDatabase(dialect, scratch.dir, 'refused');
      leftovers.push({ close: () => database.dispose() });
      const repository = await database.open();
      const text = 'a message the database refuses';
      await refuseMessage(repository, text);
      const lines: string[] = [];
      const failing = createTestServiceOn(repository, engine, { LOG_LEVEL: 'info' }, { write: (line) => void lines.push(line) });
      const body = await failing.graphql(
        'mutation ($message: String!) { chat(input: { message: $message, maxTokens: 2 }) { conversation { id } } }',
        { message: text },
      );
      expect(codesOf(body)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(await database.rows(COUNT_CONVERSATIONS)).toEqual([{ n: 0 }]);
      // The operator sees which statement failed and why (SQLSTATE, constraint; SQLite's code), never what it carried.
      const logged = lines.join('');
      expect(logged).toContain('unexpected error');
      expect(logged).not.toContain(text);
      expect(logged).toContain(dialect === 'postgres' ? '"constraint":"refuse_message"' : 'SQLITE_CONSTRAINT_TRIGGER');
    });
  });

  describe('sentimentStats', () => {
    it('totals equal what was stored, by source and in the series', async () => {
      const body = await service.graphql(`{
        all: sentimentStats { total positive negative neutral averageConfidence series { start total positive negative neutral } }
        chat: sentimentStats(filter: { source: CHAT }, bucket: HOUR) { total }
        query: sentimentStats(filter: { source: QUERY }) { total }
      }`);
      expect(body.errors).toBeUndefined();
      const rows = await db.rows<{ source: string; label: string; n: number; confidence: number }>(
        `select source, label, cast(count(*) as integer) as n, sum(confidence) as confidence from task_results
         where task = 'sentiment' group by source, label`,
      );
      const count = (filter: (row: (typeof rows)[number]) => boolean) =>
        rows.filter(filter).reduce((sum, row) => sum + row.n, 0);
      const { all, chat, query } = body.data!;
      expect(all.total).toBe(count(() => true));
      expect(all.total).toBeGreaterThan(5);
      expect(all.positive).toBe(count((row) => row.label === 'positive'));
      expect(all.negative).toBe(count((row) => row.label === 'negative'));
      expect(chat.total).toBe(count((row) => row.source === 'chat'));
      expect(query.total).toBe(count((row) => row.source === 'query'));
      const confidenceSum = rows.reduce((sum, row) => sum + row.confidence, 0);
      expect(all.averageConfidence).toBeCloseTo(confidenceSum / all.total, 9);
      expect(all.series.reduce((sum: number, bucket: { total: number }) => sum + bucket.total, 0)).toBe(all.total);
    });

    it('refuses dates outside years 1 to 9999 (UTC) in any filter with BAD_USER_INPUT naming the argument', async () => {
      const yearZero = await service.graphql(`{ sentimentStats(filter: { from: "0000-01-01T00:00:00Z" }) { total } }`);
      expect(codesOf(yearZero)).toEqual(['BAD_USER_INPUT']);
      expect(yearZero.errors![0]!.message).toMatch(/^`filter.from` must be between 0001-01-01T00:00:00.000Z and 9999/);
      // Year 1 in its own time zone, but year 0 in UTC.
      const shifted = await service.graphql(
        `{ taskStats(task: "intent", filter: { to: "0001-01-01T00:30:00+01:00" }) { total } }`,
      );
      expect(codesOf(shifted)).toEqual(['BAD_USER_INPUT']);
      expect(shifted.errors![0]!.message).toMatch(/^`filter.to` must be between/);
      // The widest range allowed counts everything, on both dialects.
      const widest = await service.graphql(`{
        all: sentimentStats { total }
        widest: sentimentStats(filter: { from: "0001-01-01T00:00:00Z", to: "9999-12-31T23:59:59.999Z" }) { total }
        tasks: taskStats(task: "sentiment", filter: { from: "0001-01-01T00:00:00Z", to: "9999-12-31T23:59:59.999Z" }) { total }
      }`);
      expect(widest.errors).toBeUndefined();
      expect(widest.data!.widest.total).toBe(widest.data!.all.total);
      expect(widest.data!.tasks.total).toBe(widest.data!.all.total);
    });

    it('refuses an inverted time range and a malformed conversation id', async () => {
      const inverted = await service.graphql(
        `{ sentimentStats(filter: { from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }) { total } }`,
      );
      expect(codesOf(inverted)).toEqual(['BAD_USER_INPUT']);
      expect(codesOf(await service.graphql(`{ sentimentStats(filter: { conversationId: "x" }) { total } }`))).toEqual([
        'BAD_USER_INPUT',
      ]);
    });
  });

  describe('engine status and unavailable or busy engine', () => {
    it('reports the engine', async () => {
      const body = await service.graphql(
        `{ engine { modelName modelSource synthetic ready queueDepth runningJobs contextSize threads tokensGenerated recentTokensPerSecond } }`,
      );
      expect(body.errors).toBeUndefined();
      expect(body.data!.engine).toMatchObject({
        synthetic: true,
        ready: true,
        queueDepth: 0,
        runningJobs: [],
        contextSize: 2048,
      });
      expect(body.data!.engine.tokensGenerated).toBeGreaterThan(0);
    });

    it('names the model file without the server folder it lives in', async () => {
      const body = await service.graphql('{ engine { modelSource modelFile } }');
      const file = path.basename(inject('tinyModelPath'));
      expect(body.data!.engine).toEqual({ modelSource: file, modelFile: file });
      expect(JSON.stringify(body)).not.toContain(path.dirname(inject('tinyModelPath')));
    });

    it('answers MODEL_UNAVAILABLE while the model is loading', async () => {
      const [loading] = await serviceOn(dialect, 'loading', undefined);
      const body = await loading.graphql(`{ sentiment(text: "hi") { id } }`);
      expect(codesOf(body)).toEqual(['MODEL_UNAVAILABLE']);
      const ready = await loading.app.yoga.fetch('http://yoga/graphql?query=%7Bengine%7Bready%7D%7D', {
        headers: { accept: 'application/json' },
      });
      expect(ready.status).toBe(200);
    });

    it('answers ENGINE_BUSY at once when the queue is full', async () => {
      const busyEngine = await loadTestEngine({ maxQueue: 0, taskSequences: 1 });
      leftovers.push({ close: () => busyEngine.dispose() });
      const [busy] = await serviceOn(dialect, 'busy', busyEngine);
      const long = busy.graphql(
        `{ sentiments(texts: [${Array.from({ length: 32 }, () => `"${'a long text to classify '.repeat(40)}"`).join(',')}], locale: EN) { id } }`,
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      const response = await busy.app.yoga.fetch('http://yoga/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ sentiment(text: "me too", locale: EN) { id } }' }),
      });
      const refused = (await response.json()) as GraphQLBody;
      expect(codesOf(refused)).toEqual(['ENGINE_BUSY']);
      // A hint when to come back: in the error for every transport, and as HTTP's own status and Retry-After.
      const extensions = refused.errors![0]!.extensions as { retryAfterMs?: number; http?: unknown };
      expect(extensions.retryAfterMs).toBeGreaterThanOrEqual(100);
      expect(extensions.http).toBeUndefined();
      expect(response.status).toBe(503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await long).errors).toBeUndefined();
    });

    it('answers TIMEOUT and stores the partial reply as FAILED', async () => {
      const slowEngine = await loadTestEngine({ jobTimeoutMs: 400, contextSize: 4096 });
      leftovers.push({ close: () => slowEngine.dispose() });
      const [slow, slowDb] = await serviceOn(dialect, 'slow', slowEngine);
      const body = await slow.graphql(
        `mutation { chat(input: { message: "tell me everything", maxTokens: 3000, temperature: 0 }) { reply { id } } }`,
      );
      expect(codesOf(body)).toEqual(['TIMEOUT']);
      const replies = await slowDb.rows(`select status, length(content) as chars from messages where role = 'assistant'`);
      expect(replies).toEqual([{ status: 'failed', chars: expect.any(Number) }]);
    });

    it('masks unexpected errors', async () => {
      const [broken] = await serviceOn(dialect, 'broken', engine);
      await broken.repository.close();
      const body = await broken.graphql(`{ conversations { edges { cursor } } }`);
      expect(body.errors?.[0]?.message).toBe('Unexpected error.');
      expect(JSON.stringify(body)).not.toMatch(/database|sqlite|postgres|pool/i);
    });
  });
});
