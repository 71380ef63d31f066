// One chat turn on the page: the message, its badge and classify chips on ChatStarted, extraction chips as they end,
// the reply growing token by token.
import { ApiError } from './errors.js';
import { TASK_RESULT_FIELDS } from './taskChips.js';
import {
  addTaskResults,
  appendTokens,
  assistantReply,
  errorNotice,
  markNotSent,
  setReplyState,
  showAnalysis,
  userMessage,
} from './messageViews.js';

const CHAT_STREAM = `subscription ChatStream($input: ChatInput!) {
  chatStream(input: $input) {
    __typename
    ... on ChatStarted {
      conversation { id title updatedAt }
      userMessage { id sentiment { label confidence emoji display } taskResults { ...TaskResultFields } }
    }
    ... on ChatToken { index text }
    ... on ChatTaskResults { taskResults { ...TaskResultFields } }
    ... on ChatDone { finishReason reply { id content status finishReason tokenCount latencyMs } }
  }
}
${TASK_RESULT_FIELDS}`;

const REPLY_STATES = { COMPLETE: 'complete', ABORTED: 'stopped', FAILED: 'failed' };

/**
 * Starts streaming `input` into `container`. `onStarted(conversation)` runs when the message is stored,
 * `onSettled()` once the turn is over (finished, stopped or failed); `onRetry(message)` returns whether it
 * could send again; `onNotSent(message)` when Stop came before the message was stored. Returns `{ stop() }`.
 */
export function startTurn({ api, container, input, onStarted, onSettled, onRetry, onEnterKey, onNotSent }) {
  const userElement = userMessage(input.message);
  let replyElement = null;
  let finished = false;
  let settled = false;
  appendScrolled(container, userElement);

  // Deltas are drawn once per frame: a fast model sends hundreds a second, and laying the page out for each one
  // used to keep the main thread busy long after the stream ended (Stop could not even be clicked).
  let pendingText = '';
  let pendingDeltas = 0;
  let frame = 0;
  const flushTokens = () => {
    cancelAnimationFrame(frame);
    frame = 0;
    if (pendingDeltas === 0) return;
    const text = pendingText;
    const deltas = pendingDeltas;
    pendingText = '';
    pendingDeltas = 0;
    keepScrolled(container, () => appendTokens(replyElement, text, deltas));
  };

  const settle = () => {
    if (settled) return;
    settled = true;
    onSettled();
  };

  const cancel = api.subscribe(
    CHAT_STREAM,
    { input },
    {
      next: ({ chatStream: event }) => {
        if (event.__typename === 'ChatStarted') {
          userElement.dataset.messageId = event.userMessage.id;
          showAnalysis(userElement, event.userMessage);
          replyElement = assistantReply();
          appendScrolled(container, replyElement);
          onStarted(event.conversation);
        } else if (event.__typename === 'ChatToken') {
          pendingText += event.text;
          pendingDeltas += 1;
          frame ||= requestAnimationFrame(flushTokens);
        } else if (event.__typename === 'ChatTaskResults') {
          addTaskResults(userElement, event.taskResults);
        } else if (event.__typename === 'ChatDone') {
          flushTokens();
          finished = true;
          replyElement.dataset.messageId = event.reply.id;
          setReplyState(replyElement, REPLY_STATES[event.reply.status] ?? 'complete', event.reply);
        }
      },
      // A stream that ends without ChatDone was cut off (a socket closed normally, say): not a finished reply.
      complete: () =>
        finished ? settle() : fail(new ApiError({ code: 'CONNECTION_LOST', message: 'The stream ended early.' })),
      error: (error) => fail(error),
    },
  );

  function fail(error) {
    // A transport can report one failure twice (an error, then the end of the stream): one notice is enough.
    if (settled) return;
    flushTokens();
    if (replyElement) setReplyState(replyElement, 'failed');
    else userElement.dataset.state = 'unsent';
    const started = replyElement !== null;
    const notice = errorNotice(error, {
      onEnterKey,
      onRetry: () => {
        if (!onRetry(input.message)) return;
        notice.remove();
        // Never stored: the retry stands in for it. Stored: the retry is a new turn after it.
        if (!started) userElement.remove();
      },
    });
    appendScrolled(container, notice);
    settle();
  }

  return {
    /**
     * Stops generating; the partial reply stays, marked as stopped (the server stores it as ABORTED). Before
     * ChatStarted the message was not stored (the server stores nothing for a turn stopped then): it says so, and
     * `onNotSent(message)` may offer the text again.
     */
    stop() {
      if (settled) return;
      cancel();
      flushTokens();
      if (replyElement) setReplyState(replyElement, 'stopped');
      else {
        markNotSent(userElement);
        onNotSent?.(input.message);
      }
      settle();
    },
  };
}

/** Follows new content only while the reader is at the bottom; someone scrolled up to read stays put. */
function keepScrolled(container, change) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 48;
  change();
  if (atBottom) container.scrollTop = container.scrollHeight;
}

function appendScrolled(container, element) {
  keepScrolled(container, () => container.append(element));
}
