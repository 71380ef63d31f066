// Chatting: the `chat` mutation and the `chatStream` subscription, which run the same turn.
import { Repeater } from 'graphql-yoga';
import type { ChatTurnEvent, ChatTurnInput } from '../service/chatTurn.js';
import type { Services } from '../service/createServices.js';
import type { ConversationView, MessageView } from '../service/views.js';
import { builder } from './builder.js';
import { Conversation, Message } from './conversation.js';
import { FinishReasonEnum, LocaleEnum } from './enums.js';
import { TaskResult } from './analysis.js';

type FinishReason = 'stop' | 'length' | 'aborted';
type ChatStreamEventShape = ChatTurnEvent | { type: 'done'; reply: MessageView; finishReason: FinishReason };

const ChatInput = builder.inputType('ChatInput', {
  fields: (t) => ({
    conversationId: t.id({ description: 'Continue this conversation; omit to start a new one.' }),
    message: t.string({ required: true }),
    locale: t.field({ type: LocaleEnum, description: 'Prompt and display language; default: detected from the message.' }),
    maxTokens: t.int({
      description:
        'Most tokens in the reply: 1 to min(4096, context size − 1); default min(512, half the context). The new message ' +
        'plus maxTokens must fit the context (older turns are dropped to make room), else BAD_USER_INPUT.',
    }),
    temperature: t.float({ description: '0 to 2; 0 is greedy and deterministic. Default 0.7.' }),
    seed: t.int({ description: 'Sampling seed: the same seed and history give the same reply.' }),
  }),
});

const ChatPayload = builder
  .objectRef<{ conversation: ConversationView; userMessage: MessageView; reply: MessageView }>('ChatPayload')
  .implement({
    fields: (t) => ({
      conversation: t.expose('conversation', { type: Conversation }),
      userMessage: t.expose('userMessage', { type: Message }),
      reply: t.expose('reply', { type: Message }),
    }),
  });

const ChatStarted = builder.objectRef<Extract<ChatStreamEventShape, { type: 'started' }>>('ChatStarted').implement({
  description:
    "First event: the user message is stored, with the results of CHAT_TASKS' classify tasks (its sentiment by default).",
  fields: (t) => ({
    conversation: t.expose('conversation', { type: Conversation }),
    userMessage: t.expose('userMessage', { type: Message }),
  }),
});

const ChatToken = builder.objectRef<Extract<ChatStreamEventShape, { type: 'token' }>>('ChatToken').implement({
  description: 'A text delta of the reply; deltas arrive in order and never split a character.',
  fields: (t) => ({
    index: t.exposeInt('index'),
    text: t.exposeString('text'),
  }),
});

const ChatTaskResults = builder
  .objectRef<Extract<ChatStreamEventShape, { type: 'taskResults' }>>('ChatTaskResults')
  .implement({
    description:
      "An extraction of CHAT_TASKS on the user message, stored with it: extractions steer nothing, so they run beside " +
      'the reply; each arrives when it ends (before, between or after the tokens), always before ChatDone.',
    fields: (t) => ({
      messageId: t.exposeID('messageId', { description: 'The user message (ChatStarted.userMessage.id).' }),
      taskResults: t.field({ type: [TaskResult], resolve: (event) => event.taskResults }),
    }),
  });

const ChatDone = builder.objectRef<Extract<ChatStreamEventShape, { type: 'done' }>>('ChatDone').implement({
  description: 'Last event: the reply as stored.',
  fields: (t) => ({
    reply: t.expose('reply', { type: Message }),
    finishReason: t.expose('finishReason', { type: FinishReasonEnum }),
  }),
});

const ChatStreamEvent = builder.unionType('ChatStreamEvent', {
  types: [ChatStarted, ChatToken, ChatTaskResults, ChatDone],
  resolveType: (event) =>
    ({ started: 'ChatStarted', token: 'ChatToken', taskResults: 'ChatTaskResults', done: 'ChatDone' })[event.type],
});

builder.mutationField('chat', (t) =>
  t.field({
    type: ChatPayload,
    description:
      "One chat turn without streaming: classify, store the message, generate and store the reply; CHAT_TASKS' " +
      'extractions run beside the reply, and userMessage.taskResults holds them.',
    args: { input: t.arg({ type: ChatInput, required: true }) },
    resolve: (_, { input }, { services, owner, operation }) => services.chat.turn(toTurnInput(input), { owner }, operation),
  }),
);

builder.subscriptionField('chatStream', (t) =>
  t.field({
    type: ChatStreamEvent,
    description:
      'One chat turn, streamed: ChatStarted, then ChatToken deltas, with a ChatTaskResults per extraction of CHAT_TASKS ' +
      'wherever it ends, then ChatDone. Unsubscribing stops the reply and any extraction still running.',
    args: { input: t.arg({ type: ChatInput, required: true }) },
    subscribe: (_, { input }, { services, owner, operation }) =>
      streamChatTurn(services, toTurnInput(input), owner, operation.key),
    resolve: (event) => event,
  }),
);

/** Bridges the turn's callbacks to an async iterator; when the client stops listening, generation stops. */
function streamChatTurn(
  services: Services,
  input: ChatTurnInput,
  owner: string | null,
  key: string,
): AsyncIterable<ChatStreamEventShape> {
  return new Repeater<ChatStreamEventShape>(async (push, stop) => {
    const controller = new AbortController();
    void stop.then(() => controller.abort());
    try {
      const outcome = await services.chat.turn(input, {
        owner,
        key,
        signal: controller.signal,
        onEvent: (event) => void push(event),
      });
      await push({ type: 'done', reply: outcome.reply, finishReason: outcome.finishReason });
      stop();
    } catch (error) {
      stop(error);
    }
  });
}

function toTurnInput(input: {
  conversationId?: string | number | null;
  message: string;
  locale?: 'zh' | 'en' | null;
  maxTokens?: number | null;
  temperature?: number | null;
  seed?: number | null;
}): ChatTurnInput {
  return { ...input, conversationId: input.conversationId == null ? null : String(input.conversationId) };
}
