// Starts the page: language, API client, the chat, sentiment and files views, the settings dialog, and hash routing.
import { createApi } from './api.js';
import { createChatView } from './chat.js';
import { byId } from './dom.js';
import { localize, locale, onLocaleChange, pickLocale, setLocale } from './i18n.js';
import { createJobsView } from './jobs.js';
import { settings } from './settings.js';
import { createSettingsDialog } from './settingsDialog.js';
import { createStatsView } from './stats.js';

const ENGINE = `query EngineStatus { engine { modelName synthetic ready } }`;
const STATUS_RETRY_MS = 3_000;
const STATUS_OF_ERROR = { MODEL_UNAVAILABLE: 'status.loading', UNAUTHENTICATED: 'status.keyNeeded' };

setLocale(pickLocale(settings.locale, navigator.languages ?? [navigator.language]));

// No reconnect needed for a new key: the socket closes whenever no stream runs, and each connect reads the key.
const settingsDialog = createSettingsDialog({
  onSaved: () => {
    chat.refresh();
    void showEngineStatus();
    route();
  },
});
const askForKey = () => settingsDialog.open({ keyRequired: true });
const api = createApi({ apiKey: () => settings.apiKey, onUnauthorized: askForKey });
const chat = createChatView({ api, onEnterKey: askForKey });
const stats = createStatsView({ api, onEnterKey: askForKey });
const jobs = createJobsView({ api, onEnterKey: askForKey });

onLocaleChange(() => {
  chat.relocalize();
  stats.relocalize();
  jobs.relocalize();
});

byId('locale-toggle').addEventListener('click', () => {
  settings.locale = locale() === 'zh' ? 'en' : 'zh';
  setLocale(settings.locale);
});
byId('settings-open').addEventListener('click', () => settingsDialog.open());

/** `#/chat`, `#/chat/<conversation id>`, `#/stats` or `#/jobs`. */
function route() {
  const [hashView = 'chat', id = null] = location.hash.replace(/^#\/?/, '').split('/');
  const view = ['stats', 'jobs'].includes(hashView) ? hashView : 'chat';
  for (const name of ['chat', 'stats', 'jobs']) {
    byId(`${name}-view`).hidden = view !== name;
    byId(`tab-${name}`).setAttribute('aria-selected', String(view === name));
  }
  byId('drawer-toggle').hidden = view !== 'chat';
  if (view === 'stats') void stats.show();
  else if (view === 'jobs') jobs.show();
  else chat.show(id ? decodeURIComponent(id) : null);
}

async function showEngineStatus() {
  const status = byId('model-status');
  try {
    const { engine } = await api.request(ENGINE);
    status.dataset.state = engine.ready ? 'ready' : 'loading';
    if (!engine.ready) {
      localize(status, 'status.loading');
      setTimeout(showEngineStatus, STATUS_RETRY_MS);
    } else localize(status, engine.synthetic ? 'status.synthetic' : 'status.ready', { model: engine.modelName });
  } catch (error) {
    status.dataset.state = 'error';
    localize(status, STATUS_OF_ERROR[error.code] ?? 'status.unreachable');
    if (error.code === 'MODEL_UNAVAILABLE') setTimeout(showEngineStatus, STATUS_RETRY_MS);
  }
}

window.addEventListener('hashchange', route);
route();
void chat.refresh();
void showEngineStatus();
document.body.dataset.ready = 'true';
