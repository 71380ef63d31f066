// `npm start` builds the service again only when a file it was built from changed (scripts/buildInputs.mjs).
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildInputsUnchanged, recordBuildInputs } from '../scripts/buildInputs.mjs';
import { createScratchDir } from './support/testApp.js';

const scratch = createScratchDir('aio-build-inputs-');
afterAll(() => scratch.remove());

function file(name: string, text: string): string {
  const at = path.join(scratch.dir, name);
  writeFileSync(at, text);
  return at;
}

it('is up to date until an input changes, goes, or the manifest is missing or empty', async () => {
  const dir = scratch.dir;
  expect(await buildInputsUnchanged(dir)).toBe(false);
  const a = file('a.ts', 'export const a = 1;');
  const b = file('b.ts', 'export const b = 2;');
  await recordBuildInputs(dir, [a, b, a]);
  expect(await buildInputsUnchanged(dir)).toBe(true);

  // The same size, another modification time (an edit that keeps the length, a checkout).
  utimesSync(a, new Date(), new Date(Date.now() + 5_000));
  expect(await buildInputsUnchanged(dir)).toBe(false);
  await recordBuildInputs(dir, [a, b]);
  expect(await buildInputsUnchanged(dir)).toBe(true);

  rmSync(b);
  expect(await buildInputsUnchanged(dir)).toBe(false);
  // What a build writes before it starts: an empty manifest vouches for nothing.
  await recordBuildInputs(dir, []);
  expect(await buildInputsUnchanged(dir)).toBe(false);
});
