// The shape of `npm run rls:report`'s answer (also its --json output): plain data, so a test,
// the text formatter and any DBA tooling reading the JSON agree on one definition.

/** The one method used, so a pg.Client, a pool client or a test double all fit. */
export interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
}

export type PolicyCommand = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'ALL'

export interface PolicyReport {
  name: string
  command: PolicyCommand
  kind: 'permissive' | 'restrictive'
  /** Role names; 'PUBLIC' when the policy applies to every role. */
  roles: string[]
  using: string | null
  withCheck: string | null
}

/** origin: fires normally; replica: only under session_replication_role = replica; always: both. */
export type TriggerEnabled = 'origin' | 'always' | 'replica' | 'disabled'

export interface TriggerReport {
  name: string
  /** Schema-qualified trigger function, e.g. app.audit_capture. */
  function: string
  /** What the trigger does for the audit trail, from its function. */
  role: 'change capture' | 'actor check' | 'chain seal' | 'append-only guard' | 'audit'
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
  /** Has a workspace_id column: a tenant table, which DESIGN.md says must be forced and audited. */
  tenantKeyed: boolean
  policies: PolicyReport[]
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
}

export interface ReadOptions {
  /** Schemas whose tables are reported (default: public). */
  schemas?: string[]
  /** Roles whose attributes and members are reported (default: the two Gatehouse group roles). */
  roles?: string[]
}
