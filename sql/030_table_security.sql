-- =============================================================================================
-- Table security: the rules every table file follows, and the helpers for the standard policies
--
-- From here on, each file secures its tables whole, as a DBA reads them: ENABLE and FORCE row-
-- level security, the table's privileges, its policies, then the functions and triggers that
-- read or write it, each function with its GRANT right below it. 050_audit.sql comes first (every
-- other file writes to the trail, and captures its business tables' changes with one call), then
-- one file per table or feature: 100_accounts (users, email_tokens), 110_sessions, 120_workspaces
-- (workspaces, platform_admins), 130_members (memberships, role_permissions), 140_invites,
-- 150_contacts, 160_outbox, 170_rate_limits, 180_mfa (user_mfa, mfa_backup_codes,
-- mfa_challenges).
--
-- Every file is re-run at every start-up, on a live database, in name order. So: a policy calls
-- only functions of its own file or an earlier one; a function a policy or trigger uses is
-- CREATE OR REPLACEd, never dropped (DROP FUNCTION would fail on the dependent policy); and a
-- file applies whole or not at all (src/db/migrate.ts sends each as one implicit transaction).
--
-- Row-level security. Every table is ENABLEd and FORCEd: FORCE makes the owner obey the
-- policies too, so a migration or maintenance query run as the owner cannot silently read across
-- tenants either. Each role has at most one permissive policy per table and command (permissive
-- policies are OR-ed, so a second one silently widens the first; the catalogue lint in test/rls
-- refuses it), named as a sentence; tenant tables add restrictive write policies: the database's
-- own approval and trial gate (invariant 5), which holds even for a route that skips the HTTP
-- gate hooks.
--
-- Policies name the role they apply to. Roles without a policy see nothing (fail closed).
-- app_privileged (the owner of the SECURITY DEFINER functions) has policies on exactly the
-- tables those functions touch, and its write policies are tied to the sealed context wherever
-- the function acts for the verified user: a definer function that seals user A cannot write
-- user B's row even by mistake. The few write policies that are `true` are listed, with the
-- reason for each, in scripts/rls-report/open-policies.ts (the lint fails on any other).
--
-- Privileges. Table privileges are the outer fence, policies the inner one. app_runtime gets only
-- the commands and columns the service uses itself; everything that authenticates someone, grants
-- access or touches a credential is a privileged function's. In particular the runtime may not
-- read any hash or sealed secret but its own TOTP envelope (which only the service's key opens),
-- may not write a password hash, MFA secret, backup code, membership, invitation or session (it
-- may revoke its own sessions), and may not write the request context it acts under. Each table's
-- privileges stand right after its ENABLE/FORCE: revoked from the four group roles and granted
-- again, in the file that secures the table, so in the same transaction as its policies: the
-- file stays re-runnable, and a running instance never sees the table without its grants.
--
-- Privileged functions. The SECURITY DEFINER functions of the table files are the short list of
-- paths that cross the per-user or per-tenant policies. Each one: owned by app_privileged (the
-- outbox worker's by app_mailer), NOLOGIN roles with policies of their own; SET search_path =
-- pg_catalog, pg_temp with fully qualified names (so a caller cannot plant objects that shadow
-- ours); EXECUTE revoked from PUBLIC and granted to app_runtime only where the service calls it;
-- and a comment saying why it must cross and what it checks ("Checks: …", which
-- `npm run rls:report` lists). Each authorises from what it verified itself — a token hash, a
-- password proof, the sealed context — never from an argument naming a user or a workspace.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- app.secure_tenant_table: the standard policy set for a table keyed by workspace_id.
-- Members act only inside the workspace of their transaction; writes also need
-- app.current_workspace_writable(). `commands` lists what the runtime may do itself (the table's
-- grants say the same); other commands get no runtime policy and go through privileged
-- functions. A new tenant table is secured with one call.
-- ---------------------------------------------------------------------------------------------
drop procedure if exists app.secure_tenant_table(regclass, text);
create or replace procedure app.secure_tenant_table(tbl regclass, noun text, commands text[] default array['select', 'insert', 'update', 'delete'])
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $proc$
declare
  same_tenant constant text := 'workspace_id = (select app.current_workspace_id())';
  writable constant text := '(select app.current_workspace_writable())';
  p record;
begin
  execute format('alter table %s enable row level security', tbl);
  execute format('alter table %s force row level security', tbl);
  for p in
    select * from (values
      ('members read their workspace''s %s',             'select', 'permissive',  same_tenant, null),
      ('members add %s to their workspace',              'insert', 'permissive',  null,        same_tenant),
      ('members change their workspace''s %s',           'update', 'permissive',  same_tenant, same_tenant),
      ('members delete their workspace''s %s',           'delete', 'permissive',  same_tenant, null),
      ('%s are added only to an active, paid-up workspace',   'insert', 'restrictive', null,     writable),
      ('%s are changed only in an active, paid-up workspace', 'update', 'restrictive', writable, writable),
      ('%s are deleted only in an active, paid-up workspace', 'delete', 'restrictive', writable, null)
    ) as v(name, cmd, kind, using_expr, check_expr)
  loop
    execute format('drop policy if exists %I on %s', format(p.name, noun), tbl);
    continue when not (p.cmd = any (commands));
    execute format('create policy %I on %s as %s for %s to app_runtime%s%s',
      format(p.name, noun), tbl, p.kind, p.cmd,
      case when p.using_expr is null then '' else format(' using (%s)', p.using_expr) end,
      case when p.check_expr is null then '' else format(' with check (%s)', p.check_expr) end);
  end loop;
end
$proc$;
revoke all on procedure app.secure_tenant_table(regclass, text, text[]) from public;

-- ---------------------------------------------------------------------------------------------
-- app.secure_user_table: the standard policy set for a table keyed by the signed-in user
-- (user_id): a person's own rows, which belong to no tenant (their MFA settings, their backup
-- codes). The runtime acts only on the rows of the user its transaction sealed; no workspace's
-- state gates them, since they are not a workspace's. `commands` lists what the runtime may do
-- itself (the table's grants say the same); other commands get no runtime policy and go through
-- privileged functions. A new per-user table is secured with one call.
-- ---------------------------------------------------------------------------------------------
create or replace procedure app.secure_user_table(tbl regclass, noun text, commands text[] default array['select', 'insert', 'update', 'delete'])
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $proc$
declare
  -- A session's user: an API token's request acts for its creator in a workspace, never on the
  -- creator's own rows (app.current_account_id, sql/020).
  same_user constant text := 'user_id = (select app.current_account_id())';
  p record;
begin
  execute format('alter table %s enable row level security', tbl);
  execute format('alter table %s force row level security', tbl);
  for p in
    select * from (values
      ('users read their own %s',   'select', same_user, null),
      ('users add their own %s',    'insert', null,      same_user),
      ('users change their own %s', 'update', same_user, same_user),
      ('users delete their own %s', 'delete', same_user, null)
    ) as v(name, cmd, using_expr, check_expr)
  loop
    execute format('drop policy if exists %I on %s', format(p.name, noun), tbl);
    continue when not (p.cmd = any (commands));
    execute format('create policy %I on %s for %s to app_runtime%s%s',
      format(p.name, noun), tbl, p.cmd,
      case when p.using_expr is null then '' else format(' using (%s)', p.using_expr) end,
      case when p.check_expr is null then '' else format(' with check (%s)', p.check_expr) end);
  end loop;
end
$proc$;
revoke all on procedure app.secure_user_table(regclass, text, text[]) from public;
