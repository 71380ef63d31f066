// The engine on the benchmark model, in this process, with the benchmark's explicit thread count.
import { Engine, type EngineOptions } from '../../src/engine/index.js';
import { benchModelPath, type BenchOptions } from './benchmark.js';

export async function loadBenchEngine(options: BenchOptions, overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  return Engine.load({
    model: await benchModelPath(options),
    modelsDir: options.modelsDir,
    threads: options.threads,
    // The stand-in's random weights make every label meaningless; the benchmarks know.
    onWarning: () => {},
    ...overrides,
  });
}
