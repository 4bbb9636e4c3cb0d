// The drizzle schema (src/db/schema) against the migrated database: every table it declares
// exists with every column and every foreign key it declares (the columns and the table they
// point at), so a query typed from the schema never names what the migrations did not make, and
// a foreign key edited in one place only is caught here rather than by drizzle-kit's next diff.
import t from 'tap'
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core'
import * as schema from '../../src/db/schema/index.js'
import { connect, createTestDatabase } from '../helpers/db.js'
import { rows } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const tables: PgTable[] = (Object.values(schema) as unknown[]).filter((v): v is PgTable => v instanceof PgTable)

t.test('every declared table, column and foreign key is in the database', async (t) => {
  t.ok(tables.length >= 20, 'the schema declares the tables')
  for (const table of tables) {
    const config = getTableConfig(table)
    const columns = (await rows<{ name: string }>(su,
      `select attname as name from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped`, [`public.${config.name}`]))
      .map((r) => r.name)
    t.same(config.columns.map((c) => c.name).filter((c) => !columns.includes(c)), [], `${config.name}: every column`)
    const keys = await rows<{ columns: string[]; target: string; target_columns: string[] }>(su,
      `select array(select a.attname::text from unnest(c.conkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i) as columns,
              c.confrelid::regclass::text as target,
              array(select a.attname::text from unnest(c.confkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i) as target_columns
         from pg_constraint c where c.conrelid = $1::regclass and c.contype = 'f'`, [`public.${config.name}`])
    for (const fk of config.foreignKeys) {
      const ref = fk.reference()
      const wanted = { columns: ref.columns.map((c) => c.name), target: getTableConfig(ref.foreignTable).name, target_columns: ref.foreignColumns.map((c) => c.name) }
      t.ok(keys.some((k) => JSON.stringify(k) === JSON.stringify(wanted)), `${config.name} (${wanted.columns.join(', ')}) → ${wanted.target}`)
    }
  }
})
