// What `analyze-file` shows while it works: progress bars for the upload and the analysis (rate and ETA as the service
// measures them), and a few plain lines on stderr that also reach a log or a pipe, where bars are not drawn.
import { createProgressBar } from '../terminal/progressBar.js';
import type { AnalyzeFileEvents } from './analyzeFile.js';
import type { JobSnapshot } from './jobOperations.js';
import type { InputFileScan } from './scanInputFile.js';

/** The events drawn on `stream` (stderr); `stop()` clears any bar still drawn. */
export function jobProgress(
  stream: NodeJS.WritableStream = process.stderr,
): AnalyzeFileEvents & { scanned(scan: InputFileScan): void; stop(): void } {
  const upload = createProgressBar({ format: 'uploading [{bar}] {value}/{total} rows', stream });
  // `{left}`, not `{eta}`: cli-progress fills `{eta}` with its own estimate, and the service's is the better one.
  const analysis = createProgressBar({
    format: 'analyzing [{bar}] {value}/{total} items | {failed} failed | {rate} items/s | ETA {left}',
    stream,
  });
  const say = (line: string): void => void stream.write(`${line}\n`);
  let rows = 0;
  return {
    scanned(scan) {
      rows = scan.rows;
      if (scan.problems === 0) return;
      const more = scan.problems > scan.namedProblems.length ? '; …' : '';
      say(
        `${scan.problems} of ${scan.rows} rows cannot be analysed as they are (${scan.namedProblems.join('; ')}${more}): ` +
          'each goes in as an item that fails, under its id.',
      );
    },
    job(job, resumed) {
      say(resumed ? `resuming job ${job.id} (${describe(job)})` : `created job ${job.id} "${job.name ?? ''}"`);
    },
    uploaded(rowsSent, total) {
      upload.update(rowsSent, total);
    },
    progress(job) {
      upload.stop();
      if (job.status === 'QUEUED' || job.status === 'RUNNING') {
        analysis.update(job.processed, job.total, {
          failed: job.failed,
          rate: job.itemsPerSecond === null ? '–' : job.itemsPerSecond.toFixed(1),
          left: job.etaSeconds === null ? '–' : duration(job.etaSeconds),
        });
        return;
      }
      analysis.stop();
      if (job.total < rows) say(`${rows - job.total} rows repeat an id used earlier in the file: the job keeps the first.`);
      rows = 0;
    },
    stop() {
      upload.stop();
      analysis.stop();
    },
  };
}

function describe(job: JobSnapshot): string {
  return `${job.status.toLowerCase()}, ${job.processed} of ${job.total} items done`;
}

/** `42s`, `3m 05s`, `2h 10m`. */
function duration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}
