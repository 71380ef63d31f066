// `npm start`'s entry: CommonJS, so it runs before anything has started libuv's thread pool, which it sizes first.
//
// node-llama-cpp runs every decode on a libuv pool thread. With several pool threads, consecutive decodes start on
// different threads, and the kernel moves the decode's compute threads between the cores far more often (a native
// OpenMP build also keeps a spinning team per calling thread): on 2 cores the second compute thread was nearly wasted
// (docs/PERFORMANCE.md, "libuv thread pool"). One pool thread keeps every decode on the same thread. The pool's
// other users wait for at most one decode: the service's own ones are few (static files, PostgreSQL's host lookup).
// Node reads the variable when the pool starts, so no later module could set it: hence this file, and the one
// read of process.env outside src/config.ts (which reads it again to report it).
if (process.env['UV_THREADPOOL_SIZE'] === undefined) process.env['UV_THREADPOOL_SIZE'] = '1';

// The bundled service beside this file in dist/service/ (scripts/bundleService.ts builds both).
const SERVICE_ENTRY = './main.mjs';
void import(SERVICE_ENTRY);
