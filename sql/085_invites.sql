-- =============================================================================================
-- Invitations (public.workspace_invites, migrations/0005)
--
-- A tenant table like contacts: members with members:manage (checked by the service) invite,
-- list and revoke in their own workspace, under the standard policies; the approval and trial
-- gate holds for them as for any write. The link's token is stored as SHA-256 only, and the
-- change capture (sql/050) never copies it (app.audit_redact drops *hash columns).
--
-- Accepting crosses tenants: the person accepting is not a member of the workspace yet, so the
-- invitation is found by its token and the membership written through app.accept_invite.
-- =============================================================================================

call app.secure_tenant_table('public.workspace_invites', 'invites');

drop policy if exists "privileged functions find invitations by token" on public.workspace_invites;
create policy "privileged functions find invitations by token" on public.workspace_invites
  for select to app_privileged using (true);
drop policy if exists "privileged functions mark invitations accepted" on public.workspace_invites;
create policy "privileged functions mark invitations accepted" on public.workspace_invites
  for update to app_privileged using (true) with check (accepted_at is not null and accepted_by is not null);

drop policy if exists "privileged functions add accepted invitees" on public.memberships;
create policy "privileged functions add accepted invitees" on public.memberships
  for insert to app_privileged with check (true);

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
  v_user uuid := app.current_user_id();
  inv public.workspace_invites;
  w public.workspaces;
begin
  if v_user is null then
    raise exception 'no authenticated user in this transaction' using errcode = '42501';
  end if;
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
  if not (w.billing_status = 'active' or w.trial_ends_at > pg_catalog.now()) then
    return query select 'trial_expired'::text, null::uuid;
    return;
  end if;
  insert into public.memberships (workspace_id, user_id, role) values (inv.workspace_id, v_user, inv.role)
    on conflict do nothing;
  update public.workspace_invites i set accepted_at = pg_catalog.now(), accepted_by = v_user
   where i.workspace_id = inv.workspace_id and i.id = inv.id;
  return query select 'ok'::text, inv.workspace_id;
end
$$;
alter function app.accept_invite(bytea) owner to app_privileged;
revoke all on function app.accept_invite(bytea) from public;
grant execute on function app.accept_invite(bytea) to app_runtime;
comment on function app.accept_invite(bytea) is
  'Invitations: makes the signed-in user a member of a workspace they do not belong to yet';
