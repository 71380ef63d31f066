// esbuild plugin: the modules of the named packages, compiled into a bundle, still see the file they are installed as
// in their `import.meta.url`, so the paths they build from it (a package's binaries, its package.json, a module it
// runs in a process of its own) point where they did before bundling.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

/** This module, an input of every bundle made with the plugin. */
export const KEEP_INSTALLED_LOCATION_MODULE = fileURLToPath(import.meta.url);

/** For a bundle written into `outdir` (every chunk of it there): each module's location relative to the bundle. */
export function keepInstalledLocation(packages: readonly string[], outdir: string): Plugin {
  const names = packages.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, (char) => `\\${char}`)).join('|');
  const filter = new RegExp(`[\\\\/]node_modules[\\\\/](?:${names})[\\\\/].*\\.m?js$`);
  return {
    name: 'keep-installed-location',
    setup(build) {
      build.onLoad({ filter }, async ({ path: file }) => {
        const source = await readFile(file, 'utf8');
        const installed = path.relative(outdir, file).split(path.sep).join('/');
        const located = `new URL(${JSON.stringify(installed)}, import.meta.url).href`;
        return { contents: source.replaceAll('import.meta.url', located), loader: 'js', resolveDir: path.dirname(file) };
      });
    },
  };
}
