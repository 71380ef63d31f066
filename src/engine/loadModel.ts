// Finds the model a user asked for (local file, `hf:` URI or synthetic shape) and loads it into llama.cpp.
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  createModelDownloader,
  getLlama,
  LlamaLogLevel,
  readGgufFileInfo,
  resolveModelFile,
  type Llama,
  type LlamaModel,
} from 'node-llama-cpp';
import type { BinaryTestVerdicts } from './binaryTestVerdicts.js';
import { ModelUnavailableError } from './errors.js';
import {
  ensureSyntheticModel,
  hasCurrentSyntheticStamp,
  SYNTHETIC_FORMAT_KEY,
  SYNTHETIC_SHAPES,
  syntheticModelPath,
  type SyntheticShapeName,
} from './synth/index.js';

export type ModelSourceKind = 'file' | 'huggingface' | 'synthetic';

export interface ModelSource {
  kind: ModelSourceKind;
  /** What the user wrote in `MODEL`. */
  spec: string;
  /** The resolved local file. */
  path: string;
  sizeBytes: number;
  /** A file written by our synthetic-model generator (random weights), however it was named. */
  synthetic: boolean;
}

export interface LoadModelOptions {
  /** A local `.gguf` path, an `hf:` URI, or `synthetic:<shape>`. */
  model: string;
  /** Where `hf:` downloads and synthetic models are kept. */
  modelsDir: string;
  /** `off` runs on the CPU; `auto` lets node-llama-cpp pick a GPU backend when one works. */
  gpu: 'off' | 'auto';
  /** Memory-map the weights (pages shared with the OS cache) instead of reading them into process memory. */
  useMmap: boolean;
  /**
   * Told how an uncached `hf:` download goes, once it has really started (never while the host is still being
   * reached, so an offline start prints its error and nothing else); stopped when the download ends either way.
   */
  downloadProgress?: DownloadProgress;
  /** How long to wait for a download of an uncached `hf:` model to start before giving up. */
  downloadConnectTimeoutMs?: number;
  /** Where `hf:` models come from (a mirror); defaults to https://huggingface.co/. */
  huggingFaceEndpoint?: string;
  /**
   * Which llama.cpp build runs the model: `auto` takes the native build (`npm run build:native`) when there is one,
   * else node-llama-cpp's prebuilt binary; `native` requires the native build; `prebuilt` ignores it.
   */
  runtime?: LlamaRuntime;
  /** Binaries that passed node-llama-cpp's load test on this machine before: loaded without testing them again. */
  binaryTestVerdicts?: BinaryTestVerdicts;
  /** Called for conditions an operator must notice, such as a synthetic model with meaningless output. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

/** What finding (and, when missing, downloading or generating) a model needs; loading it needs more. */
export type ModelSourceOptions = Pick<
  LoadModelOptions,
  'model' | 'modelsDir' | 'downloadProgress' | 'downloadConnectTimeoutMs' | 'huggingFaceEndpoint' | 'onWarning' | 'signal'
>;

/** Receives download progress in bytes; a terminal progress bar, for instance. */
export interface DownloadProgress {
  update(downloadedBytes: number, totalBytes: number): void;
  stop(): void;
}

export type LlamaRuntime = 'auto' | 'native' | 'prebuilt';

export interface LoadedModel {
  llama: Llama;
  model: LlamaModel;
  source: ModelSource;
  /** The build that was loaded: a native build of the bundled llama.cpp, or node-llama-cpp's portable prebuilt one. */
  build: 'native' | 'prebuilt';
  loadMs: number;
}

/**
 * GCC 12's `_tile_loadconfig` (amxtileintrin.h) gives `ldtilecfg` an 8-byte memory operand, so GCC drops the stores of
 * the AMX tile shapes as dead: a native build on a CPU with AMX then dies of SIGILL at its first prompt (`#UD` at
 * `tileloadd`). Without dead-store elimination the stores stay. (Benchmark 13's llama-server is built with them too.)
 */
export const KEEP_AMX_TILE_SHAPES = '-fno-tree-dse -fno-dse';
/** In the Release flags, which node-llama-cpp's build (cmake-js) leaves alone, unlike CMAKE_CXX_FLAGS. */
const RELEASE_FLAGS = `-O3 -DNDEBUG ${KEEP_AMX_TILE_SHAPES}`;

/**
 * The options `npm run build:native` compiles with (scripts/buildNative.ts passes them as NODE_LLAMA_CPP_CMAKE_OPTION_*):
 * node-llama-cpp names a local build's folder after them, so asking for them finds that build and nothing else.
 */
export const NATIVE_BUILD_CMAKE_OPTIONS: Readonly<Record<string, string>> = {
  GGML_NATIVE: 'ON',
  GGML_OPENMP: 'ON',
  CMAKE_C_FLAGS_RELEASE: RELEASE_FLAGS,
  CMAKE_CXX_FLAGS_RELEASE: RELEASE_FLAGS,
};
/** Options no local build is ever made with: asking for them skips local builds and loads the prebuilt binary. */
const PREBUILT_ONLY_CMAKE_OPTIONS: Readonly<Record<string, string>> = { ALL_IN_ONE_PREBUILT_ONLY: 'ON' };

const SYNTHETIC_PREFIX = 'synthetic:';
const HUGGING_FACE_PREFIX = 'hf:';
const GGUF_MAGIC = 'GGUF';
/** Our generator stamps its files under this metadata namespace (see synth/syntheticFormat.ts). */
const SYNTHETIC_METADATA_NAMESPACE = SYNTHETIC_FORMAT_KEY.split('.')[0]!;
/** Vocabulary-sized arrays the header check has no use for. */
const LARGE_TOKENIZER_KEYS = ['tokenizer.ggml.tokens', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'];
/** node-llama-cpp's downloader retries for minutes when offline; start-up should fail sooner than that. */
export const DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_HUGGING_FACE_ENDPOINT = 'https://huggingface.co/';
const HINT =
  'Set MODEL to a local .gguf file (MODEL=/path/to/qwen2.5-0.5b-instruct-q8_0.gguf) ' +
  'or, offline, to a synthetic model (MODEL=synthetic:tiny).';

/** Finds the model file, downloading an uncached `hf:` model or generating a synthetic one first (`pull`). */
export function resolveModelSource(options: ModelSourceOptions): Promise<ModelSource> {
  return findModelSource(options, 'read');
}

/**
 * `read`: the file's GGUF header is read here, for its checks and to tell a synthetic model. `later`: its first bytes
 * only, and the header is left to node-llama-cpp's load, which reads it anyway (`loadModel`): reading it twice cost
 * start-up about 0.24 s (docs/PERFORMANCE.md, "Start-up").
 */
async function findModelSource(options: ModelSourceOptions, header: 'read' | 'later'): Promise<ModelSource> {
  const { model: spec, modelsDir } = options;
  if (spec.startsWith(SYNTHETIC_PREFIX)) {
    const shape = spec.slice(SYNTHETIC_PREFIX.length);
    if (!SYNTHETIC_SHAPES.includes(shape as SyntheticShapeName)) {
      throw new ModelUnavailableError({
        message: `Unknown synthetic model "${spec}"; choose one of ${SYNTHETIC_SHAPES.map((name) => SYNTHETIC_PREFIX + name).join(', ')}.`,
      });
    }
    options.onWarning?.(
      `MODEL=${spec} is a synthetic model with RANDOM weights: its sentiment labels and replies are meaningless. ` +
        'Use it for demos and tests only.',
    );
    const existing = syntheticModelPath(modelsDir, shape as SyntheticShapeName);
    const file =
      header === 'later' && (await startsAsGguf(existing))
        ? existing
        : await ensureSyntheticModel({ shape: shape as SyntheticShapeName, modelsDir });
    return { kind: 'synthetic', spec, path: file, sizeBytes: (await stat(file)).size, synthetic: true };
  }
  if (spec.startsWith(HUGGING_FACE_PREFIX)) {
    let file: string;
    try {
      file = await downloadOnce(options);
    } catch (error) {
      throw new ModelUnavailableError({
        message: `Could not find or download MODEL=${spec} (looked in ${path.resolve(modelsDir)}): ${describe(error)}. ${HINT}`,
        cause: error,
      });
    }
    const { synthetic } = await inspectGgufFile(file, spec, header);
    return { kind: 'huggingface', spec, path: file, sizeBytes: (await stat(file)).size, synthetic };
  }
  const file = path.resolve(spec);
  const { synthetic } = await inspectGgufFile(file, spec, header);
  if (synthetic) {
    options.onWarning?.(
      `${file} is a synthetic model with RANDOM weights: its sentiment labels and replies are meaningless.`,
    );
  }
  return { kind: 'file', spec, path: file, sizeBytes: (await stat(file)).size, synthetic };
}

export async function loadModel(options: LoadModelOptions): Promise<LoadedModel> {
  const startedAt = performance.now();
  let source = await findModelSource(options, 'later');
  const { llama, build } = await loadLlama({
    gpu: options.gpu,
    runtime: options.runtime ?? 'auto',
    ...(options.binaryTestVerdicts ? { binaryTestVerdicts: options.binaryTestVerdicts } : {}),
  });
  const loadWeights = (from: ModelSource) => llama.loadModel({ modelPath: from.path, useMmap: options.useMmap });
  try {
    const synthetic = source.kind === 'synthetic';
    let model = await loadWeights(source).catch((error: unknown) => {
      if (synthetic) return undefined;
      throw error;
    });
    // A synthetic file an older generator wrote (its stamp, in the header just read) or a damaged one: written again.
    if (model === undefined || (synthetic && !hasCurrentSyntheticStamp(model.fileInfo.metadata))) {
      await model?.dispose();
      source = await findModelSource(options, 'read');
      model = await loadWeights(source);
    }
    const stamped = SYNTHETIC_METADATA_NAMESPACE in model.fileInfo.metadata;
    if (stamped && source.kind === 'file') {
      options.onWarning?.(
        `${source.path} is a synthetic model with RANDOM weights: its sentiment labels and replies are meaningless.`,
      );
    }
    return { llama, model, source: { ...source, synthetic: stamped }, build, loadMs: performance.now() - startedAt };
  } catch (error) {
    await llama.dispose();
    throw new ModelUnavailableError({
      message: `llama.cpp could not load ${source.path}: ${describe(error)}. The file may be truncated or not a supported model. ${HINT}`,
      cause: error,
    });
  }
}

/**
 * llama.cpp itself, from the build `runtime` asks for: `native` and `auto` look for the native build first.
 * Three of node-llama-cpp's start-up steps are skipped where they decide nothing (patches/node-llama-cpp+3.21.1.patch
 * adds the options): the load test of a binary that passed it on this machine before; on the CPU, the memory
 * estimates' "simulator" loads of the model without weights (0.47 s of a start on the 0.5B model), whose exact figures
 * only matter for fitting layers into a GPU's memory (the heuristic estimate still guards the RAM); and reading the
 * tokenizer's vocabulary-sized arrays value by value in JavaScript (0.2 s on Qwen2.5's 151,936 tokens), of which
 * node-llama-cpp uses only the lengths (llama.cpp reads the tokenizer itself).
 */
export async function loadLlama(options: {
  gpu: 'off' | 'auto';
  runtime: LlamaRuntime;
  binaryTestVerdicts?: BinaryTestVerdicts;
}): Promise<{ llama: Llama; build: 'native' | 'prebuilt' }> {
  const llama = await getLlama({
    gpu: options.gpu === 'off' ? false : 'auto',
    logLevel: LlamaLogLevel.error,
    progressLogs: false,
    // Never compile at start-up: a missing native build falls back to the prebuilt binary (unless it is required).
    build: 'never',
    cmakeOptions: { ...(options.runtime === 'prebuilt' ? PREBUILT_ONLY_CMAKE_OPTIONS : NATIVE_BUILD_CMAKE_OPTIONS) },
    experimental: {
      skipResourceSimulation: options.gpu === 'off',
      tokenizerArraysByLength: true,
      ...(options.binaryTestVerdicts ? { binaryTestVerdicts: options.binaryTestVerdicts } : {}),
    },
  });
  const build = llama.buildType === 'localBuild' ? 'native' : 'prebuilt';
  if (options.runtime === 'native' && build !== 'native') {
    await llama.dispose();
    throw new ModelUnavailableError({ message: 'LLAMA_RUNTIME=native, but there is no native build: run `npm run build:native` first.' });
  }
  return { llama, build };
}

/** The cached file when there is one; otherwise a download that must get going within the connect timeout. */
async function downloadOnce(options: ModelSourceOptions): Promise<string> {
  const endpoints = { huggingFace: options.huggingFaceEndpoint ?? DEFAULT_HUGGING_FACE_ENDPOINT };
  try {
    return await resolveModelFile(options.model, { directory: options.modelsDir, download: false, cli: false, endpoints });
  } catch {
    // Not cached yet: download it below.
  }
  const timeoutMs = options.downloadConnectTimeoutMs ?? DEFAULT_DOWNLOAD_CONNECT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const progress = options.downloadProgress;
  const downloader = await Promise.race([
    // node-llama-cpp's own CLI progress starts a spinner while it still looks for the host, which takes over the
    // terminal and swallows the error an offline start prints; progress is reported through `onProgress` instead.
    createModelDownloader({
      modelUri: options.model,
      dirPath: options.modelsDir,
      showCliProgress: false,
      endpoints,
      ...(progress ? { onProgress: ({ downloadedSize, totalSize }) => progress.update(downloadedSize, totalSize) } : {}),
    }),
    new Promise<never>((_, reject) => {
      const host = new URL(endpoints.huggingFace).host;
      timer = setTimeout(() => reject(new Error(`no answer from ${host} within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  try {
    return await downloader.download(options.signal ? { signal: options.signal } : {});
  } finally {
    progress?.stop();
  }
}

/**
 * Catches the usual wrong files before llama.cpp sees them (missing, empty, not GGUF, header cut short) and tells
 * whether the file is one of our synthetic models. With `later`, only the first three: a damaged header is refused
 * by node-llama-cpp's and llama.cpp's own readers as the model loads (an error, never a crash: test/engine.test.ts).
 */
async function inspectGgufFile(file: string, spec: string, header: 'read' | 'later'): Promise<{ synthetic: boolean }> {
  let magic;
  try {
    magic = await magicOf(file);
  } catch (error) {
    throw new ModelUnavailableError({
      message: `Model file not found or unreadable: ${file} (MODEL=${spec}). ${HINT}`,
      cause: error,
    });
  }
  if (magic !== GGUF_MAGIC) {
    throw new ModelUnavailableError({ message: `Not a GGUF model file: ${file} (MODEL=${spec}). ${HINT}` });
  }
  // Told from the header once node-llama-cpp has read it (`loadModel`).
  if (header === 'later') return { synthetic: false };
  try {
    const { metadata } = await readGgufFileInfo(file, { readTensorInfo: true, lengthOnlyKeys: LARGE_TOKENIZER_KEYS });
    return { synthetic: SYNTHETIC_METADATA_NAMESPACE in metadata };
  } catch (error) {
    throw new ModelUnavailableError({
      message: `The GGUF file ${file} is damaged or truncated: ${describe(error)}. ${HINT}`,
      cause: error,
    });
  }
}

/** Whether `file` exists and begins with GGUF's magic bytes. */
async function startsAsGguf(file: string): Promise<boolean> {
  return (await magicOf(file).catch(() => '')) === GGUF_MAGIC;
}

/** The file's first four bytes as text (`GGUF` for a GGUF file; fewer in a shorter file); throws if it cannot be read. */
async function magicOf(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(GGUF_MAGIC.length), 0, GGUF_MAGIC.length, 0);
    return buffer.toString('latin1', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
