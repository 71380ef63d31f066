// `chat`: an interactive terminal chat through the same service as the API, so every turn is stored like the server's.
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { openOptionsOf, type AppConfig } from '../config.js';
import { openRepository } from '../db/index.js';
import { Engine, type Locale } from '../engine/index.js';
import { engineOptionsOf } from '../engineOptions.js';
import { detectLocale } from '../engine/detectLocale.js';
import { EngineHolder } from '../service/EngineHolder.js';
import { createChatService, type ChatService } from '../service/chat.js';
import { addDatabaseOption, addModelOptions, localeOption, positiveInteger, withFlags, type ModelFlags } from './options.js';

interface ChatFlags extends ModelFlags {
  db: string;
  locale?: Locale;
  conversation?: string;
  maxTokens?: number;
  temperature?: number;
}

const PROMPT = 'you › ';
const REPLY_LEAD = 'assistant › ';

export function chatCommand(config: AppConfig): Command {
  const command = new Command('chat')
    .description('Chat in the terminal: each turn prints the sentiment line, then streams the reply (all stored)')
    .addOption(localeOption('prompt and display language (default: per message, zh for Chinese script, else en)'))
    .option('--conversation <id>', 'continue a stored conversation (made without an API key)')
    .option('--max-tokens <n>', 'longest reply in tokens (default 512)', positiveInteger)
    .option('--temperature <t>', 'sampling temperature, 0 to 2; 0 is greedy (default 0.7)', parseTemperature);
  addModelOptions(command, config);
  addDatabaseOption(command, config);
  return command.action(async (flags: ChatFlags) => {
    const settings = withFlags(config, flags);
    const database = await openRepository(openOptionsOf(settings.database));
    const holder = new EngineHolder();
    try {
      holder.set(
        await Engine.load({
          ...engineOptionsOf(settings),
          onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
        }),
      );
      const chat = createChatService({ repository: database, engine: holder, chatTasks: settings.service.chatTasks });
      await converse(chat, flags, database.location);
    } finally {
      await holder.close()?.dispose();
      await database.close();
    }
  });
}

/** Reads messages line by line until end of input (Ctrl-D) or Ctrl-C at the prompt; Ctrl-C during a reply stops it. */
async function converse(chat: ChatService, flags: ChatFlags, databasePath: string): Promise<void> {
  const interactive = process.stdin.isTTY === true;
  const lines = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
  let turn: AbortController | undefined;
  const interrupt = (): void => {
    if (turn) turn.abort();
    else lines.close();
  };
  // A terminal's Ctrl-C reaches readline; a piped one reaches the process.
  lines.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  if (interactive) {
    process.stderr.write('Ctrl-C stops a reply; Ctrl-D (or Ctrl-C at the prompt) ends the chat.\n');
  }
  lines.setPrompt(PROMPT);
  let conversationId = flags.conversation ?? null;
  try {
    if (interactive) lines.prompt();
    for await (const line of lines) {
      const message = line.trim();
      if (message !== '') {
        turn = new AbortController();
        conversationId = (await chatTurn(chat, flags, message, conversationId, turn.signal)) ?? conversationId;
        turn = undefined;
      }
      if (interactive) lines.prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    lines.close();
  }
  if (conversationId) process.stderr.write(`Conversation ${conversationId} is stored in ${databasePath}\n`);
}

/** One turn; returns the conversation's id, or null when the turn stopped before its message was stored. */
async function chatTurn(
  chat: ChatService,
  flags: ChatFlags,
  message: string,
  conversationId: string | null,
  signal: AbortSignal,
): Promise<string | null> {
  let storedIn: string | null = null;
  try {
    const outcome = await chat.turn(
      {
        conversationId,
        message,
        locale: flags.locale ?? detectLocale(message),
        maxTokens: flags.maxTokens ?? null,
        temperature: flags.temperature ?? null,
      },
      {
        owner: null,
        signal,
        onEvent: (event) => {
          if (event.type === 'started') {
            process.stdout.write(`${event.userMessage.sentiment?.display ?? ''}\n${REPLY_LEAD}`);
            storedIn = event.conversation.id;
          } else if (event.type === 'token') {
            process.stdout.write(event.text);
          }
        },
      },
    );
    process.stdout.write(outcome.finishReason === 'aborted' ? ' [stopped]\n' : '\n');
    return outcome.conversation.id;
  } catch (error) {
    if (storedIn) process.stdout.write('\n');
    if (signal.aborted) process.stdout.write('[stopped]\n');
    else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return storedIn;
  }
}

function parseTemperature(value: string): number {
  const temperature = Number(value);
  if (value.trim() === '' || !Number.isFinite(temperature) || temperature < 0 || temperature > 2) {
    throw new InvalidArgumentError('expected a number from 0 to 2');
  }
  return temperature;
}
