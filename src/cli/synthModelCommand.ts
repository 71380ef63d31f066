// `synth-model`: writes a GGUF file with seeded random weights in a real model's shape, with a progress bar.
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_SYNTHETIC_SEED,
  MAX_SYNTHETIC_SEED,
  SYNTHETIC_SHAPES,
  type SyntheticShapeName,
  type WrittenSyntheticModel,
  writeSyntheticModel,
} from '../engine/synth/index.js';
import { createProgressBar } from '../terminal/progressBar.js';

const BYTES_PER_MIB = 1024 * 1024;

export function synthModelCommand(): Command {
  return new Command('synth-model')
    .description('Write a GGUF model with seeded random weights in a real model shape (for tests and benchmarks)')
    .addOption(new Option('--shape <shape>', 'model shape').choices(SYNTHETIC_SHAPES).makeOptionMandatory())
    .requiredOption('--out <file>', 'where to write the .gguf file')
    .option('--seed <n>', 'weights seed; the same seed gives the same bytes', parseSeed, DEFAULT_SYNTHETIC_SEED)
    .action(async (options: { shape: SyntheticShapeName; out: string; seed: number }) => {
      const started = performance.now();
      const bar = createProgressBar({ format: 'synth-model [{bar}] {percentage}% | {eta}s left' });
      let written: WrittenSyntheticModel;
      try {
        written = await writeSyntheticModel({
          shape: options.shape,
          outFile: options.out,
          seed: options.seed,
          onProgress: (fraction) => bar.update(fraction, 1),
        });
      } finally {
        bar.stop();
      }
      const seconds = (performance.now() - started) / 1000;
      const mebibytes = (written.bytes / BYTES_PER_MIB).toFixed(1);
      console.log(`Wrote ${written.outFile} (${written.bytes} bytes, ${mebibytes} MiB) in ${seconds.toFixed(1)} s`);
    });
}

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!/^\d+$/.test(value) || seed > MAX_SYNTHETIC_SEED) {
    throw new InvalidArgumentError(`must be an integer from 0 to ${MAX_SYNTHETIC_SEED}`);
  }
  return seed;
}
