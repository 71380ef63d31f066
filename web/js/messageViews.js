// The chat's building blocks: user messages with their sentiment badge and task chips, assistant replies in each state, errors.
import { h } from './dom.js';
import { formatPercent, localize } from './i18n.js';
import { taskChips } from './taskChips.js';

/** A user message, with a pending badge until `showAnalysis` fills it in. */
export function userMessage(content) {
  return h(
    'article',
    { class: 'message message--user', dataset: { role: 'user-message', state: 'pending' } },
    h('p', { class: 'message__text', text: content }),
    h(
      'span',
      { class: 'badge badge--pending', dataset: { testid: 'sentiment-badge' } },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      localize(h('span'), 'sentiment.pending'),
    ),
    h('div', { class: 'task-chips', hidden: true, dataset: { testid: 'task-chips' } }),
  );
}

/**
 * Shows what the chat's tasks found (a Message's `sentiment` and `taskResults`): the sentiment badge, and a chip
 * for each other result. Without sentiment among the server's CHAT_TASKS, there is no badge.
 */
export function showAnalysis(messageElement, { sentiment, taskResults = [] }) {
  const badge = messageElement.querySelector('[data-testid="sentiment-badge"]');
  if (sentiment) showSentiment(badge, sentiment);
  else badge.remove();
  const chips = taskChips(taskResults);
  const container = messageElement.querySelector('[data-testid="task-chips"]');
  container.replaceChildren(...chips);
  container.hidden = chips.length === 0;
  messageElement.dataset.state = 'classified';
}

/** Adds chips for results that arrived after the message was shown (CHAT_TASKS' extractions, as each ends). */
export function addTaskResults(messageElement, taskResults) {
  const chips = taskChips(taskResults);
  if (chips.length === 0) return;
  const container = messageElement.querySelector('[data-testid="task-chips"]');
  container.append(...chips);
  container.hidden = false;
}

/** A message stopped before the server stored it: shown dimmed, with a note saying nothing was stored. */
export function markNotSent(messageElement) {
  messageElement.dataset.state = 'unsent';
  messageElement.append(localize(h('p', { class: 'message__note', dataset: { testid: 'not-sent' } }), 'message.notSent'));
}

/** Fills the badge: emoji, the label in the page language, and how sure the model is. */
function showSentiment(badge, sentiment) {
  const label = sentiment.label.toLowerCase();
  badge.className = `badge badge--${label}`;
  badge.dataset.label = label;
  badge.dataset.confidence = String(sentiment.confidence);
  badge.title = sentiment.display;
  badge.replaceChildren(
    h('span', { class: 'badge__emoji', 'aria-hidden': 'true', text: sentiment.emoji }),
    localize(h('span', { class: 'badge__prefix' }), 'sentiment.prefix'),
    h('span', { class: 'badge__separator', text: ': ' }),
    localize(h('strong', { class: 'badge__label' }), `label.${label}`),
    localize(h('span', { class: 'badge__confidence' }), 'sentiment.confidence', {
      value: formatPercent(sentiment.confidence),
    }),
  );
}

const STATE_NOTES = { stopped: 'reply.stopped', failed: 'reply.failed' };

/**
 * An assistant reply. States: `waiting` (no token yet), `streaming`, `complete`, `stopped` (the user stopped it,
 * or it was stored as ABORTED), `failed`. `data-tokens` counts the text deltas received while streaming.
 */
export function assistantReply({ content = '', state = 'waiting' } = {}) {
  const element = h(
    'article',
    { class: 'message message--assistant', dataset: { role: 'reply', state, tokens: '0' } },
    localize(h('span', { class: 'visually-hidden' }), 'reply.replying'),
    h('p', { class: 'message__text', text: content }),
    h('p', { class: 'message__note', hidden: true }),
    h('p', { class: 'message__meta', hidden: true }),
  );
  setReplyState(element, state);
  return element;
}

/** Adds `deltas` text deltas, joined into `text`, to a streaming reply. */
export function appendTokens(replyElement, text, deltas) {
  replyElement.querySelector('.message__text').append(text);
  replyElement.dataset.tokens = String(Number(replyElement.dataset.tokens) + deltas);
  if (replyElement.dataset.state === 'waiting') replyElement.dataset.state = 'streaming';
}

/** Settles a reply; `stored` (a Message from the API) adds its token count, time and finish reason. */
export function setReplyState(replyElement, state, stored = null) {
  replyElement.dataset.state = state;
  replyElement.querySelector('.visually-hidden').hidden = state !== 'waiting' && state !== 'streaming';
  const note = replyElement.querySelector('.message__note');
  const noteKey = STATE_NOTES[state] ?? (stored?.finishReason === 'LENGTH' ? 'reply.length' : null);
  note.hidden = noteKey === null;
  if (noteKey) localize(note, noteKey);
  const meta = replyElement.querySelector('.message__meta');
  meta.hidden = !stored || stored.tokenCount == null;
  if (!meta.hidden) {
    const seconds = stored.latencyMs == null ? '–' : (stored.latencyMs / 1000).toFixed(1);
    localize(meta, 'reply.meta', { tokens: stored.tokenCount, seconds });
  }
}

/** An explanation in plain words and a Retry button (and a key prompt when the key is the problem). */
export function errorNotice(error, { onRetry, onEnterKey }) {
  const args = error.code === 'BAD_USER_INPUT' ? { detail: error.message } : undefined;
  return h(
    'div',
    { class: 'notice notice--error', role: 'alert', dataset: { errorCode: error.code } },
    localize(h('p', { class: 'notice__text' }), `error.${error.code}`, args),
    h(
      'div',
      { class: 'notice__actions' },
      error.code === 'UNAUTHENTICATED'
        ? localize(h('button', { type: 'button', onclick: onEnterKey }), 'error.enterKey')
        : null,
      localize(h('button', { type: 'button', class: 'retry-button', onclick: onRetry }), 'error.retry'),
    ),
  );
}

/** A stored message as the page shows it after a reload. */
export function storedMessage(message) {
  if (message.role === 'USER') {
    const element = userMessage(message.content);
    element.dataset.messageId = message.id;
    showAnalysis(element, message);
    return element;
  }
  const state = { COMPLETE: 'complete', ABORTED: 'stopped', FAILED: 'failed' }[message.status] ?? 'complete';
  const element = assistantReply({ content: message.content, state });
  element.dataset.messageId = message.id;
  setReplyState(element, state, message);
  return element;
}

export function welcome() {
  return h('div', { class: 'welcome' }, localize(h('h2'), 'chat.welcomeTitle'), localize(h('p'), 'chat.welcomeText'));
}
