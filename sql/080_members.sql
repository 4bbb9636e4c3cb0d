-- =============================================================================================
-- Workspace members: who may see the member list, what a role change does to sessions, and the
-- rule that a workspace never loses its last owner.
--
-- Role changes themselves are ordinary UPDATEs of memberships under the tenant policies of
-- sql/030 (same workspace, active and paid-up), recorded by the change capture of sql/050.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- app.workspace_members: the member list of the request's workspace, with each member's email,
-- name and whether they use MFA. Crosses users (a member may read only their own users row),
-- never tenants: it lists app.current_workspace_id() only, which is set only for a member, so
-- without context it lists nobody.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.workspace_members();
create function app.workspace_members()
  returns table (user_id uuid, email text, name text, role text, mfa_enabled boolean, joined_at timestamptz)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select u.id, u.email, u.name, m.role,
         exists (select 1 from public.user_mfa f where f.user_id = u.id and f.enabled_at is not null),
         m.created_at
    from public.memberships m
    join public.users u on u.id = m.user_id
   where m.workspace_id = app.current_workspace_id()
   order by m.created_at, u.id
$$;
alter function app.workspace_members() owner to app_privileged;
revoke all on function app.workspace_members() from public;
grant execute on function app.workspace_members() to app_runtime;
comment on function app.workspace_members() is
  'Member list: reads the users rows of the request workspace''s members, which RLS keeps per user';

-- user_mfa: the member list may learn whether a user has MFA on (enabled_at), nothing else; the
-- column grant in sql/090 keeps the secret envelope out of its reach.
drop policy if exists "privileged functions see who uses MFA" on public.user_mfa;
create policy "privileged functions see who uses MFA" on public.user_mfa
  for select to app_privileged using (true);

-- ---------------------------------------------------------------------------------------------
-- A role change re-issues the user's sessions (API.md: a new token on role change). The trigger
-- marks every live session of the user; app.begin_request reports the mark and the service
-- answers that session's next request with a new token (app.reissue_session, sql/040), so a
-- token from before the change stops working. Enforced here rather than in the handler, so any
-- role change, however made, has the effect. SECURITY DEFINER: the sessions belong to another
-- user than the one making the change.
-- ---------------------------------------------------------------------------------------------
create or replace function app.memberships_mark_sessions_for_reissue() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  update public.sessions se set reissue_required = true
   where se.user_id = new.user_id and se.revoked_at is null and not se.reissue_required;
  return null;
end
$$;
alter function app.memberships_mark_sessions_for_reissue() owner to app_privileged;
revoke all on function app.memberships_mark_sessions_for_reissue() from public;
comment on function app.memberships_mark_sessions_for_reissue() is
  'Role change: marks the member''s sessions (another user''s rows) for a new token';

drop trigger if exists memberships_role_change_reissues_sessions on public.memberships;
create trigger memberships_role_change_reissues_sessions
  after update of role on public.memberships
  for each row when (old.role is distinct from new.role)
  execute function app.memberships_mark_sessions_for_reissue();

-- ---------------------------------------------------------------------------------------------
-- A workspace keeps at least one owner. The service answers 409 before it gets here (it locks
-- the owner rows first, so two owners demoting each other at once cannot both succeed); this
-- trigger is the backstop for every other path. Deleting the workspace itself (its memberships
-- go with it) is not a loss of its last owner. SECURITY DEFINER so the check sees every owner
-- row of the workspace whatever the caller's policies.
-- ---------------------------------------------------------------------------------------------
create or replace function app.memberships_keep_an_owner() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  if old.role = 'owner'
     and (tg_op = 'DELETE' or new.role is distinct from 'owner')
     and exists (select 1 from public.workspaces w where w.id = old.workspace_id)
     and not exists (select 1 from public.memberships m where m.workspace_id = old.workspace_id and m.role = 'owner') then
    raise exception 'workspace % would have no owner', old.workspace_id
      using errcode = '23514', constraint = 'memberships_workspace_keeps_an_owner',
            hint = 'Make another member an owner first.';
  end if;
  return null;
end
$$;
alter function app.memberships_keep_an_owner() owner to app_privileged;
revoke all on function app.memberships_keep_an_owner() from public;
comment on function app.memberships_keep_an_owner() is
  'Last-owner rule: counts every owner of the workspace, whatever the caller may see';

drop trigger if exists memberships_workspace_keeps_an_owner on public.memberships;
create trigger memberships_workspace_keeps_an_owner
  after update of role or delete on public.memberships
  for each row execute function app.memberships_keep_an_owner();
