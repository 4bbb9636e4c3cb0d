// drizzle-kit generates migrations/ from src/db/schema. Row-level security, functions and grants
// live in sql/ (hand-written, re-runnable, commented for DBAs) and are applied after migrations.
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
  strict: true,
})
