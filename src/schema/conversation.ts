// Conversations and messages: the types, the `conversation(s)` queries and `deleteConversation`.
import type { ConversationView, MessageView } from '../service/views.js';
import { builder } from './builder.js';
import { FinishReasonEnum, MessageRoleEnum, MessageStatusEnum } from './enums.js';
import { Sentiment } from './sentiment.js';
import { TaskResult } from './analysis.js';

export const Message = builder.objectRef<MessageView>('Message').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    role: t.expose('role', { type: MessageRoleEnum }),
    content: t.exposeString('content'),
    status: t.expose('status', { type: MessageStatusEnum }),
    finishReason: t.expose('finishReason', { type: FinishReasonEnum, nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    sentiment: t.expose('sentiment', { type: Sentiment, nullable: true, description: 'Set on USER messages.' }),
    taskResults: t.field({
      type: [TaskResult],
      description: "USER messages: what the chat's tasks (CHAT_TASKS) found, sentiment included, in the order they ran.",
      resolve: (message) => message.taskResults,
    }),
    tokenCount: t.exposeInt('tokenCount', { nullable: true, description: 'Generated tokens (ASSISTANT messages).' }),
    latencyMs: t.exposeFloat('latencyMs', { nullable: true, description: 'Generation time (ASSISTANT messages).' }),
  }),
});

export const Conversation = builder.objectRef<ConversationView>('Conversation').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    messages: t.field({
      type: [Message],
      description: 'Oldest first.',
      resolve: (conversation, _, { services }) => services.conversations.messages(conversation.id),
    }),
  }),
});

builder.queryFields((t) => ({
  conversation: t.field({
    type: Conversation,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { services, owner }) => services.conversations.get(String(id), owner),
  }),
  conversations: t.connection(
    {
      type: Conversation,
      description: 'Newest first. Pass `endCursor` as `after` for the next page (at most 100 a page).',
      resolve: async (_, { first, after, last, before }, { services, owner }) => {
        const page = await services.conversations.list(owner, { first, after, last, before });
        return {
          edges: page.items.map((node) => ({ cursor: node.id, node })),
          pageInfo: {
            hasNextPage: page.hasNextPage,
            hasPreviousPage: after != null,
            startCursor: page.items[0]?.id ?? null,
            endCursor: page.endCursor,
          },
        };
      },
    },
    { name: 'ConversationConnection' },
    { name: 'ConversationEdge' },
  ),
}));

builder.mutationField('deleteConversation', (t) =>
  t.boolean({
    description: 'Deletes a conversation and its messages; its sentiment records stay in the statistics.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, { services, owner }) => services.conversations.delete(String(id), owner),
  }),
);
