// The write policies that admit any row (`true`) on purpose, each with the reason it is safe.
// This is the one list: the catalogue lint (test/rls/catalogue.test.ts) fails on any other
// `true` write policy (INSERT WITH CHECK, UPDATE or DELETE USING, UPDATE WITH CHECK, FOR ALL
// counting for each), and on an entry here that no longer matches one; `npm run rls:report`
// prints the reason next to the policy and reports an unlisted one as a finding.
//
// Adding an entry is a design decision, not a way to silence the lint: a `true` write policy
// trusts whoever may write the table with every row of it, so the reason must say what checks
// the write instead (a SECURITY DEFINER function's own rule, a trigger, a grant) and why no
// policy expression can.
import type { OpenPolicy } from './types.js'

/** Shared by the limiter's policies on both of its tables (sql/170). */
const LIMITER =
  'the limiter runs before anyone is identified, so there is no sealed user or workspace to scope a counter by ' +
  '(a counter belongs to a client IP, an email hash or a user, never a tenant); the runtime holds no privilege on the table ' +
  'and reaches it only through app.rate_limit_hit, app.rate_limit_refund and app.rate_limit_sweep'

export const OPEN_POLICIES: readonly OpenPolicy[] = [
  {
    table: 'public.audit_chain_heads',
    policy: 'privileged functions advance chains',
    reason:
      'a chain head moves with every sealed row of any chain (app.audit_advance), and whether a move is right needs the log itself: ' +
      'the ENABLE ALWAYS trigger app.audit_chain_head_guard lets a head advance only by one, to a row sealed in the log and chained ' +
      'to the old head, for every role, the schema owner included (sql/050)',
  },
  {
    table: 'public.audit_log',
    policy: 'privileged functions append audit rows',
    reason:
      'the definer functions append to every tenant\'s chain and the platform\'s (app.audit_append, app.audit_capture); the runtime ' +
      'holds no INSERT privilege, and the ENABLE ALWAYS trigger app.audit_seal overwrites the actor, request metadata, chain position, ' +
      'hashes, time and db_role from the sealed context, so none of them is taken from the inserted row (sql/050)',
  },
  {
    table: 'public.security_events',
    policy: 'privileged functions record refusals',
    reason:
      'app.record_security_event records refusals of any user and workspace; the runtime holds no INSERT privilege, and the ' +
      'function takes the user from a live session\'s token hash and the target account from the address, never from an ' +
      'argument naming a user, accepts only the recorded refusal codes and bounds the rate (sql/060)',
  },
  {
    table: 'public.database_secrets',
    policy: "the migrations generate the database's secrets",
    reason:
      'the policy names only the schema owner (the migrating login): sql/020 generates each secret once from the server\'s ' +
      'random source, ON CONFLICT DO NOTHING; the secrets belong to the database, not to a tenant, no definer function can write ' +
      'them, the runtime holds no privilege on them, and no policy lets an existing one change',
  },
  {
    table: 'public.permissions',
    policy: 'the migrations write the permission catalogue',
    reason:
      'the policy names only the schema owner (the migrating login): the permission catalogue belongs to no tenant and is ' +
      'rewritten from src/rbac/permissions.ts by app.sync_role_permissions, run with the owner\'s own rights at every migration ' +
      '(granted to nobody); the runtime holds no privilege on it and no definer function can add a permission (sql/125)',
  },
  {
    table: 'public.permissions',
    policy: 'the migrations rewrite the permission catalogue',
    reason:
      'the policy names only the schema owner (the migrating login): app.sync_role_permissions, run with the owner\'s own rights at ' +
      'every migration (granted to nobody), updates a permission\'s description from src/rbac/permissions.ts; the runtime holds no ' +
      'privilege on the catalogue and no definer function can change a permission (sql/125)',
  },
  {
    table: 'public.permissions',
    policy: 'the migrations retire permissions',
    reason:
      'the policy names only the schema owner (the migrating login): app.sync_role_permissions, run with the owner\'s own rights at ' +
      'every migration (granted to nobody), deletes a permission no longer in src/rbac/permissions.ts, which at once stops counting ' +
      'in every custom role (app.role_permissions_of reads them through the catalogue); no definer function can retire one (sql/125)',
  },
  {
    table: 'public.platform_admins',
    policy: 'a listed address is granted only to its verified account',
    reason:
      'USING true: the start-up sync and app.grant_listed_platform_admin (run when an address becomes verified) may pick any ' +
      'listed address, which belongs to no tenant; WITH CHECK admits only an ungranted row or a grant to the verified account ' +
      'holding that address (sql/120)',
  },
  {
    table: 'public.platform_admins',
    policy: 'the start-up sync removes addresses no longer listed',
    reason:
      'the policy names only the schema owner (the migrating login): the list is PLATFORM_ADMIN_EMAILS, made exact at start-up by ' +
      'app.sync_platform_admins, run with the owner\'s own rights (granted to nobody); every address no longer listed goes, and a ' +
      'removed grant is audited; no definer function can remove one (sql/120)',
  },
  {
    table: 'public.rate_limit_refunds',
    policy: 'the limiter issues refund tickets',
    reason: `${LIMITER}; app.rate_limit_hit stores the SHA-256 of a ticket it has just drawn at random, for the hit it counts`,
  },
  {
    table: 'public.rate_limit_refunds',
    policy: 'the limiter spends and sweeps refund tickets',
    reason:
      `${LIMITER}; app.rate_limit_refund deletes a ticket only given the ticket itself (its hash names the row), ` +
      "app.rate_limit_sweep only tickets expired by the database's clock",
  },
  {
    table: 'public.rate_limits',
    policy: 'the limiter starts rate-limit counters',
    reason: `${LIMITER}; app.rate_limit_hit starts a counter at one hit`,
  },
  {
    table: 'public.rate_limits',
    policy: 'the limiter counts and refunds in rate-limit counters',
    reason:
      `${LIMITER}; only the count column is granted: app.rate_limit_hit adds one, app.rate_limit_refund takes one back ` +
      'against the ticket of that very hit',
  },
  {
    table: 'public.rate_limits',
    policy: 'the limiter sweeps expired rate-limit counters',
    reason: `${LIMITER}; app.rate_limit_sweep deletes only counters expired by the database's own clock, never live ones`,
  },
  {
    table: 'public.role_permissions',
    policy: 'the migrations write the role catalogue',
    reason:
      "the policy names only the schema owner (the migrating login): the built-in roles' permissions belong to no tenant and are " +
      'rewritten whole from src/rbac/permissions.ts by app.sync_role_permissions, run with the owner\'s own rights at every ' +
      'migration (granted to nobody); no definer function can change what a role may do (sql/125)',
  },
  {
    table: 'public.role_permissions',
    policy: 'the migrations rewrite the role catalogue',
    reason:
      "the policy names only the schema owner (the migrating login): the built-in roles' permissions belong to no tenant and are " +
      'rewritten whole from src/rbac/permissions.ts by app.sync_role_permissions, run with the owner\'s own rights at every ' +
      'migration (granted to nobody); no definer function can change what a role may do (sql/125)',
  },
]

/** The reason `policy` on `table` (schema-qualified) may admit any row, or null when it is not listed. */
export function openPolicyReason(table: string, policy: string, list: readonly OpenPolicy[] = OPEN_POLICIES): string | null {
  return list.find((o) => o.table === table && o.policy === policy)?.reason ?? null
}
