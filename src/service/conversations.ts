// Conversations and their messages: read, page through and delete them, each scoped to its owner.
import { MAX_PAGE_SIZE, type ConversationPage, type Repository } from '../db/index.js';
import { AbortedError, BadInputError } from '../engine/index.js';
import { NotFoundError } from './errors.js';
import { assertId } from './ids.js';
import { toMessageView, type ConversationView, type MessageView } from './views.js';

export interface ConversationsServiceOptions {
  repository: Repository;
  /** Told of each conversation deleted, with the reason to stop the chat turn inside it (the chat service's). */
  onDeleted?: (conversationId: string, reason: AbortedError) => void;
}

export interface PageArguments {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface ConversationsService {
  get(id: string, owner: string | null): Promise<ConversationView | null>;
  /** Newest first; refuses a page larger than the repository would return (MAX_PAGE_SIZE). */
  list(owner: string | null, page: PageArguments): Promise<ConversationPage>;
  /** Messages of a conversation the caller already holds (so ownership was checked), oldest first. */
  messages(conversationId: string): Promise<MessageView[]>;
  /** Deletes it and stops the turn in progress there; NOT_FOUND unless it was the owner's. */
  delete(id: string, owner: string | null): Promise<boolean>;
}

export function createConversationsService(options: ConversationsServiceOptions): ConversationsService {
  const { repository, onDeleted } = options;
  return {
    get: async (id, owner) => {
      assertId(id, 'id');
      return repository.getConversation(id, owner);
    },

    list: async (owner, page) => {
      const { first, after } = page;
      if (page.last != null || page.before != null) {
        throw new BadInputError({ message: 'Conversations page forward only: use first and after (newest first).' });
      }
      if (first != null && (first < 0 || first > MAX_PAGE_SIZE)) {
        throw new BadInputError({ message: `first must be between 0 and ${MAX_PAGE_SIZE}; got ${first}.` });
      }
      if (after != null) assertId(after, 'after cursor');
      return repository.listConversations({ owner, ...(first == null ? {} : { first }), after: after ?? null });
    },

    messages: async (conversationId) => {
      const messages = await repository.listMessages(conversationId);
      const userMessageIds = messages.filter((message) => message.role === 'user').map((message) => message.id);
      const taskResults = await repository.listTaskResultsOfMessages(userMessageIds);
      return messages.map((message) => toMessageView(message, taskResults.get(message.id) ?? []));
    },

    delete: async (id, owner) => {
      assertId(id, 'id');
      if (!(await repository.deleteConversation(id, owner))) {
        throw new NotFoundError({ message: `Conversation ${id} does not exist.` });
      }
      onDeleted?.(id, new AbortedError({ message: `Conversation ${id} was deleted.` }));
      return true;
    },
  };
}
