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
grant update (role, role_id, department_id, contacts_scope) on public.memberships to app_privileged;

-- Retired (the second one OR-ed `true` into the first, so any role could be inserted).
drop policy if exists "privileged functions add workspace owners" on public.memberships;
drop policy if exists "privileged functions add accepted invitees" on public.memberships;

-- Whether a membership of (workspace, user, role, role_id, contacts_scope) is being granted
-- right now, in this very transaction, to the verified user: as the owner of the workspace they
-- just created, or with the role and scope of the invitation they just accepted. The two ways
-- anyone joins a workspace.
drop policy if exists "privileged functions add a workspace's creator or an invitee" on public.memberships;
drop function if exists app.membership_is_being_granted(uuid, uuid, text);
create or replace function app.membership_is_being_granted(
    p_workspace_id uuid, p_user_id uuid, p_role text, p_role_id uuid, p_contacts_scope text)
  returns boolean
  language sql stable
  set search_path = pg_catalog, pg_temp
as $$
  select p_user_id = app.current_user_id() and (
    exists (select 1 from public.workspaces w
             where w.id = p_workspace_id and w.owner_id = p_user_id and p_role = 'owner' and p_role_id is null
               and p_contacts_scope is null and w.created_at = pg_catalog.now())
    or exists (select 1 from public.workspace_invites i
                where i.workspace_id = p_workspace_id and i.accepted_by = p_user_id and i.role = p_role
                  and i.role_id is not distinct from p_role_id and i.contacts_scope is not distinct from p_contacts_scope
                  and i.accepted_at = pg_catalog.now()))
$$;
revoke all on function app.membership_is_being_granted(uuid, uuid, text, uuid, text) from public;
grant execute on function app.membership_is_being_granted(uuid, uuid, text, uuid, text) to app_privileged;

drop policy if exists "privileged functions read every membership" on public.memberships;
create policy "privileged functions read every membership" on public.memberships
  for select to app_privileged using (true);
drop policy if exists "privileged functions add a workspace's creator or an invitee" on public.memberships;
create policy "privileged functions add a workspace's creator or an invitee" on public.memberships
  for insert to app_privileged
  with check (app.membership_is_being_granted(workspace_id, user_id, role, role_id, contacts_scope) and department_id is null);
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
-- app.default_contacts_scope: which contacts a role sees unless the member's own scope says
-- otherwise: owners and admins every contact, managers their departments', agents and custom
-- roles their own (least privilege: an owner widens a custom role's holders one by one).
-- Inlined where it is called (SQL, immutable, no SET clause).
-- ---------------------------------------------------------------------------------------------
create or replace function app.default_contacts_scope(p_role text) returns text
  language sql immutable
as $$ select case when p_role in ('owner', 'admin') then 'all' when p_role = 'manager' then 'department' else 'own' end $$;
revoke all on function app.default_contacts_scope(text) from public;
grant execute on function app.default_contacts_scope(text) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.workspace_members: the member list of the request's workspace, with each member's email,
-- name, role (app.role_ref), department, contacts scope and whether they use MFA. Crosses users
-- (a member may read only their own users row), never tenants: it lists
-- app.current_workspace_id() only, which is set only for a member, so without context it lists
-- nobody.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.workspace_members();
create function app.workspace_members()
  returns table (user_id uuid, email text, name text, role text, department_id uuid, contacts_scope text,
                 mfa_enabled boolean, joined_at timestamptz)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select u.id, u.email, u.name, app.role_ref(m.role, m.role_id), m.department_id,
         coalesce(m.contacts_scope, app.default_contacts_scope(m.role)),
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
-- unknown one); the caller covers the member's current role (app.role_covers). Answers the
-- caller's role and permissions, the member's role, and whether they are the last owner.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.lock_for_member_change(uuid, boolean);
create function app.lock_for_member_change(p_user_id uuid, p_leaving_allowed boolean)
  returns table (caller_role text, caller_role_id uuid, caller_permissions text[], member_role text, member_role_id uuid, last_owner boolean)
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
  v_caller uuid := app.require_user();
  v_owners integer;
  c record;
  v_member public.memberships;
begin
  perform app.assert_current_workspace_writable();
  select pg_catalog.count(*) into v_owners from (
    select 1 from public.memberships m where m.workspace_id = v_ws and m.role = 'owner' order by m.user_id for update) o;
  perform 1 from public.memberships m
   where m.workspace_id = v_ws and m.user_id in (v_caller, p_user_id) order by m.user_id for update;
  select * into c from app.caller_role();
  select * into v_member from public.memberships ms where ms.workspace_id = v_ws and ms.user_id = p_user_id;
  if not (p_leaving_allowed and p_user_id = v_caller) then
    perform app.require_permission(c.permissions, 'members:manage');
  end if;
  if v_member.user_id is null then
    raise exception 'No such member' using errcode = 'GHNFD';
  end if;
  if not app.role_covers(c.role, c.permissions, v_member.role, app.role_permissions_of(v_ws, v_member.role, v_member.role_id)) then
    raise exception 'Your role (%) cannot change a member who is %',
      app.role_label(v_ws, c.role, c.role_id), app.role_label(v_ws, v_member.role, v_member.role_id) using errcode = 'GHFBD';
  end if;
  return query select c.role, c.role_id, c.permissions, v_member.role, v_member.role_id, v_member.role = 'owner' and v_owners <= 1;
end
$$;
revoke all on function app.lock_for_member_change(uuid, boolean) from public;
grant execute on function app.lock_for_member_change(uuid, boolean) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.change_member_role: gives a member of the request's workspace another role, named as the
-- API names it (a built-in name or a custom role's id, app.resolve_role). Beyond the checks
-- above: the caller covers the new role too (nobody grants what they lack; only an owner makes
-- an owner), and the last owner stays one (GHCFL). The member's sessions are marked for a new
-- token by the trigger below.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.change_member_role(uuid, text);
create function app.change_member_role(p_user_id uuid, p_role text)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
  v record;
  r record;
begin
  select * into v from app.lock_for_member_change(p_user_id, false);
  select * into r from app.resolve_role(p_role);
  if not app.role_covers(v.caller_role, v.caller_permissions, r.role, app.role_permissions_of(v_ws, r.role, r.role_id)) then
    raise exception 'Your role (%) cannot grant the role %',
      app.role_label(v_ws, v.caller_role, v.caller_role_id),
      app.role_label(v_ws, r.role, r.role_id) using errcode = 'GHFBD';
  end if;
  if v.last_owner and r.role <> 'owner' then
    raise exception 'The last owner cannot be demoted; make another member an owner first' using errcode = 'GHCFL';
  end if;
  if v.member_role is distinct from r.role or v.member_role_id is distinct from r.role_id then
    update public.memberships set role = r.role, role_id = r.role_id
     where workspace_id = v_ws and user_id = p_user_id;
  end if;
end
$$;
alter function app.change_member_role(uuid, text) owner to app_privileged;
revoke all on function app.change_member_role(uuid, text) from public;
grant execute on function app.change_member_role(uuid, text) to app_runtime;
comment on function app.change_member_role(uuid, text) is
  'Role change: writes a membership the runtime may only read. '
  'Checks: the sealed member holds members:manage and every permission of the old and the new role; only owners make owners; the last owner stays';

-- ---------------------------------------------------------------------------------------------
-- app.place_member: puts a member of the request's workspace in a department (p_set_department;
-- NULL: none) and/or sets which contacts they see (p_set_scope: 'all', 'department', 'own';
-- NULL: their role's default). The checks of a role change (app.lock_for_member_change:
-- members:manage, a member whose role the caller covers), and nobody gives a wider scope than
-- their own (all > department > own). A department of another workspace, or none, is refused
-- by the foreign key (23503). Effective from the member's next request.
-- ---------------------------------------------------------------------------------------------
create or replace function app.contacts_scope_rank(p_scope text) returns integer
  language sql immutable
  set search_path = pg_catalog, pg_temp
as $$ select case p_scope when 'all' then 3 when 'department' then 2 when 'own' then 1 end $$;
revoke all on function app.contacts_scope_rank(text) from public;
grant execute on function app.contacts_scope_rank(text) to app_privileged;

drop function if exists app.place_member(uuid, boolean, uuid, boolean, text);
create function app.place_member(p_user_id uuid, p_set_department boolean, p_department_id uuid, p_set_scope boolean, p_scope text)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
  v record;
  v_own_scope text;
begin
  select * into v from app.lock_for_member_change(p_user_id, false);
  if p_set_scope and p_scope is not null then
    if app.contacts_scope_rank(p_scope) is null then
      raise exception 'scopes.contacts is all, department or own' using errcode = 'GHINV';
    end if;
    select coalesce(m.contacts_scope, app.default_contacts_scope(m.role)) into v_own_scope
      from public.memberships m where m.workspace_id = v_ws and m.user_id = app.current_user_id();
    if app.contacts_scope_rank(p_scope) > app.contacts_scope_rank(v_own_scope) then
      raise exception 'You see % contacts, so you cannot let anyone see %', v_own_scope, p_scope using errcode = 'GHFBD';
    end if;
  end if;
  update public.memberships m
     set department_id = case when p_set_department then p_department_id else m.department_id end,
         contacts_scope = case when p_set_scope then p_scope else m.contacts_scope end
   where m.workspace_id = v_ws and m.user_id = p_user_id;
end
$$;
alter function app.place_member(uuid, boolean, uuid, boolean, text) owner to app_privileged;
revoke all on function app.place_member(uuid, boolean, uuid, boolean, text) from public;
grant execute on function app.place_member(uuid, boolean, uuid, boolean, text) to app_runtime;
comment on function app.place_member(uuid, boolean, uuid, boolean, text) is
  'Departments and scopes: writes a membership the runtime may only read. '
  'Checks: the sealed member holds members:manage and every permission of the member''s role, and sees at least the scope given';

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
  after update of role, role_id on public.memberships
  for each row when (old.role is distinct from new.role or old.role_id is distinct from new.role_id)
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
