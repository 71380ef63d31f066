// The settings dialog: the API key (asked for when the server refuses the request) and the longest reply.
import { byId } from './dom.js';
import { settings } from './settings.js';

/** `onSaved()` runs after a save, so the page can reconnect with the new key and reload what failed. */
export function createSettingsDialog({ onSaved }) {
  const dialog = byId('settings-dialog');
  const form = byId('settings-form');
  const apiKey = byId('api-key');
  const maxTokens = byId('max-tokens');
  const reason = byId('settings-reason');

  function open({ keyRequired = false } = {}) {
    reason.hidden = !keyRequired;
    if (dialog.open) return;
    apiKey.value = settings.apiKey;
    maxTokens.value = settings.maxTokens ?? '';
    dialog.showModal();
    (keyRequired ? apiKey : form.querySelector('input')).focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const tokens = Number(maxTokens.value);
    settings.apiKey = apiKey.value;
    settings.maxTokens = maxTokens.value.trim() !== '' && Number.isInteger(tokens) && tokens > 0 ? tokens : null;
    dialog.close();
    onSaved();
  });
  byId('settings-cancel').addEventListener('click', () => dialog.close());

  return { open };
}
