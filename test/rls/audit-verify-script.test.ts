// `npm run audit:verify` end to end (scripts/audit-verify.ts as a child process, DATABASE_URL a
// superuser of this file's database): exit code 0 on an intact log, 1 naming the broken row after
// tampering, 2 when it cannot verify; progress on stderr once the log is larger than a batch.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { connect, createTestDatabase } from '../helpers/db.js'
import { auditChain, seedTenant, tamperAsSuperuser } from '../helpers/rls.js'

const db = await createTestDatabase(t)
const su = await connect(t, db.superUrl)
const root = fileURLToPath(new URL('../../', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function auditVerify(args: string[], databaseUrl = db.superUrl): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/audit-verify.ts'), ...args],
      { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }))
  })
}

t.test('an intact workspace exits 0; after a superuser edits a row, 1 and the row named', async (t) => {
  // Threat: a DBA's or CI's check of the log passes although a superuser has rewritten it.
  const tenant = await seedTenant(su, { contacts: 3 })
  const clean = await auditVerify([tenant.workspaceId])
  t.equal(clean.code, 0, 'exit code 0')
  t.match(clean.stdout, /1 chain\(s\), 4 row\(s\) checked/, 'the summary counts the rows')
  t.match(clean.stdout, /OK: every chain is intact/, 'and says so')

  const row = (await auditChain(su, tenant.workspaceId))[2]!
  await tamperAsSuperuser(su, `update audit_log set after = after || '{"name": "Someone else"}' where id = '${row.id}'`)
  const broken = await auditVerify([tenant.workspaceId])
  t.equal(broken.code, 1, 'exit code 1')
  t.match(broken.stdout, `BROKEN workspace ${tenant.workspaceId}: first broken row at chain_seq 3 (id ${row.id}): hash mismatch`,
    'names the chain, the row and why')
  t.match(broken.stdout, /FAILED: 1 of 1 chain\(s\) broken/, 'and fails')
  const whole = await auditVerify([])
  t.equal(whole.code, 1, 'a run over every chain fails too')
})

t.test('a log larger than a batch reports progress on stderr', async (t) => {
  // Threat: a long verification looks hung and is killed before it reaches the tampered rows.
  const tenant = await seedTenant(su, { contacts: 24 })
  const run = await auditVerify(['--batch-size=10', tenant.workspaceId])
  t.equal(run.code, 0, 'exit code 0')
  t.same(run.stderr.trim().split('\n'), [
    'audit:verify: 10/25 rows checked (40 %)',
    'audit:verify: 20/25 rows checked (80 %)',
    'audit:verify: 25/25 rows checked (100 %)',
  ], 'a line per batch')
  t.match(run.stdout, /1 chain\(s\), 25 row\(s\) checked/, 'every row checked')
})

t.test('the script refuses what it cannot verify', async (t) => {
  // Threat: a run that could not look at the log is mistaken for a clean one.
  const badId = await auditVerify(['not-a-uuid'])
  t.same([badId.code, badId.stderr.trim()], [2, 'audit:verify: not a workspace id: not-a-uuid'], 'a bad workspace id: exit code 2')
  const badOption = await auditVerify(['--batch-size=ten'])
  t.same([badOption.code, badOption.stderr.trim()], [2, 'usage: npm run audit:verify [--batch-size=N] [workspaceId]'], 'a bad option: exit code 2')
  const asRuntime = await auditVerify([], db.appUrl)
  t.equal(asRuntime.code, 2, 'the runtime login: exit code 2')
  t.match(asRuntime.stderr, /reads audit_log through row-level security and would see only part of it/, 'and why')
})
