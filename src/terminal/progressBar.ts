// Progress bars on stderr (cli-progress) for long commands: evaluation runs, model downloads, synthetic models, jobs.
import { Presets, SingleBar } from 'cli-progress';

/** What a long operation reports to; the bar starts on the first update, so nothing is drawn for work that never began. */
export interface ProgressReporter {
  /** `payload` fills the format's own tokens, e.g. `{rate}` (cli-progress keeps the last one given). */
  update(done: number, total: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export interface ProgressBarOptions {
  /** cli-progress format, e.g. `eval [{bar}] {value}/{total} texts`. */
  format: string;
  /** Recent updates the ETA averages over. */
  etaBuffer?: number;
  /** Where to draw; defaults to stderr. cli-progress draws only on a terminal, so a pipe or a log stays clean. */
  stream?: NodeJS.WritableStream;
}

export function createProgressBar(options: ProgressBarOptions): ProgressReporter {
  const bar = new SingleBar(
    {
      stream: options.stream ?? process.stderr,
      format: options.format,
      ...(options.etaBuffer === undefined ? {} : { etaBuffer: options.etaBuffer }),
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, payload) {
      if (!started) {
        bar.start(total, 0, payload);
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

const BYTES_PER_MB = 1_000_000;

/** The bar for an `hf:` model download, in megabytes. */
export function createDownloadProgressBar(stream?: NodeJS.WritableStream): ProgressReporter {
  const bar = createProgressBar({
    format: 'downloading the model [{bar}] {percentage}% | {value}/{total} MB | ETA {eta_formatted}',
    ...(stream ? { stream } : {}),
  });
  return {
    update: (done, total) => bar.update(Math.round(done / BYTES_PER_MB), Math.round(total / BYTES_PER_MB)),
    stop: () => bar.stop(),
  };
}
