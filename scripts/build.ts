// `npm run build` (and `prestart`): the service as plain JavaScript, so `npm start` runs without a TypeScript loader.
import path from 'node:path';
import { bundleService } from './bundleService.js';

const startedAt = performance.now();
const file = await bundleService();
process.stderr.write(`built ${path.relative(process.cwd(), file)} in ${Math.round(performance.now() - startedAt)} ms\n`);
