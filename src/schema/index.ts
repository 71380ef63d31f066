// The executable schema: importing each domain file registers its types and fields on the builder.
import { builder } from './builder.js';
import './sentiment.js';
import './conversation.js';
import './task.js';
import './analysis.js';
import './analysisJob.js';
import './chat.js';
import './analytics.js';
import './engine.js';

export const schema = builder.toSchema();
