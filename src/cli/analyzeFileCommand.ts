// `analyze-file reviews.csv --tasks … --text-column …`: a whole CSV or JSONL file as one analysis job, against a running
// service (--url) or in-process, resumable by re-running the same command, ending with the results file.
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AppConfig } from '../config.js';
import { analyzeFile } from './analyzeFile.js';
import { INPUT_FORMATS, InputFileError, type InputFormat } from './fileRows.js';
import { openInProcessService, type InProcessService } from './inProcessService.js';
import { formatOf } from './inputFile.js';
import { jobOperations } from './jobOperations.js';
import { jobProgress } from './jobProgress.js';
import { addDatabaseOption, addModelOptions, withFlags, type ModelFlags } from './options.js';
import { scanInputFile } from './scanInputFile.js';
import { createServiceClient } from './serviceClient.js';

interface AnalyzeFileFlags extends ModelFlags {
  db?: string;
  tasks: string[];
  textColumn: string;
  idColumn?: string;
  tagColumns?: string[];
  format?: InputFormat;
  out?: string;
  name?: string;
  url?: string;
  apiKey?: string;
}

const RESULTS_FORMATS: Readonly<Record<string, 'csv' | 'jsonl'>> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };

/** `signal` (Ctrl-C, wired by runCli) stops the command; an in-process service then gives its claimed items back. */
export function analyzeFileCommand(config: AppConfig, signal?: AbortSignal): Command {
  const command = new Command('analyze-file')
    .description('Analyse every row of a CSV (with a header row) or JSONL file as one job; re-run to resume it')
    .argument('<file>', 'the CSV or JSONL file')
    .requiredOption('--tasks <names>', 'comma-separated tasks to run on every row, e.g. sentiment,intent', nameList)
    .requiredOption('--text-column <name>', 'the column (JSONL: key) holding the text')
    .option('--id-column <name>', "the column holding each row's id (default: row:<n>, the row's position)")
    .option('--tag-columns <names>', 'comma-separated columns stored with each item, for statistics per value', nameList)
    .addOption(new Option('--format <format>', "the input's format (default: from its extension)").choices(INPUT_FORMATS))
    .option('--out <file>', 'the results file, .csv or .jsonl (default: <file>.results.csv)')
    .option('--name <label>', "the job name's readable part (default: the file's name)")
    .option('--url <url>', 'a running service, e.g. http://127.0.0.1:4000 (default: run the service in this process)')
    .option('--api-key <key>', 'with --url: the API key, when the service has API_KEYS');
  addModelOptions(command, config);
  addDatabaseOption(command, config);
  return command.action(async (file: string, flags: AnalyzeFileFlags) => {
    const format = formatOf(file, flags.format);
    const out = path.resolve(flags.out ?? `${file}.results.csv`);
    const resultsFormat = RESULTS_FORMATS[path.extname(out).toLowerCase()];
    if (resultsFormat === undefined) {
      throw new InputFileError({ message: `--out ${flags.out}: the results file is written as .csv or .jsonl.` });
    }
    const choice = { text: flags.textColumn, ...(flags.idColumn ? { id: flags.idColumn } : {}), tags: flags.tagColumns ?? [] };
    const progress = jobProgress();
    // The whole file is read (and refused, if it must be) before a model loads or anything is sent.
    const scan = await scanInputFile(file, format, choice);
    progress.scanned(scan);
    const local: InProcessService | undefined = flags.url ? undefined : await openInProcessService(withFlags(config, flags));
    if (local?.runsItems === false) {
      process.stderr.write('JOB_WORKER is off (or JOB_SEQUENCES=0): another replica sharing the database must run the job.\n');
    }
    const apiKey = flags.apiKey ?? local?.apiKey;
    let outcome;
    try {
      const client = createServiceClient({
        url: flags.url ?? local!.url,
        ...(apiKey === undefined ? {} : { apiKey }),
        ...(signal ? { signal } : {}),
      });
      const label = flags.name ?? path.basename(file);
      const options = { file, scan, format, choice, tasks: flags.tasks, label, out, resultsFormat };
      outcome = await analyzeFile(jobOperations(client), options, progress, signal);
    } finally {
      progress.stop();
      await local?.close();
    }
    const { job, resumed } = outcome;
    console.log(`${out}: ${job.total} items, ${job.failed} failed (job ${job.id}${resumed ? ', resumed' : ''})`);
  });
}

/** `a,b,c` → its names, each once, in order; an empty list is a mistake. */
function nameList(value: string): string[] {
  const names = [...new Set(value.split(',').map((name) => name.trim()))].filter((name) => name !== '');
  if (names.length === 0) throw new InvalidArgumentError('Name at least one, e.g. sentiment,intent.');
  return names;
}
