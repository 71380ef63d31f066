// `npm run build:native`: compiles the llama.cpp source node-llama-cpp bundles for this CPU, with the options the
// engine looks its build up by (NATIVE_BUILD_CMAKE_OPTIONS), passed as node-llama-cpp's NODE_LLAMA_CPP_CMAKE_OPTION_*.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { NATIVE_BUILD_CMAKE_OPTIONS } from '../src/engine/loadModel.js';

const require = createRequire(import.meta.url);
// The package's own command line (its `bin`), beside its entry point in dist/.
const cli = path.join(path.dirname(require.resolve('node-llama-cpp')), 'cli', 'cli.js');
const options = Object.fromEntries(
  Object.entries(NATIVE_BUILD_CMAKE_OPTIONS).map(([name, value]) => [`NODE_LLAMA_CPP_CMAKE_OPTION_${name}`, value]),
);
const result = spawnSync(process.execPath, [cli, 'source', 'download', '--gpu', 'false', '--noUsageExample'], {
  stdio: 'inherit',
  env: { ...process.env, ...options },
});
process.exitCode = result.status ?? 1;
