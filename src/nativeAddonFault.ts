// Turns a native addon that cannot load (install script skipped, built for another Node) into the one command that fixes it.
import path from 'node:path';

/** The addon whose `.node` file the message names, when it names none (better-sqlite3 is the one built at install). */
const DEFAULT_ADDON_PACKAGE = 'better-sqlite3';

const MISSING_BINDINGS = /Could not locate the bindings file|Cannot find module '[^']*\.node'/;
const ABI_MISMATCH = /NODE_MODULE_VERSION (\d+)\.\s+This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/;

/**
 * One line saying what to run when `error` is a native addon that failed to load; undefined for any other error.
 * npm's own advice for a version mismatch (`npm rebuild`) builds again against the headers of the Node that runs
 * npm, which is the mistake when the service runs on another Node binary, so the line names this one's folder.
 */
export function describeNativeAddonFault(error: unknown, execPath = process.execPath): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const mismatch = ABI_MISMATCH.exec(message);
  if (mismatch) {
    const addon = addonPackageOf(message);
    const nodeDir = path.dirname(path.dirname(execPath));
    return (
      `${addon}'s native addon was built for another Node.js (NODE_MODULE_VERSION ${mismatch[1]}, this one is ${mismatch[2]}); ` +
      `rebuild it against this Node's headers: npm_config_nodedir=${nodeDir} npm rebuild ${addon}`
    );
  }
  if (MISSING_BINDINGS.test(message)) {
    const addon = addonPackageOf(message);
    return `${addon}'s native addon is missing (its install script did not run); run: npm rebuild ${addon}`;
  }
  return undefined;
}

/** The package a `.node` path in the message belongs to: the folder after its last `node_modules/`. */
function addonPackageOf(message: string): string {
  const found = /node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\/(?:(?!node_modules\/)[^\s'])*\.node/.exec(message);
  return found?.[1] ?? DEFAULT_ADDON_PACKAGE;
}
