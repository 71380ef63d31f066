// Entry point of the service (`npm start`): load the config and run the server (src/server.ts) until a signal.
import { loadConfig } from './config.js';
import { exitWith } from './exitWith.js';
import { runServer } from './server.js';

try {
  await runServer(loadConfig());
} catch (error) {
  exitWith(error);
}
