// CHAT_TASKS as read from the environment: the default, a list, and `none` (chat messages with no tasks), with the
// errors a wrong value gets. The real config loader on the real task files.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/EnvReader.js';
import { createScratchDir } from './support/testApp.js';

const scratch = createScratchDir('aio-chat-tasks-');

afterAll(() => scratch.remove());

function chatTasksOf(env: Record<string, string>): readonly string[] {
  return loadConfig({ LOG_LEVEL: 'silent', ...env }).service.chatTasks;
}

function errorOf(env: Record<string, string>): ConfigError {
  try {
    chatTasksOf(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('CHAT_TASKS', () => {
  it('defaults to sentiment, and keeps a list in order without repeats', () => {
    expect(chatTasksOf({})).toEqual(['sentiment']);
    expect(chatTasksOf({ CHAT_TASKS: 'keywords, sentiment,keywords' })).toEqual(['keywords', 'sentiment']);
  });

  it('is empty with `none`: no verdict before the reply', () => {
    expect(chatTasksOf({ CHAT_TASKS: 'none' })).toEqual([]);
    expect(chatTasksOf({ CHAT_TASKS: ' none ' })).toEqual([]);
  });

  it('refuses `none` beside a task, and a task that does not exist', () => {
    const mixed = errorOf({ CHAT_TASKS: 'none,sentiment' });
    expect(mixed.code).toBe('BAD_CONFIG');
    expect(mixed.message).toBe('CHAT_TASKS: none stands alone');
    expect(errorOf({ CHAT_TASKS: 'mood' }).message).toMatch(/^CHAT_TASKS: .*no such task; the tasks are sentiment, /);
  });

  it('refuses `none` when TASKS_FILE has a task of that name, and runs that task under another name', () => {
    const task = (name: string) => ({
      kind: 'extract',
      name,
      description: 'd',
      instruction: { en: 'e', zh: 'z' },
      schema: { type: 'string', maxLength: 8 },
    });
    const named = path.join(scratch.dir, 'named-none.json');
    writeFileSync(named, JSON.stringify({ tasks: [task('none')] }));
    const error = errorOf({ TASKS_FILE: named, CHAT_TASKS: 'none' });
    expect(error.message).toBe(
      'CHAT_TASKS: none means no tasks, but TASKS_FILE has a task of that name: rename it to run it in the chat',
    );
    const renamed = path.join(scratch.dir, 'renamed.json');
    writeFileSync(renamed, JSON.stringify({ tasks: [task('nothing')] }));
    expect(chatTasksOf({ TASKS_FILE: renamed, CHAT_TASKS: 'nothing' })).toEqual(['nothing']);
  });
});
