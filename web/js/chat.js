// The chat view: conversations (newest first), the open conversation, and the composer with Send and Stop.
import { startTurn } from './chatTurn.js';
import { byId, h } from './dom.js';
import { ApiError } from './errors.js';
import { apiLocale, formatDateTime, localize } from './i18n.js';
import { errorNotice, storedMessage, welcome } from './messageViews.js';
import { settings } from './settings.js';
import { TASK_RESULT_FIELDS } from './taskChips.js';

const PAGE_SIZE = 30;

const CONVERSATIONS = `query Conversations($first: Int, $after: String) {
  conversations(first: $first, after: $after) {
    edges { node { id title updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CONVERSATION = `query Conversation($id: ID!) {
  conversation(id: $id) {
    id
    messages {
      id role content status finishReason tokenCount latencyMs
      sentiment { label confidence emoji display }
      taskResults { ...TaskResultFields }
    }
  }
}
${TASK_RESULT_FIELDS}`;

export function createChatView({ api, onEnterKey }) {
  const list = byId('conversation-list');
  const loadMore = byId('load-more');
  const messages = byId('messages');
  const form = byId('composer');
  const input = byId('message-input');
  const sendButton = byId('send');
  const stopButton = byId('stop');
  const sidebar = byId('sidebar');
  const drawerToggle = byId('drawer-toggle');

  let conversations = [];
  let endCursor = null;
  let selectedId = null;
  let turn = null;
  /** Bumped whenever another conversation is opened, so late answers for the old one are dropped. */
  let view = 0;

  async function loadConversations({ more = false } = {}) {
    try {
      const data = await api.request(CONVERSATIONS, { first: PAGE_SIZE, after: more ? endCursor : null });
      const page = data.conversations;
      const nodes = page.edges.map((edge) => edge.node);
      conversations = more ? [...conversations, ...nodes] : nodes;
      endCursor = page.pageInfo.endCursor;
      loadMore.hidden = !page.pageInfo.hasNextPage;
    } catch {
      // The list stays as it was; the chat area reports problems where the user acts.
    }
    renderList();
  }

  function renderList() {
    if (conversations.length === 0) {
      list.replaceChildren(localize(h('li', { class: 'conversation-list__empty' }), 'chat.emptyList'));
      return;
    }
    list.replaceChildren(
      ...conversations.map((conversation) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              class: 'conversation-link',
              href: `#/chat/${encodeURIComponent(conversation.id)}`,
              'aria-current': conversation.id === selectedId ? 'page' : null,
              dataset: { conversationId: conversation.id },
            },
            conversation.title
              ? h('span', { class: 'conversation-link__title', text: conversation.title })
              : localize(h('span', { class: 'conversation-link__title' }), 'chat.untitled'),
            h('time', { datetime: conversation.updatedAt, text: formatDateTime(conversation.updatedAt) }),
          ),
        ),
      ),
    );
  }

  function upsertConversation(conversation) {
    conversations = [conversation, ...conversations.filter((other) => other.id !== conversation.id)];
    renderList();
  }

  async function open(id) {
    closeDrawer();
    const current = ++view;
    selectedId = id;
    renderList();
    if (id === null) {
      messages.replaceChildren(welcome());
      return;
    }
    messages.replaceChildren(localize(h('p', { class: 'messages__loading' }), 'chat.loading'));
    try {
      const { conversation } = await api.request(CONVERSATION, { id });
      if (current !== view) return;
      if (!conversation) throw new ApiError({ code: 'NOT_FOUND' });
      messages.replaceChildren(...conversation.messages.map(storedMessage));
      messages.scrollTop = messages.scrollHeight;
    } catch (error) {
      if (current !== view) return;
      messages.replaceChildren(errorNotice(error, { onRetry: () => open(id), onEnterKey }));
    }
  }

  /** Starts a turn; false when one is already running or there is nothing to send. */
  function send(text) {
    if (turn || text.trim() === '') return false;
    if (selectedId === null) messages.querySelector('.welcome')?.remove();
    const turnView = view;
    const maxTokens = settings.maxTokens;
    turn = startTurn({
      api,
      container: messages,
      input: {
        message: text,
        locale: apiLocale(),
        ...(selectedId ? { conversationId: selectedId } : {}),
        ...(maxTokens ? { maxTokens } : {}),
      },
      onEnterKey,
      // Stopped before it was stored: the text goes back into an empty box, to send again or edit.
      onNotSent: (message) => {
        if (input.value === '') input.value = message;
      },
      onStarted: (conversation) => {
        if (turnView !== view) return;
        if (selectedId !== conversation.id) {
          selectedId = conversation.id;
          // replaceState, not location.hash: a hashchange would reload the conversation under the live reply.
          history.replaceState(null, '', `#/chat/${encodeURIComponent(conversation.id)}`);
        }
        upsertConversation(conversation);
      },
      onSettled: () => {
        turn = null;
        setBusy(false);
        void loadConversations();
      },
      onRetry: (message) => send(message),
    });
    setBusy(true);
    return true;
  }

  function setBusy(busy) {
    sendButton.disabled = busy;
    stopButton.hidden = !busy;
    form.dataset.busy = String(busy);
  }

  function closeDrawer() {
    sidebar.classList.remove('sidebar--open');
    drawerToggle.setAttribute('aria-expanded', 'false');
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (turn) return;
    const text = input.value;
    if (text.trim() === '') return;
    input.value = '';
    send(text);
  });
  input.addEventListener('keydown', (event) => {
    // Enter sends, Shift+Enter is a new line; Enter that confirms an IME composition (Chinese input) is neither.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    form.requestSubmit();
  });
  stopButton.addEventListener('click', () => turn?.stop());
  // Also for the conversation already open, whose link changes no hash.
  list.addEventListener('click', (event) => {
    if (event.target.closest('.conversation-link')) closeDrawer();
  });
  loadMore.addEventListener('click', () => void loadConversations({ more: true }));
  byId('new-chat').addEventListener('click', () => {
    location.hash = '#/chat';
    input.focus();
  });
  drawerToggle.addEventListener('click', () => {
    const open = sidebar.classList.toggle('sidebar--open');
    drawerToggle.setAttribute('aria-expanded', String(open));
  });

  return {
    /** Shows conversation `id` (null: a new chat), unless it is already on screen. */
    show(id) {
      if (id !== selectedId || view === 0) void open(id);
    },
    refresh: () => loadConversations(),
    /** Dates in the list follow the page language. */
    relocalize: renderList,
  };
}
