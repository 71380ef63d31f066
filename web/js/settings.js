// What the page remembers in this browser: the API key, the UI language and the longest reply asked for.

const KEYS = { apiKey: 'aio.apiKey', locale: 'aio.locale', maxTokens: 'aio.maxTokens' };

/** Private browsing or a strict policy may refuse storage; the page still works, it just forgets. */
function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null || value === '') localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Nothing to do: see `read`.
  }
}

export const settings = {
  get apiKey() {
    return read(KEYS.apiKey) ?? '';
  },
  set apiKey(value) {
    write(KEYS.apiKey, value.trim());
  },
  /** 'zh', 'en', or null when the user never chose. */
  get locale() {
    const value = read(KEYS.locale);
    return value === 'zh' || value === 'en' ? value : null;
  },
  set locale(value) {
    write(KEYS.locale, value);
  },
  /** A positive integer, or null for the server's default. */
  get maxTokens() {
    const value = Number(read(KEYS.maxTokens));
    return Number.isInteger(value) && value > 0 ? value : null;
  },
  set maxTokens(value) {
    write(KEYS.maxTokens, value === null ? null : String(value));
  },
};
