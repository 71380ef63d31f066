// Splits CSV (RFC 4180 quoting) and TSV text into records that remember their line numbers.

export interface DelimitedRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

export interface DelimitedProblem {
  line: number;
  reason: string;
}

export interface DelimitedContent {
  records: DelimitedRecord[];
  problems: DelimitedProblem[];
  blankLines: number;
}

const QUOTE = '"';

function stripByteOrderMark(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * CSV: a field that starts with a quote runs to the matching quote (`""` is a literal quote) and may
 * span lines; a quote anywhere else is an ordinary character, which keeps `5" screen` intact.
 */
export function parseCsv(input: string): DelimitedContent {
  const text = stripByteOrderMark(input);
  const records: DelimitedRecord[] = [];
  const problems: DelimitedProblem[] = [];
  let blankLines = 0;
  let line = 1;
  let index = 0;

  while (index < text.length) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let atFieldStart = true;
    let endOfRecord = false;
    let unterminated = false;

    while (index < text.length && !endOfRecord) {
      const char = text[index];
      if (atFieldStart && char === QUOTE) {
        atFieldStart = false;
        index += 1;
        let closed = false;
        while (index < text.length) {
          const inner = text[index];
          if (inner === QUOTE) {
            if (text[index + 1] === QUOTE) {
              field += QUOTE;
              index += 2;
              continue;
            }
            index += 1;
            closed = true;
            break;
          }
          if (inner === '\n') line += 1;
          if (!(inner === '\r' && text[index + 1] === '\n')) field += inner;
          index += 1;
        }
        if (!closed) unterminated = true;
        continue;
      }
      atFieldStart = false;
      index += 1;
      if (char === ',') {
        fields.push(field);
        field = '';
        atFieldStart = true;
      } else if (char === '\n') {
        line += 1;
        endOfRecord = true;
      } else if (!(char === '\r' && text[index] === '\n')) {
        field += char;
      }
    }
    fields.push(field);

    if (unterminated) {
      problems.push({ line: startLine, reason: 'quoted field is never closed (the rest of the file was read into it)' });
    } else if (fields.length === 1 && fields[0]?.trim() === '') {
      blankLines += 1;
    } else {
      records.push({ line: startLine, fields });
    }
  }
  return { records, problems, blankLines };
}

/** Unwraps a TSV field written entirely in quotes (as spreadsheet exports do); anything else is literal. */
function unquoteTsvField(field: string): string {
  if (field.length >= 2 && field.startsWith(QUOTE) && field.endsWith(QUOTE)) {
    return field.slice(1, -1).replaceAll('""', QUOTE);
  }
  return field;
}

/**
 * TSV: one record per line, fields split on tabs. Quotes are not special inside a field because
 * GLUE-style TSV files carry raw text such as `" no quotes needed` without escaping.
 */
export function parseTsv(input: string): DelimitedContent {
  const records: DelimitedRecord[] = [];
  let blankLines = 0;
  const lines = stripByteOrderMark(input).split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, offset) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') {
      blankLines += 1;
      return;
    }
    records.push({ line: offset + 1, fields: text.split('\t').map(unquoteTsvField) });
  });
  return { records, problems: [], blankLines };
}
