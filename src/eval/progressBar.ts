// A progress bar with ETA on stderr for long evaluation runs (cli-progress).

import { Presets, SingleBar } from 'cli-progress';

export interface ProgressReporter {
  update(done: number, total: number): void;
  stop(): void;
}

/** Recent texts the ETA averages over; short enough to follow a method switch, long enough to be steady. */
const ETA_WINDOW_TEXTS = 50;

export function createProgressBar(stream: NodeJS.WritableStream): ProgressReporter {
  const bar = new SingleBar(
    {
      stream,
      format: 'eval [{bar}] {value}/{total} texts | {percentage}% | ETA {eta_formatted} | {duration_formatted}',
      etaBuffer: ETA_WINDOW_TEXTS,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
