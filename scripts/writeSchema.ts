// Regenerates schema.graphql at the repository root (`npm run schema`); a test fails while it is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSortedSchema } from '../src/schema/printSchema.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
writeFileSync(target, printSortedSchema());
process.stdout.write(`wrote ${target}\n`);
