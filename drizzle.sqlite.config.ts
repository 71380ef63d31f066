// drizzle-kit settings for SQLite: where its schema lives and where its generated SQL migrations go.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/sqlite/schema.ts',
  out: './migrations/sqlite',
});
