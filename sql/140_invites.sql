-- =============================================================================================
-- Invitations (public.workspace_invites, migrations/0005)
--
-- A tenant table the runtime only reads (its own workspace's, under the standard policy):
-- inviting and revoking go through app.create_invite and app.revoke_invite, which check
-- members:manage and "nobody grants what they do not hold" in the database, since an
-- invitation is a role waiting to be granted. The link's token is stored as SHA-256 only, and the
-- change capture (sql/050) never copies it (app.audit_redact drops *hash columns).
--
-- Accepting crosses tenants: the person accepting is not a member of the workspace yet, so the
-- invitation is found by its token and the membership written through app.accept_invite.
-- =============================================================================================

call app.secure_tenant_table('public.workspace_invites', 'invites', array['select']);
revoke all on public.workspace_invites from app_runtime, app_privileged, app_mailer, app_auditor;
grant select (workspace_id, id, email, role, role_id, contacts_scope, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at)
  on public.workspace_invites to app_runtime;
grant select, insert on public.workspace_invites to app_privileged;
grant update (accepted_at, accepted_by, revoked_at) on public.workspace_invites to app_privileged;

drop policy if exists "privileged functions find invitations by token" on public.workspace_invites;
create policy "privileged functions find invitations by token" on public.workspace_invites
  for select to app_privileged using (true);
drop policy if exists "privileged functions invite into the request's workspace" on public.workspace_invites;
create policy "privileged functions invite into the request's workspace" on public.workspace_invites
  for insert to app_privileged
  with check (workspace_id = (select app.current_workspace_id()) and invited_by = (select app.current_user_id())
              and accepted_at is null and revoked_at is null);
-- An open invitation changes once: revoked in its own workspace, or accepted by the signed-in
-- user it was for (app.accept_invite checks the address).
drop policy if exists "privileged functions mark invitations accepted" on public.workspace_invites;
drop policy if exists "privileged functions close open invitations" on public.workspace_invites;
create policy "privileged functions close open invitations" on public.workspace_invites
  for update to app_privileged
  using (accepted_at is null and revoked_at is null)
  with check ((workspace_id = (select app.current_workspace_id()) and revoked_at is not null and accepted_at is null)
              or (accepted_by = (select app.current_user_id()) and accepted_at is not null and revoked_at is null));

-- Every change is recorded in the audit log (the change capture of 050_audit.sql).
call app.capture_changes('public.workspace_invites', 'invite');

-- ---------------------------------------------------------------------------------------------
-- app.create_invite: an invitation into the request's workspace with a role named as the API
-- names it (a built-in name or a custom role's id, app.resolve_role), replacing the open one
-- for the same address. Checks in the database what the HTTP layer checks too: the caller holds
-- members:manage and covers the role offered (nobody grants what they do not hold; only an
-- owner invites an owner, sql/125), the workspace takes writes, and the address is not a
-- member's already (GHCFL).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.create_invite(text, text, bytea, timestamptz);
create function app.create_invite(p_email text, p_role text, p_token_hash bytea, p_expires_at timestamptz)
  returns setof public.workspace_invites
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
  v_user uuid := app.require_user();
  c record;
  r record;
begin
  perform app.assert_current_workspace_writable();
  select * into c from app.caller_role();
  perform app.require_permission(c.permissions, 'members:manage');
  select * into r from app.resolve_role(p_role);
  if not app.role_covers(c.role, c.permissions, r.role, app.role_permissions_of(v_ws, r.role, r.role_id)) then
    raise exception 'Your role (%) cannot grant the role %',
      app.role_label(v_ws, c.role, c.role_id), app.role_label(v_ws, r.role, r.role_id) using errcode = 'GHFBD';
  end if;
  if p_expires_at > pg_catalog.now() + interval '30 days' then
    raise exception 'an invitation lives 30 days at most' using errcode = 'GHINV';
  end if;
  if exists (select 1 from public.memberships m join public.users u on u.id = m.user_id
              where m.workspace_id = v_ws and u.email = p_email) then
    raise exception '% is already a member of this workspace', p_email using errcode = 'GHCFL';
  end if;
  update public.workspace_invites i set revoked_at = pg_catalog.now()
   where i.workspace_id = v_ws and i.email = p_email and i.accepted_at is null and i.revoked_at is null;
  return query
    insert into public.workspace_invites (workspace_id, email, role, role_id, token_hash, invited_by, expires_at)
    values (v_ws, p_email, r.role, r.role_id, p_token_hash, v_user, p_expires_at)
    returning *;
end
$$;
alter function app.create_invite(text, text, bytea, timestamptz) owner to app_privileged;
revoke all on function app.create_invite(text, text, bytea, timestamptz) from public;
grant execute on function app.create_invite(text, text, bytea, timestamptz) to app_runtime;
comment on function app.create_invite(text, text, bytea, timestamptz) is
  'Invitations: writes an invitation, which the runtime may only read (it grants a role on acceptance). '
  'Checks: the sealed member holds members:manage and every permission of the role offered; only owners invite owners';

-- ---------------------------------------------------------------------------------------------
-- app.revoke_invite: revokes an open invitation of the request's workspace; false when there is
-- none with that id here. Needs members:manage, like inviting.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.revoke_invite(uuid);
create function app.revoke_invite(p_id uuid)
  returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_current_workspace_writable();
  perform app.require_permission((select c.permissions from app.caller_role() c), 'members:manage');
  update public.workspace_invites i set revoked_at = pg_catalog.now()
   where i.workspace_id = app.current_workspace_id() and i.id = p_id and i.accepted_at is null and i.revoked_at is null;
  return found;
end
$$;
alter function app.revoke_invite(uuid) owner to app_privileged;
revoke all on function app.revoke_invite(uuid) from public;
grant execute on function app.revoke_invite(uuid) to app_runtime;
comment on function app.revoke_invite(uuid) is
  'Invitations: closes an invitation, which the runtime may only read. '
  'Checks: the sealed member holds members:manage in the invitation''s workspace';

-- ---------------------------------------------------------------------------------------------
-- app.accept_invite: spends an invitation for the signed-in user, atomically. The invitation is
-- locked by its token hash, so of two concurrent acceptances one wins and the other finds it
-- used. Answers an outcome and, when it is 'ok', the workspace:
--   'invalid_token'       unknown, accepted, revoked or expired
--   'wrong_email'         the user's address is not the invited one (the invitation stays open)
--   'workspace_<status>'  the workspace is not active; 'trial_expired' its trial is over unpaid
--   'ok'                  the user is a member with the invited role (an existing membership is
--                         left as it is) and the invitation is spent
-- The caller's email must already be verified (the service refuses otherwise), so nobody joins
-- by registering someone else's address. Crosses tenants because the user is not a member yet.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.accept_invite(bytea);
create function app.accept_invite(p_token_hash bytea)
  returns table (outcome text, workspace_id uuid)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
  inv public.workspace_invites;
  w public.workspaces;
begin
  select * into inv from public.workspace_invites i where i.token_hash = p_token_hash for update;
  if not found or inv.accepted_at is not null or inv.revoked_at is not null or inv.expires_at <= pg_catalog.now() then
    return query select 'invalid_token'::text, null::uuid;
    return;
  end if;
  if not exists (select 1 from public.users u where u.id = v_user and u.email = inv.email and u.email_verified_at is not null) then
    return query select 'wrong_email'::text, null::uuid;
    return;
  end if;
  select * into w from public.workspaces ws where ws.id = inv.workspace_id;
  if w.status <> 'active' then
    return query select 'workspace_' || w.status, null::uuid;
    return;
  end if;
  if not app.billing_keeps_writes(w.billing_status, w.billing_grace_ends_at, w.trial_ends_at) then
    return query select 'trial_expired'::text, null::uuid;
    return;
  end if;
  -- Marked accepted first: the memberships insert policy (sql/130) admits exactly the invitee of
  -- an invitation accepted in this transaction, with its role.
  update public.workspace_invites i set accepted_at = pg_catalog.now(), accepted_by = v_user
   where i.workspace_id = inv.workspace_id and i.id = inv.id;
  insert into public.memberships (workspace_id, user_id, role, role_id, contacts_scope)
  values (inv.workspace_id, v_user, inv.role, inv.role_id, inv.contacts_scope)
    on conflict do nothing;
  return query select 'ok'::text, inv.workspace_id;
end
$$;
alter function app.accept_invite(bytea) owner to app_privileged;
revoke all on function app.accept_invite(bytea) from public;
grant execute on function app.accept_invite(bytea) to app_runtime;
comment on function app.accept_invite(bytea) is
  'Invitations: makes the signed-in user a member of a workspace they do not belong to yet. '
  'Checks: a live invitation for the sealed user''s verified address, spent once';
