// The shape of `npm run rls:report`'s answer (also its --json output): plain data, so a test,
// the text formatter and any DBA tooling reading the JSON agree on one definition.
import type { Findings } from '../../src/db/posture.js'

/** The one method used, so a pg.Client, a pool client or a test double all fit. */
export interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
}

export type PolicyCommand = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'ALL'
/** The commands a policy is evaluated for (a FOR ALL policy counts for each of them). */
export type Command = Exclude<PolicyCommand, 'ALL'>
export type WriteCommand = Exclude<Command, 'SELECT'>

export interface PolicyReport {
  name: string
  command: PolicyCommand
  kind: 'permissive' | 'restrictive'
  /** Role names; 'PUBLIC' when the policy applies to every role. */
  roles: string[]
  using: string | null
  withCheck: string | null
  /**
   * The writes this permissive policy admits for any row (INSERT WITH CHECK true, UPDATE or
   * DELETE USING true, UPDATE WITH CHECK true, FOR ALL counting for each); [] for most policies.
   */
  openWrites: WriteCommand[]
  /** Why such an open write is intended, from scripts/rls-report/open-policies.ts; null when not listed (a finding). */
  openReason: string | null
}

/**
 * What one role gets from the policies for one command: PostgreSQL OR-s the permissive
 * policies that apply to the role (its own, those of the roles it inherits from, PUBLIC's, and
 * FOR ALL ones), then AND-s every restrictive one; no permissive policy at all denies every row.
 */
export interface EffectiveCheck {
  /** The permissive policies' expressions OR-ed; null when none applies, so no row passes. */
  permissive: string | null
  permissivePolicies: string[]
  /** The restrictive policies' expressions AND-ed; null when none applies. */
  restrictive: string | null
  restrictivePolicies: string[]
}

export interface EffectivePolicy {
  /** The role the expressions apply to. */
  role: string
  command: Command
  /** Whose policies those are: the role itself, roles it inherits the privileges of, 'PUBLIC'. */
  via: string[]
  /**
   * Existing rows the command may see or touch (SELECT, UPDATE, DELETE): each policy's USING.
   * null for INSERT, which has no existing row.
   */
  using: EffectiveCheck | null
  /**
   * New rows the command may write (INSERT, UPDATE): each policy's WITH CHECK, or its USING when
   * it has none. null for SELECT and DELETE. A statement that also reads the table (a WHERE
   * clause, RETURNING) must pass the SELECT entry's USING too, for old rows and new ones.
   */
  withCheck: EffectiveCheck | null
}

/** origin: fires normally; replica: only under session_replication_role = replica; always: both. */
export type TriggerEnabled = 'origin' | 'always' | 'replica' | 'disabled'

export interface TriggerReport {
  name: string
  /** Schema-qualified trigger function, e.g. app.audit_capture. */
  function: string
  /** What the trigger does for the audit trail, from its function. */
  role: 'change capture' | 'actor check' | 'chain seal' | 'chain guard' | 'append-only guard' | 'audit'
  timing: 'BEFORE' | 'AFTER' | 'INSTEAD OF'
  events: string[]
  level: 'row' | 'statement'
  arguments: string[]
  enabled: TriggerEnabled
}

export interface TableReport {
  schema: string
  name: string
  owner: string
  rlsEnabled: boolean
  rlsForced: boolean
  /**
   * A permanent table with a workspace_id column: a tenant table, which DESIGN.md says must be
   * forced and audited. UNLOGGED tables are emptied by a crash, so they hold no tenant's data,
   * only per-connection state (request_contexts names the workspace a connection acts in).
   */
  tenantKeyed: boolean
  policies: PolicyReport[]
  /**
   * Per role and command, what the policies add up to: for every role a policy names, the Gatehouse
   * group roles asked for and the table's owner, where RLS applies to it (not a superuser nor
   * BYPASSRLS; the owner only when FORCEd) and at least one policy applies. A role missing here
   * for a command, or an entry whose permissive is null, sees and writes nothing (fail closed).
   */
  effective: EffectivePolicy[]
  auditTriggers: TriggerReport[]
}

export interface DefinerFunctionReport {
  /** Schema-qualified name with argument types, e.g. app.begin_request(bytea, uuid, text, text, text). */
  signature: string
  kind: 'function' | 'procedure'
  returns: string | null
  language: string
  owner: string
  /** The search_path pinned by a SET clause, or null when the caller's search_path applies. */
  searchPath: string | null
  /** Every SET clause (proconfig), e.g. ['search_path=pg_catalog, pg_temp']. */
  config: string[]
  /** Roles granted EXECUTE ('PUBLIC' for everyone), the owner included. */
  executableBy: string[]
  comment: string | null
  /** Why it crosses tenants or users: its COMMENT before "Checks:". */
  purpose: string | null
  /** The rule it checks before it does: its COMMENT after "Checks:"; null without one (a finding). */
  checks: string | null
}

export interface RoleAttributes {
  login: boolean
  superuser: boolean
  bypassrls: boolean
  createrole: boolean
  createdb: boolean
  inherit: boolean
}

export interface RoleMember extends RoleAttributes {
  name: string
  /** Who granted it: PostgreSQL 16+ keeps one grant per grantor, so a member may be listed twice. */
  grantor: string
  /** WITH ADMIN OPTION: the member may grant the role on. */
  admin: boolean
  /** PostgreSQL 16+: the grant's INHERIT and SET options (null before 16, where INHERIT is the member's attribute). */
  inheritOption: boolean | null
  setOption: boolean | null
}

export interface RoleReport extends RoleAttributes {
  name: string
  exists: boolean
  memberOf: string[]
  members: RoleMember[]
}

export interface RlsReport {
  database: string
  serverVersion: string
  readAs: string
  readAt: string
  schemas: string[]
  tables: TableReport[]
  definerFunctions: DefinerFunctionReport[]
  roles: RoleReport[]
  /** Start-up's posture check (src/db/posture.ts) over the runtime logins and the sealed schemas' tables. */
  posture: Findings[]
}

export interface ReadOptions {
  /** Schemas whose tables are reported (default: public). */
  schemas?: string[]
  /** Roles whose attributes and members are reported (default: the two Gatehouse group roles). */
  roles?: string[]
  /** The intended open write policies (default: scripts/rls-report/open-policies.ts). */
  openPolicies?: readonly OpenPolicy[]
}

/** A write policy that admits any row on purpose, and why (scripts/rls-report/open-policies.ts). */
export interface OpenPolicy {
  /** Schema-qualified, e.g. public.rate_limits. */
  table: string
  /** The policy's name, exactly. */
  policy: string
  reason: string
}
