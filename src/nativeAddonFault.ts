// A native addon that cannot load (install script skipped, built for another Node): the one command that fixes it.
import path from 'node:path';

/** The addon whose `.node` file the message names, when it names none (better-sqlite3 is the one built at install). */
const DEFAULT_ADDON_PACKAGE = 'better-sqlite3';

const MISSING_BINDINGS = /Could not locate the bindings file|Cannot find module '[^']*\.node'/;
const ABI_MISMATCH = /NODE_MODULE_VERSION (\d+)\.\s+This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/;

/**
 * One line saying what to run when `error` is a native addon that failed to load; undefined for any other error.
 * npm's own advice for a version mismatch (`npm rebuild`) builds again for the Node that runs npm, which is the
 * mistake when the service runs on another Node binary. So the rebuild runs npm on this one (first on PATH: both
 * prebuild-install's download and node-gyp follow the Node running them) and compiles against this one's headers
 * (`npm_config_nodedir`, its folder, so nothing is downloaded for them).
 */
export function describeNativeAddonFault(error: unknown, execPath = process.execPath): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const mismatch = ABI_MISMATCH.exec(message);
  if (mismatch) {
    const addon = addonPackageOf(message);
    const binDir = path.dirname(execPath);
    return (
      `${addon}'s native addon was built for another Node.js ` +
      `(NODE_MODULE_VERSION ${mismatch[1]}, this one is ${mismatch[2]}); rebuild it for this one: ` +
      `PATH=${binDir}:$PATH npm_config_nodedir=${path.dirname(binDir)} npm rebuild ${addon}`
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
