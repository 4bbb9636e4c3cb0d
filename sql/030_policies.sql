-- =============================================================================================
-- Row-level security
--
-- Every table is ENABLEd and FORCEd: FORCE makes the owner obey the policies too, so a
-- migration or maintenance query run as the owner cannot silently read across tenants either.
-- Policies are permissive per command (one each for SELECT, INSERT, UPDATE, DELETE, named as a
-- sentence) plus, on tenant tables, restrictive write policies: the database's own approval and
-- trial gate (invariant 5), which holds even for a route that skips the HTTP gate hooks.
--
-- Policies name the role they apply to. Roles without a policy see nothing (fail closed).
-- app_privileged (the owner of the SECURITY DEFINER functions in sql/040) has explicit policies
-- on exactly the tables those functions touch.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- app.secure_tenant_table: the standard policy set for a table keyed by workspace_id.
-- Members act only inside the workspace of their transaction (app.workspace_id); writes also
-- need app.current_workspace_writable(). A new tenant table is secured with one call below.
-- ---------------------------------------------------------------------------------------------
create or replace procedure app.secure_tenant_table(tbl regclass, noun text)
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
    execute format('create policy %I on %s as %s for %s to app_runtime%s%s',
      format(p.name, noun), tbl, p.kind, p.cmd,
      case when p.using_expr is null then '' else format(' using (%s)', p.using_expr) end,
      case when p.check_expr is null then '' else format(' with check (%s)', p.check_expr) end);
  end loop;
end
$proc$;
revoke all on procedure app.secure_tenant_table(regclass, text) from public;

-- ---------------------------------------------------------------------------------------------
-- Tenant tables
-- ---------------------------------------------------------------------------------------------
call app.secure_tenant_table('public.contacts', 'contacts');
call app.secure_tenant_table('public.memberships', 'memberships');

-- Workspace creation and the request context read and write memberships across tenants.
drop policy if exists "privileged functions read every membership" on public.memberships;
create policy "privileged functions read every membership" on public.memberships
  for select to app_privileged using (true);
drop policy if exists "privileged functions add workspace owners" on public.memberships;
create policy "privileged functions add workspace owners" on public.memberships
  for insert to app_privileged with check (role = 'owner');

-- ---------------------------------------------------------------------------------------------
-- workspaces: members read their own; every change goes through privileged functions.
-- ---------------------------------------------------------------------------------------------
alter table public.workspaces enable row level security;
alter table public.workspaces force row level security;
drop policy if exists "members read their own workspace" on public.workspaces;
create policy "members read their own workspace" on public.workspaces
  for select to app_runtime using (id = (select app.current_workspace_id()));
drop policy if exists "privileged functions read every workspace" on public.workspaces;
create policy "privileged functions read every workspace" on public.workspaces
  for select to app_privileged using (true);
drop policy if exists "privileged functions create workspaces" on public.workspaces;
create policy "privileged functions create workspaces" on public.workspaces
  for insert to app_privileged with check (status = 'pending_approval');
drop policy if exists "privileged functions change workspace state" on public.workspaces;
create policy "privileged functions change workspace state" on public.workspaces
  for update to app_privileged using (true) with check (true);

-- ---------------------------------------------------------------------------------------------
-- users: a user reads and edits only themselves. Registration inserts the row after setting
-- app.user_id to the new id, so the same policy covers it. A new row is always unverified: only
-- app.consume_email_token marks an address verified (a verified address can be a platform admin).
-- ---------------------------------------------------------------------------------------------
alter table public.users enable row level security;
alter table public.users force row level security;
drop policy if exists "users read themselves" on public.users;
create policy "users read themselves" on public.users
  for select to app_runtime using (id = (select app.current_user_id()));
drop policy if exists "users register themselves" on public.users;
create policy "users register themselves" on public.users
  for insert to app_runtime with check (id = (select app.current_user_id()) and email_verified_at is null);
drop policy if exists "users change themselves" on public.users;
create policy "users change themselves" on public.users
  for update to app_runtime using (id = (select app.current_user_id())) with check (id = (select app.current_user_id()));
drop policy if exists "privileged functions read every user" on public.users;
create policy "privileged functions read every user" on public.users
  for select to app_privileged using (true);
drop policy if exists "privileged functions mark emails verified" on public.users;
create policy "privileged functions mark emails verified" on public.users
  for update to app_privileged using (true) with check (true);

-- ---------------------------------------------------------------------------------------------
-- sessions: a user reads, creates and revokes only their own sessions.
-- ---------------------------------------------------------------------------------------------
alter table public.sessions enable row level security;
alter table public.sessions force row level security;
drop policy if exists "users read their own sessions" on public.sessions;
create policy "users read their own sessions" on public.sessions
  for select to app_runtime using (user_id = (select app.current_user_id()));
drop policy if exists "users open their own sessions" on public.sessions;
create policy "users open their own sessions" on public.sessions
  for insert to app_runtime with check (user_id = (select app.current_user_id()));
drop policy if exists "users revoke their own sessions" on public.sessions;
-- (The runtime may only UPDATE revoked_at, and only to a time: a revoked session stays revoked.)
create policy "users revoke their own sessions" on public.sessions
  for update to app_runtime using (user_id = (select app.current_user_id()))
  with check (user_id = (select app.current_user_id()) and revoked_at is not null);
drop policy if exists "privileged functions look sessions up by token" on public.sessions;
create policy "privileged functions look sessions up by token" on public.sessions
  for select to app_privileged using (true);
drop policy if exists "privileged functions record session activity" on public.sessions;
create policy "privileged functions record session activity" on public.sessions
  for update to app_privileged using (true) with check (true);
-- app.reissue_session (sql/040) opens the replacement of a session marked by a role change.
drop policy if exists "privileged functions re-issue sessions" on public.sessions;
create policy "privileged functions re-issue sessions" on public.sessions
  for insert to app_privileged with check (revoked_at is null and replaced_by is null);

-- ---------------------------------------------------------------------------------------------
-- email_tokens: issued for the current user; consumed only through app.consume_email_token,
-- since the person clicking a link need not be signed in.
-- ---------------------------------------------------------------------------------------------
alter table public.email_tokens enable row level security;
alter table public.email_tokens force row level security;
drop policy if exists "users read their own email tokens" on public.email_tokens;
create policy "users read their own email tokens" on public.email_tokens
  for select to app_runtime using (user_id = (select app.current_user_id()));
drop policy if exists "users are issued their own email tokens" on public.email_tokens;
create policy "users are issued their own email tokens" on public.email_tokens
  for insert to app_runtime with check (user_id = (select app.current_user_id()));
drop policy if exists "privileged functions find email tokens" on public.email_tokens;
create policy "privileged functions find email tokens" on public.email_tokens
  for select to app_privileged using (true);
drop policy if exists "privileged functions issue reset tokens" on public.email_tokens;
create policy "privileged functions issue reset tokens" on public.email_tokens
  for insert to app_privileged with check (purpose = 'reset_password' and used_at is null);
drop policy if exists "privileged functions consume email tokens" on public.email_tokens;
create policy "privileged functions consume email tokens" on public.email_tokens
  for update to app_privileged using (true) with check (true);

-- ---------------------------------------------------------------------------------------------
-- email_outbox: the service queues emails but cannot read them back; the outbox worker runs
-- as the owner (not forced here, so the owner's worker is not subject to these policies).
-- ---------------------------------------------------------------------------------------------
alter table public.email_outbox enable row level security;
drop policy if exists "the service queues emails" on public.email_outbox;
create policy "the service queues emails" on public.email_outbox
  for insert to app_runtime with check (status = 'pending');
