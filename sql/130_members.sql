-- =============================================================================================
-- Workspace members (public.memberships, public.role_permissions): who may see the member list,
-- who may change whose role, what a role change does to sessions, and the rule that a workspace
-- never loses its last owner.
--
-- The runtime only reads memberships. Role changes and removals go through
-- app.change_member_role and app.remove_member, which check in the database what the HTTP layer
-- checks too: changing someone else needs members:manage, and nobody changes a member whose
-- role holds a permission they lack, nor grants such a role ("nobody grants what they do not
-- hold", against public.role_permissions, written from src/rbac/permissions.ts). The change
-- capture of sql/050 records each change.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- memberships: members read their workspace's; every change goes through a privileged function
-- that checks the rules in the database (below: nobody grants what they do not hold, the
-- last owner stays; sql/120 creation, sql/140 invitations).
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

-- Every change is recorded in the audit log (the change capture of 050_audit.sql).
call app.capture_changes('public.memberships', 'membership', 'user_id');

-- ---------------------------------------------------------------------------------------------
-- role_permissions: the built-in roles' permissions. Written only by app.sync_role_permissions
-- (run by every migration, src/db/migrate.ts); read by the checks below.
-- ---------------------------------------------------------------------------------------------
alter table public.role_permissions enable row level security;
alter table public.role_permissions force row level security;
revoke all on public.role_permissions from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.role_permissions to app_privileged;
drop policy if exists "privileged functions read the role catalogue" on public.role_permissions;
create policy "privileged functions read the role catalogue" on public.role_permissions
  for select to app_privileged using (true);
-- Written only by the schema owner (the migrating login, named here as it runs): no privileged
-- function can change what a role may do.
drop policy if exists "the migrations write the role catalogue" on public.role_permissions;
drop policy if exists "the migrations rewrite the role catalogue" on public.role_permissions;
do $owner_writes$
begin
  execute pg_catalog.format('create policy "the migrations write the role catalogue" on public.role_permissions
    for insert to %I with check (true)', current_user);
  execute pg_catalog.format('create policy "the migrations rewrite the role catalogue" on public.role_permissions
    for delete to %I using (true)', current_user);
end
$owner_writes$;

-- Makes the catalogue exactly `p_roles` ({"role": ["permission", …], …}). Run by the schema
-- owner when migrating, with its own rights (the policies above); not granted to anyone.
drop function if exists app.sync_role_permissions(jsonb);
create function app.sync_role_permissions(p_roles jsonb)
  returns void
  language plpgsql volatile security invoker
  set search_path = pg_catalog, pg_temp
as $$
begin
  delete from public.role_permissions;
  insert into public.role_permissions (role, permission)
  select r.key, p.value from pg_catalog.jsonb_each(p_roles) r, pg_catalog.jsonb_array_elements_text(r.value) p;
end
$$;
revoke all on function app.sync_role_permissions(jsonb) from public;
comment on function app.sync_role_permissions(jsonb) is
  'Role catalogue: writes the built-in roles'' permissions from the service''s catalogue, as the schema owner';

-- Whether `p_role` grants `p_permission`.
create or replace function app.role_has(p_role text, p_permission text) returns boolean
  language sql stable
  as $$ select exists (select 1 from public.role_permissions rp where rp.role = p_role and rp.permission = p_permission) $$;
revoke all on function app.role_has(text, text) from public;
grant execute on function app.role_has(text, text) to app_privileged;

-- Whether `p_holder` has every permission of `p_role`: what it takes to grant `p_role`, or to
-- change the role of a member who holds it. An unknown role is covered by nobody.
create or replace function app.role_covers(p_holder text, p_role text) returns boolean
  language sql stable
  as $$
    select exists (select 1 from public.role_permissions rp where rp.role = p_role)
       and not exists (select 1 from public.role_permissions needed
                        where needed.role = p_role
                          and not exists (select 1 from public.role_permissions held
                                           where held.role = p_holder and held.permission = needed.permission))
  $$;
revoke all on function app.role_covers(text, text) from public;
grant execute on function app.role_covers(text, text) to app_privileged;

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
  'Member list: reads the users rows of the request workspace''s members, which RLS keeps per user. '
  'Checks: only the sealed workspace''s members';


-- ---------------------------------------------------------------------------------------------
-- app.lock_for_member_change: the shared first half of a role change and a removal, in the
-- request's workspace. Locks what the change decides on, always in one order: the workspace's
-- owner rows first (so changes in one workspace run one at a time, and two owners deposing each
-- other cannot both see another owner left), then the caller's and the member's rows. Checks,
-- under the lock: the caller is still a member; everything but leaving (removing oneself) needs
-- members:manage; the member exists here (GHNFD: another tenant's user is not found, like an
-- unknown one); the caller covers the member's current role. Answers the member's role and
-- whether they are the last owner.
-- ---------------------------------------------------------------------------------------------
create or replace function app.lock_for_member_change(p_user_id uuid, p_leaving_allowed boolean)
  returns table (caller_role text, member_role text, last_owner boolean)
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
  v_caller uuid := app.require_user();
  v_owners integer;
  v_caller_role text;
  v_member_role text;
begin
  perform app.assert_current_workspace_writable();
  select pg_catalog.count(*) into v_owners from (
    select 1 from public.memberships m where m.workspace_id = v_ws and m.role = 'owner' order by m.user_id for update) o;
  perform 1 from public.memberships m
   where m.workspace_id = v_ws and m.user_id in (v_caller, p_user_id) order by m.user_id for update;
  select m.role into v_caller_role from public.memberships m where m.workspace_id = v_ws and m.user_id = v_caller;
  select m.role into v_member_role from public.memberships m where m.workspace_id = v_ws and m.user_id = p_user_id;
  if v_caller_role is null then
    raise exception 'You are not a member of this workspace' using errcode = 'GHMEM';
  end if;
  if not (p_leaving_allowed and p_user_id = v_caller) and not app.role_has(v_caller_role, 'members:manage') then
    raise exception 'Your role lacks the permission members:manage' using errcode = 'GHFBD';
  end if;
  if v_member_role is null then
    raise exception 'No such member' using errcode = 'GHNFD';
  end if;
  if not app.role_covers(v_caller_role, v_member_role) then
    raise exception 'Your role (%) cannot change a member who is %', v_caller_role, v_member_role using errcode = 'GHFBD';
  end if;
  return query select v_caller_role, v_member_role, v_member_role = 'owner' and v_owners <= 1;
end
$$;
revoke all on function app.lock_for_member_change(uuid, boolean) from public;
grant execute on function app.lock_for_member_change(uuid, boolean) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.change_member_role: gives a member of the request's workspace another role. Beyond the
-- checks above: the caller covers the new role too (an admin can neither make nor unmake an
-- owner: billing:read is the owners' alone), and the last owner stays one (GHCFL). The member's
-- sessions are marked for a new token by the trigger below.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.change_member_role(uuid, text);
create function app.change_member_role(p_user_id uuid, p_role text)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v record;
begin
  select * into v from app.lock_for_member_change(p_user_id, false);
  if not app.role_covers(v.caller_role, p_role) then
    raise exception 'Your role (%) cannot grant the role %', v.caller_role, p_role using errcode = 'GHFBD';
  end if;
  if v.last_owner and p_role <> 'owner' then
    raise exception 'The last owner cannot be demoted; make another member an owner first' using errcode = 'GHCFL';
  end if;
  if v.member_role <> p_role then
    update public.memberships set role = p_role
     where workspace_id = app.current_workspace_id() and user_id = p_user_id;
  end if;
end
$$;
alter function app.change_member_role(uuid, text) owner to app_privileged;
revoke all on function app.change_member_role(uuid, text) from public;
grant execute on function app.change_member_role(uuid, text) to app_runtime;
comment on function app.change_member_role(uuid, text) is
  'Role change: writes a membership the runtime may only read. '
  'Checks: the sealed member holds members:manage and every permission of the old and the new role; the last owner stays';

-- ---------------------------------------------------------------------------------------------
-- app.remove_member: removes a member of the request's workspace, or lets the caller leave
-- (which needs no permission). Refused, changing nothing: the last owner (GHCFL); a member who
-- still owns contacts, deleted ones included (GHCFL: their contacts go to another member first
-- — a contact's owner must be a member, a constraint, so nothing points at someone who left).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.remove_member(uuid);
create function app.remove_member(p_user_id uuid)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v record;
  v_owned integer;
begin
  select * into v from app.lock_for_member_change(p_user_id, true);
  if v.last_owner then
    raise exception 'The last owner cannot leave; make another member an owner first' using errcode = 'GHCFL';
  end if;
  select pg_catalog.count(*) into v_owned from public.contacts c
   where c.workspace_id = app.current_workspace_id() and c.owner_id = p_user_id;
  if v_owned > 0 then
    raise exception 'The member still owns % contact% (deleted ones included); give them to another member first',
      v_owned, case when v_owned = 1 then '' else 's' end using errcode = 'GHCFL';
  end if;
  delete from public.memberships where workspace_id = app.current_workspace_id() and user_id = p_user_id;
end
$$;
alter function app.remove_member(uuid) owner to app_privileged;
revoke all on function app.remove_member(uuid) from public;
grant execute on function app.remove_member(uuid) to app_runtime;
comment on function app.remove_member(uuid) is
  'Member removal: deletes a membership the runtime may only read. '
  'Checks: leaving oneself, or members:manage and every permission of the member''s role; the last owner stays';

-- ---------------------------------------------------------------------------------------------
-- A role change re-issues the user's sessions (API.md: a new token on role change). The trigger
-- marks every live session of the user; app.begin_request reports the mark and the service
-- answers that session's next request with a new token (app.reissue_session, sql/110), so a
-- token from before the change stops working. Enforced here rather than in the handler, so any
-- role change, however made, has the effect. SECURITY INVOKER: it runs with the rights of whoever
-- changed the role — app.change_member_role, whose policy on sessions (sql/110) reaches the
-- members of the request's workspace, or a superuser's maintenance edit, which RLS does not
-- restrict — and so marks exactly the sessions the change's author may reach.
-- ---------------------------------------------------------------------------------------------
create or replace function app.memberships_mark_sessions_for_reissue() returns trigger
  language plpgsql security invoker
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
  'Role change: marks the member''s sessions for a new token, with the rights of whoever changed the role';

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
  'Last-owner rule: counts every owner of the workspace, whatever the caller may see. Checks: a trigger; refuses only';

drop trigger if exists memberships_workspace_keeps_an_owner on public.memberships;
create trigger memberships_workspace_keeps_an_owner
  after update of role or delete on public.memberships
  for each row execute function app.memberships_keep_an_owner();
