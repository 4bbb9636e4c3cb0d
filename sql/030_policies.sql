-- =============================================================================================
-- Row-level security
--
-- Every table is ENABLEd and FORCEd: FORCE makes the owner obey the policies too, so a
-- migration or maintenance query run as the owner cannot silently read across tenants either.
-- Each role has at most one permissive policy per table and command (permissive policies are
-- OR-ed, so a second one silently widens the first; the catalogue lint in test/rls refuses it),
-- named as a sentence; tenant tables add restrictive write policies: the database's own approval
-- and trial gate (invariant 5), which holds even for a route that skips the HTTP gate hooks.
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
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- app.secure_tenant_table: the standard policy set for a table keyed by workspace_id.
-- Members act only inside the workspace of their transaction; writes also need
-- app.current_workspace_writable(). `commands` lists what the runtime may do itself (the grants
-- in sql/090 say the same); other commands get no runtime policy and go through privileged
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
  same_user constant text := 'user_id = (select app.current_user_id())';
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

-- Whether `p_user_id` belongs to the request's workspace: the sessions a role change there may
-- mark for re-issue (sql/080). Runs as the privileged functions' owner, which reads memberships.
create or replace function app.is_current_workspace_member(p_user_id uuid) returns boolean
  language plpgsql stable
as $$
begin
  return exists (select 1 from public.memberships m where m.workspace_id = app.current_workspace_id() and m.user_id = p_user_id);
end
$$;
revoke all on function app.is_current_workspace_member(uuid) from public;
grant execute on function app.is_current_workspace_member(uuid) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- contacts: business data, written by members directly under the tenant policies.
-- ---------------------------------------------------------------------------------------------
call app.secure_tenant_table('public.contacts', 'contacts');
revoke all on public.contacts from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert, update, delete on public.contacts to app_runtime;
grant select (workspace_id, owner_id) on public.contacts to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- memberships: members read their workspace's; every change goes through a privileged function
-- that checks the rules in the database (sql/080: nobody grants what they do not hold, the
-- last owner stays; sql/040 creation, sql/085 invitations).
-- ---------------------------------------------------------------------------------------------
call app.secure_tenant_table('public.memberships', 'memberships', array['select']);
revoke all on public.memberships from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.memberships to app_runtime;
grant select, insert, delete on public.memberships to app_privileged;
grant update (role) on public.memberships to app_privileged;

-- Retired (the second one OR-ed `true` into the first, so any role could be inserted).
drop policy if exists "privileged functions add workspace owners" on public.memberships;
drop policy if exists "privileged functions add accepted invitees" on public.memberships;

-- Whether a membership of (workspace, user, role) is being granted right now, in this very
-- transaction, to the verified user: as the owner of the workspace they just created, or with the
-- role of the invitation they just accepted. The two ways anyone joins a workspace.
create or replace function app.membership_is_being_granted(p_workspace_id uuid, p_user_id uuid, p_role text)
  returns boolean
  language sql stable
  set search_path = pg_catalog, pg_temp
as $$
  select p_user_id = app.current_user_id() and (
    exists (select 1 from public.workspaces w
             where w.id = p_workspace_id and w.owner_id = p_user_id and p_role = 'owner' and w.created_at = pg_catalog.now())
    or exists (select 1 from public.workspace_invites i
                where i.workspace_id = p_workspace_id and i.accepted_by = p_user_id and i.role = p_role
                  and i.accepted_at = pg_catalog.now()))
$$;
revoke all on function app.membership_is_being_granted(uuid, uuid, text) from public;
grant execute on function app.membership_is_being_granted(uuid, uuid, text) to app_privileged;

drop policy if exists "privileged functions read every membership" on public.memberships;
create policy "privileged functions read every membership" on public.memberships
  for select to app_privileged using (true);
drop policy if exists "privileged functions add a workspace's creator or an invitee" on public.memberships;
create policy "privileged functions add a workspace's creator or an invitee" on public.memberships
  for insert to app_privileged with check (app.membership_is_being_granted(workspace_id, user_id, role));
drop policy if exists "privileged functions change roles in the request's workspace" on public.memberships;
create policy "privileged functions change roles in the request's workspace" on public.memberships
  for update to app_privileged
  using (workspace_id = (select app.current_workspace_id()))
  with check (workspace_id = (select app.current_workspace_id()));
drop policy if exists "privileged functions remove members of the request's workspace" on public.memberships;
create policy "privileged functions remove members of the request's workspace" on public.memberships
  for delete to app_privileged using (workspace_id = (select app.current_workspace_id()));

-- ---------------------------------------------------------------------------------------------
-- workspaces: members read their own; creation and state changes go through privileged
-- functions: a new workspace belongs to the verified user, and only a platform administrator
-- (sql/040) changes a workspace's state.
-- ---------------------------------------------------------------------------------------------
alter table public.workspaces enable row level security;
alter table public.workspaces force row level security;
revoke all on public.workspaces from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.workspaces to app_runtime;
grant select, insert, update on public.workspaces to app_privileged;
drop policy if exists "members read their own workspace" on public.workspaces;
create policy "members read their own workspace" on public.workspaces
  for select to app_runtime using (id = (select app.current_workspace_id()));
drop policy if exists "privileged functions read every workspace" on public.workspaces;
create policy "privileged functions read every workspace" on public.workspaces
  for select to app_privileged using (true);
drop policy if exists "privileged functions create workspaces" on public.workspaces;
create policy "privileged functions create workspaces" on public.workspaces
  for insert to app_privileged with check (status = 'pending_approval' and owner_id = (select app.current_user_id()));
drop policy if exists "privileged functions change workspace state" on public.workspaces;
drop policy if exists "platform administrators change workspace state" on public.workspaces;
create policy "platform administrators change workspace state" on public.workspaces
  for update to app_privileged
  using ((select app.current_user_is_platform_admin()))
  with check ((select app.current_user_is_platform_admin()));

-- ---------------------------------------------------------------------------------------------
-- users: a user reads themselves. Registration, verification and every password change go
-- through privileged functions, which write only the row of the user they sealed.
-- ---------------------------------------------------------------------------------------------
alter table public.users enable row level security;
alter table public.users force row level security;
revoke all on public.users from app_runtime, app_privileged, app_mailer, app_auditor;
grant select (id, email, name, email_verified_at, created_at, updated_at) on public.users to app_runtime;
grant update (name, updated_at) on public.users to app_runtime;
grant select, insert on public.users to app_privileged;
grant update (password_hash, email_verified_at, updated_at) on public.users to app_privileged;
drop policy if exists "users read themselves" on public.users;
create policy "users read themselves" on public.users
  for select to app_runtime using (id = (select app.current_user_id()));
drop policy if exists "users register themselves" on public.users;
drop policy if exists "users change themselves" on public.users;
create policy "users change themselves" on public.users
  for update to app_runtime using (id = (select app.current_user_id())) with check (id = (select app.current_user_id()));
drop policy if exists "privileged functions read every user" on public.users;
create policy "privileged functions read every user" on public.users
  for select to app_privileged using (true);
drop policy if exists "privileged functions register the sealed user" on public.users;
create policy "privileged functions register the sealed user" on public.users
  for insert to app_privileged with check (id = (select app.current_user_id()) and email_verified_at is null);
drop policy if exists "privileged functions mark emails verified" on public.users;
drop policy if exists "privileged functions change the sealed user" on public.users;
create policy "privileged functions change the sealed user" on public.users
  for update to app_privileged
  using (id = (select app.current_user_id()))
  with check (id = (select app.current_user_id()));

-- ---------------------------------------------------------------------------------------------
-- sessions: a user reads and revokes only their own sessions; sessions are opened by the
-- privileged functions that verified a password, a second factor or a re-issue.
-- ---------------------------------------------------------------------------------------------
alter table public.sessions enable row level security;
alter table public.sessions force row level security;
revoke all on public.sessions from app_runtime, app_privileged, app_mailer, app_auditor;
grant select (id, user_id, created_at, last_seen_at, expires_at, idle_timeout_seconds, ip, user_agent, revoked_at)
  on public.sessions to app_runtime;
grant update (revoked_at) on public.sessions to app_runtime;
grant select, insert on public.sessions to app_privileged;
grant update (last_seen_at, revoked_at, reissue_required, replaced_by) on public.sessions to app_privileged;
drop policy if exists "users read their own sessions" on public.sessions;
create policy "users read their own sessions" on public.sessions
  for select to app_runtime using (user_id = (select app.current_user_id()));
drop policy if exists "users open their own sessions" on public.sessions;
drop policy if exists "users revoke their own sessions" on public.sessions;
-- (The runtime may only UPDATE revoked_at, and only to a time: a revoked session stays revoked.)
create policy "users revoke their own sessions" on public.sessions
  for update to app_runtime using (user_id = (select app.current_user_id()))
  with check (user_id = (select app.current_user_id()) and revoked_at is not null);
drop policy if exists "privileged functions look sessions up by token" on public.sessions;
create policy "privileged functions look sessions up by token" on public.sessions
  for select to app_privileged using (true);
drop policy if exists "privileged functions re-issue sessions" on public.sessions;
drop policy if exists "privileged functions open sessions for the sealed user" on public.sessions;
create policy "privileged functions open sessions for the sealed user" on public.sessions
  for insert to app_privileged
  with check (user_id = (select app.current_user_id()) and revoked_at is null and replaced_by is null);
-- The sealed user's own sessions (activity, revocation, re-issue), and the sessions of members
-- of the request's workspace, which a role change there marks for a new token (sql/080).
drop policy if exists "privileged functions record session activity" on public.sessions;
drop policy if exists "privileged functions change the sealed user's or a co-member's sessions" on public.sessions;
drop policy if exists "privileged functions change the user's or co-members' sessions" on public.sessions;
create policy "privileged functions change the user's or co-members' sessions" on public.sessions
  for update to app_privileged
  using (user_id = (select app.current_user_id()) or app.is_current_workspace_member(user_id))
  with check (user_id = (select app.current_user_id()) or app.is_current_workspace_member(user_id));

-- ---------------------------------------------------------------------------------------------
-- email_tokens: a user is issued their own verification tokens; reset tokens are issued by the
-- outbox worker (sql/045) and every token is consumed through a privileged function, which
-- seals the token's user first. Nobody but those functions reads a token row.
-- ---------------------------------------------------------------------------------------------
alter table public.email_tokens enable row level security;
alter table public.email_tokens force row level security;
revoke all on public.email_tokens from app_runtime, app_privileged, app_mailer, app_auditor;
grant insert on public.email_tokens to app_runtime;
grant select, insert on public.email_tokens to app_privileged;
grant update (used_at) on public.email_tokens to app_privileged;
drop policy if exists "users read their own email tokens" on public.email_tokens;
drop policy if exists "users are issued their own email tokens" on public.email_tokens;
drop policy if exists "users are issued their own verification tokens" on public.email_tokens;
create policy "users are issued their own verification tokens" on public.email_tokens
  for insert to app_runtime with check (user_id = (select app.current_user_id()) and purpose = 'verify_email' and used_at is null);
drop policy if exists "privileged functions find email tokens" on public.email_tokens;
create policy "privileged functions find email tokens" on public.email_tokens
  for select to app_privileged using (true);
drop policy if exists "privileged functions issue reset tokens" on public.email_tokens;
drop policy if exists "the outbox worker issues reset tokens" on public.email_tokens;
create policy "the outbox worker issues reset tokens" on public.email_tokens
  for insert to app_privileged
  with check (purpose = 'reset_password' and used_at is null and (select app.current_context_kind()) = 'worker');
drop policy if exists "privileged functions consume email tokens" on public.email_tokens;
drop policy if exists "privileged functions consume the sealed user's email tokens" on public.email_tokens;
create policy "privileged functions consume the sealed user's email tokens" on public.email_tokens
  for update to app_privileged
  using (user_id = (select app.current_user_id()))
  with check (user_id = (select app.current_user_id()) and used_at is not null);

-- ---------------------------------------------------------------------------------------------
-- email_outbox: the service queues emails but cannot read them back; only the outbox worker,
-- in a worker context (sql/045), claims and settles them.
-- ---------------------------------------------------------------------------------------------
alter table public.email_outbox enable row level security;
alter table public.email_outbox force row level security;
revoke all on public.email_outbox from app_runtime, app_privileged, app_mailer, app_auditor;
grant insert on public.email_outbox to app_runtime;
grant select, delete on public.email_outbox to app_mailer;
grant update (template, body_encrypted, status, attempts, next_attempt_at, last_error, provider_message_id, sent_at)
  on public.email_outbox to app_mailer;
drop policy if exists "the service queues emails" on public.email_outbox;
create policy "the service queues emails" on public.email_outbox
  for insert to app_runtime with check (status = 'pending');
drop policy if exists "the outbox worker reads the queue" on public.email_outbox;
create policy "the outbox worker reads the queue" on public.email_outbox
  for select to app_mailer using ((select app.current_context_kind()) = 'worker');
drop policy if exists "the outbox worker settles queued emails" on public.email_outbox;
create policy "the outbox worker settles queued emails" on public.email_outbox
  for update to app_mailer
  using ((select app.current_context_kind()) = 'worker')
  with check ((select app.current_context_kind()) = 'worker');
drop policy if exists "the outbox worker drops compositions with nothing to send" on public.email_outbox;
create policy "the outbox worker drops compositions with nothing to send" on public.email_outbox
  for delete to app_mailer using ((select app.current_context_kind()) = 'worker' and status = 'pending');
