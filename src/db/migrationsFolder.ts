// Where each dialect's generated migrations live: resolved from this module, not the working directory, so the CLI
// works from any folder (two folders below the root, like dist/service/ for the bundled service).
import { fileURLToPath } from 'node:url';

export function migrationsFolder(dialect: 'sqlite' | 'postgres'): string {
  return fileURLToPath(new URL(`../../migrations/${dialect}`, import.meta.url));
}
