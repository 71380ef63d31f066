// A CSV file the person picked, read in the browser (csv-parse's browser build): its header, and each row as a job
// item the way the `analyze-file` command makes them.

/** Served from the installed csv-parse (src/http/webPage.ts); loaded when a file is first picked, not with the page. */
const CSV_PARSE_PATH = '/vendor/csv-parse.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** Each byte as one character (0x00–0x7F as itself, 0x80–0xFF as U+F780–U+F7FF), so the bytes can be had back exactly. */
const byteChars = new TextDecoder('x-user-defined');
const HIGH_BYTE_OFFSET = 0xf700;

/**
 * Reads `file` whole (the page holds it in memory; the command line streams instead). CSV's syntax is ASCII, so it is
 * parsed on the bytes-as-characters, and each field is decoded as UTF-8 on its own: bad bytes fail that row only.
 * Resolves with `{ columns, rows }` (rows of raw fields) or rejects with an Error saying why the file cannot be read.
 */
export async function readCsvFile(file) {
  const { parse } = await import(CSV_PARSE_PATH);
  let bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const records = parse(byteChars.decode(bytes), {
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
  });
  const [header, ...rows] = records;
  if (!header) throw new Error('the file is empty');
  const columns = header.map(decodeField);
  if (columns.some((column) => column === null)) throw new Error('its header row is not UTF-8 text');
  return { columns, rows };
}

/**
 * Row `index` (from 0) as an item: `{ item, problem }`. A row with the wrong number of fields, or bad UTF-8 in a field
 * the item uses, is sent with an empty text, so the service stores it failed under its id (as the command line does).
 */
export function itemOf(file, index, { text, id, tags }) {
  const record = file.rows[index];
  let problem = record.length === file.columns.length ? null : 'fields';
  const value = (column) => {
    const position = file.columns.indexOf(column);
    if (position < 0 || record[position] === undefined) return undefined;
    const decoded = decodeField(record[position]);
    if (decoded === null) problem = 'utf8';
    return decoded ?? undefined;
  };
  const textValue = value(text);
  let idValue = id ? value(id) : undefined;
  // An id or tag the API refuses would fail the whole chunk: the row fails alone instead, without it.
  if (idValue !== undefined && !fits(idValue)) {
    problem = 'id';
    idValue = undefined;
  }
  const itemTags = tags.flatMap((key) => {
    const tagValue = value(key);
    if (tagValue === undefined || tagValue === '') return [];
    if (fits(tagValue)) return [{ key, value: tagValue }];
    problem = 'tag';
    return [];
  });
  if (textValue === undefined) problem ??= 'fields';
  const item = {
    text: problem === null ? textValue : '',
    externalId: idValue ? idValue : `row:${index + 1}`,
    tags: itemTags,
  };
  return { item, problem };
}

/** The API's limit on ids and tag values (src/service/analysisItemInput.ts), and no U+0000. */
const MAX_LABEL_LENGTH = 256;

function fits(value) {
  return value.length <= MAX_LABEL_LENGTH && !value.includes('\u0000');
}

function decodeField(field) {
  const bytes = new Uint8Array(field.length);
  for (let i = 0; i < field.length; i += 1) {
    const code = field.charCodeAt(i);
    bytes[i] = code < 0x80 ? code : code - HIGH_BYTE_OFFSET;
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
