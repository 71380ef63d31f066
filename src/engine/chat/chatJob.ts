// A chat reply as an engine job: the request checked, its prompt built, the reply streamed from a chat sequence.
import { detectLocale } from '../detectLocale.js';
import type { EngineRuntime } from '../EngineRuntime.js';
import { SAMPLING_DEFAULTS } from '../EngineOptions.js';
import { forwardAbort } from '../../forwardAbort.js';
import { submitReported } from '../submitReported.js';
import type { ChatRequest, JobOptions } from '../types.js';
import { validateChatRequest } from '../validateInput.js';
import { buildChatPrompt, type ChatPromptRequest } from './chatPrompt.js';
import { createChatStream, type ChatStream } from './ChatStream.js';
import { generateReply, type SamplingOptions } from './generateReply.js';

/** Throws the `BadInputError` that `startChat` would; returns the sampling options and the prompt. */
export function checkChat(runtime: EngineRuntime, request: ChatRequest) {
  const { model, contextSize, options } = runtime;
  const sampling: SamplingOptions = validateChatRequest(request, options.maxInputChars, contextSize, SAMPLING_DEFAULTS);
  const prompt = buildChatPrompt(model, chatPromptRequest(runtime, request), contextSize, sampling.maxTokens);
  return { sampling, prompt };
}

/** Streams a reply; `for await` gives text deltas, `.result` the final text and statistics. */
export function startChat(runtime: EngineRuntime, request: ChatRequest, options: JobOptions): ChatStream {
  const { model, scheduler, hooks, chatPool, meter, prefixStates } = runtime;
  const { sampling, prompt } = checkChat(runtime, request);
  const cancel = new AbortController();
  const detach = forwardAbort(options.signal, cancel);
  return createChatStream(
    (push) =>
      submitReported(
        scheduler,
        hooks,
        { kind: 'chat', lane: 'chat', signal: cancel.signal, ...(options.key === undefined ? {} : { key: options.key }) },
        async (job, progress) => {
          const lease = await chatPool.acquire(request.conversationKey);
          const onText = (delta: string): void => {
            progress.text();
            push(delta);
          };
          try {
            // A sequence that held another system prompt loads this one's saved state instead of evaluating it again
            // (the first conversation of a language and steering evaluates and saves it); a conversation of its own
            // or one that shares its system prompt is left as it is.
            await prefixStates.restore(job, lease.sequence, prompt.systemKey, prompt.system);
            return await generateReply(job, model, lease.sequence, prompt.tokens, sampling, onText, () => {
              meter.record();
              progress.token();
            });
          } finally {
            lease.release();
          }
        },
        (reply) => reply.finishReason === 'aborted',
      ).finally(detach),
    () => cancel.abort(),
  );
}

/** The prompt's parts: the language (asked for, or detected from the message) and the steering lines of its labels. */
function chatPromptRequest(runtime: EngineRuntime, request: ChatRequest): ChatPromptRequest {
  const locale = request.locale ?? detectLocale(request.message);
  const steering = (request.steer ?? []).flatMap(({ task, label }) => runtime.registry.steerLine(task, label, locale) ?? []);
  return { history: request.history, message: request.message, locale, steering };
}
