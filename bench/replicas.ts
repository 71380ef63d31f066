// Benchmark 10: scale-out on one machine. The same chat load through nginx (deploy/nginx.conf) to one replica with
// every core, and to two replicas with half the cores each, all on one PostgreSQL.
import { randomBytes } from 'node:crypto';
import { benchModelPath, isMainModule, runStandalone, sized, type Benchmark } from './lib/benchmark.js';
import { postGraphQL } from './lib/clients.js';
import { figure } from './lib/results.js';
import { startServiceProcess, type ServiceProcess } from './lib/serviceProcess.js';
import { summarize } from './lib/stats.js';
import { findNginx, startNginx, type NginxServer } from '../test/support/nginxServer.js';
import { createTestDatabase, findPostgresBin, startPostgres } from '../test/support/postgresServer.js';

const CHAT = `mutation ($input: ChatInput!) { chat(input: $input) { conversation { id } reply { tokenCount } } }`;
const TOKENS_GENERATED = /^allinone_engine_tokens_generated_total(?:\{[^}]*\})? (\d+)/m;

interface Setup {
  label: string;
  replicas: ServiceProcess[];
  /** nginx, or the replicas themselves when nginx is not installed (clients then pick a replica by key). */
  entry: NginxServer | undefined;
}

interface Measured {
  turnsPerSecond: number;
  tokensPerSecond: number;
  /** Reply tokens each replica generated in the run, from its own /metrics. */
  perReplica: number[];
}

export const replicas: Benchmark = {
  id: 'replicas',
  title: '10. Scale-out: replicas behind nginx',
  unavailable: () => (findPostgresBin() ? undefined : 'it needs PostgreSQL (apt-get install postgresql)'),
  async run(options) {
    const bin = findPostgresBin();
    if (!bin) throw new Error('replicas: it needs PostgreSQL (apt-get install postgresql)');
    const nginxBin = findNginx();
    const clients = sized(options, 8, 4);
    const seconds = sized(options, 30, 2);
    const replyTokens = sized(options, 32, 4);
    const modelPath = await benchModelPath(options);
    const keys = Array.from({ length: clients }, () => randomBytes(16).toString('hex'));
    const server = await startPostgres(bin);
    const setups: Setup[] = [];
    try {
      const start = async (label: string, count: number, threads: number): Promise<Setup> => {
        const database = await createTestDatabase(server.url, `bench_${count}`);
        const started = await Promise.all(
          Array.from({ length: count }, (_, index) =>
            startServiceProcess({
              MODEL: modelPath,
              MODELS_DIR: options.modelsDir,
              THREADS: String(threads),
              DATABASE_URL: database.url,
              REPLICA_NAME: `bench-${count}-${index + 1}`,
              API_KEYS: keys.join(','),
            }),
          ),
        );
        const entry = nginxBin
          ? await startNginx(
              nginxBin,
              started.map((replica) => new URL(replica.url).host),
            )
          : undefined;
        const setup = { label, replicas: started, entry };
        setups.push(setup);
        return setup;
      };
      const threads = options.threads;
      const half = Math.max(1, Math.floor(threads / 2));
      const one = await start(`1 replica, ${threads} threads`, 1, threads);
      const two = await start(`2 replicas, ${half} thread${half > 1 ? 's' : ''} each`, 2, half);

      const runs: Record<'one' | 'two', Measured[]> = { one: [], two: [] };
      // Alternating, so both see the same moments of a noisy machine.
      for (let run = 0; run < options.runs; run += 1) {
        runs.one.push(await measure(one, keys, seconds, replyTokens));
        runs.two.push(await measure(two, keys, seconds, replyTokens));
        options.log(`replicas: run ${run + 1}/${options.runs} done`);
      }
      const turns = (setup: Measured[]) => summarize(setup.map((run) => run.turnsPerSecond));
      const tokens = (setup: Measured[]) => summarize(setup.map((run) => run.tokensPerSecond));
      const split = runs.two.at(-1)!.perReplica;
      return {
        settings: {
          clients,
          'seconds per run': seconds,
          'reply tokens': replyTokens,
          'load balancer': nginxBin
            ? 'nginx, deploy/nginx.conf (hash by API key)'
            : 'none (nginx missing): clients pick a replica by key',
          database: 'one PostgreSQL on loopback',
        },
        figures: [
          figure({
            id: 'tokens-2-vs-1',
            label: `Reply tokens/s, ${clients} clients chatting over HTTP, ${two.label}`,
            unit: 'tok/s',
            value: tokens(runs.two),
            baseline: { label: one.label, value: tokens(runs.one) },
          }),
          figure({
            id: 'turns-2-vs-1',
            label: `Chat turns/s, ${clients} clients, ${two.label}`,
            unit: 'turns/s',
            value: turns(runs.two),
            baseline: { label: one.label, value: turns(runs.one) },
          }),
        ],
        tables: [
          {
            title: 'Where the tokens went (last run of 2 replicas)',
            columns: ['Replica', 'Reply tokens'],
            rows: split.map((count, index) => [`bench-2-${index + 1}`, count]),
          },
        ],
        notes: [
          'Both set-ups run on the same 2 cores, so two replicas cannot add compute: each decode already reads every ' +
            'weight once for all the sequences in its batch, and splitting the clients over two processes halves each ' +
            'batch while each process gets half the threads. Scaling out pays on N machines: each replica brings its own ' +
            'cores and memory bandwidth, while PostgreSQL carries only the writes (a few per turn; see Analytics for the ' +
            'insert rates per replica).',
          'Clients hash to replicas by API key (consistent hashing), so the split depends on the keys: the table shows it.',
        ],
      };
    } finally {
      for (const setup of setups) {
        await setup.entry?.stop();
        await Promise.all(setup.replicas.map((replica) => replica.stop()));
      }
      await server.stop();
    }
  },
};

async function measure(setup: Setup, keys: string[], seconds: number, replyTokens: number): Promise<Measured> {
  const metricsOf = (replica: ServiceProcess) => tokensGenerated(replica, keys[0]!);
  const before = await Promise.all(setup.replicas.map(metricsOf));
  const startedAt = performance.now();
  const deadline = startedAt + seconds * 1000;
  let turns = 0;
  let tokens = 0;
  await Promise.all(
    keys.map(async (key, index) => {
      const url = setup.entry?.url ?? setup.replicas[index % setup.replicas.length]!.url;
      let conversationId: string | undefined;
      while (performance.now() < deadline) {
        const input = {
          message: `Tell me something new, turn ${turns}`,
          locale: 'EN',
          maxTokens: replyTokens,
          conversationId,
        };
        const { data } = await postGraphQL<{ chat: { conversation: { id: string }; reply: { tokenCount: number } } }>(
          url,
          CHAT,
          { input },
          key,
        );
        conversationId = data.chat.conversation.id;
        turns += 1;
        tokens += data.chat.reply.tokenCount;
      }
    }),
  );
  const elapsed = (performance.now() - startedAt) / 1000;
  const after = await Promise.all(setup.replicas.map(metricsOf));
  return {
    turnsPerSecond: turns / elapsed,
    tokensPerSecond: tokens / elapsed,
    perReplica: after.map((count, index) => count - before[index]!),
  };
}

async function tokensGenerated(replica: ServiceProcess, key: string): Promise<number> {
  // With API_KEYS set, /metrics wants a key too (METRICS_AUTH).
  const text = await (await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  return Number(TOKENS_GENERATED.exec(text)?.[1] ?? Number.NaN);
}

if (isMainModule(import.meta.url)) await runStandalone(replicas);
