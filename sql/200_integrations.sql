-- =============================================================================================
-- Integrations: each workspace's data key, its channel credentials, deleting a workspace
-- (crypto-shredding) and the key rotation (migrations/0011).
--
-- Secrets in two layers (envelope encryption). The service holds the key ring (ENCRYPTION_KEYS);
-- the database holds, per workspace, a data key wrapped by the ring (workspace_keys), and the
-- workspace's secrets sealed with that data key (channel_credentials). A database snapshot holds
-- neither key in clear, so it exposes no secret; destroying a workspace's wrapped key makes its
-- secrets unrecoverable everywhere, backups included, while the ring itself stays.
--
-- The runtime reads and writes a workspace's key and credentials only in that workspace, with
-- channels:manage, and only while it may be written to (the standard tenant policies plus the
-- permission below). The outbox worker reads a sender workspace's Resend credential through
-- app.outbox_sender_credential (sql/160). The schema owner re-wraps and re-encrypts during a
-- key rotation, in a maintenance context (app.begin_maintenance, below), which the audit trail
-- attributes to its login.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- app.begin_maintenance: seals this transaction as maintenance by the schema owner (no user, no
-- workspace); `p_what` says what, and is recorded as the request id of the audit rows it causes.
-- Executable by the schema owner only (the login that runs the migrations).
-- ---------------------------------------------------------------------------------------------
create or replace function app.begin_maintenance(p_what text)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  if p_what is null or pg_catalog.length(p_what) not between 1 and 100 then
    raise exception 'say what the maintenance is (1 to 100 characters)' using errcode = 'GHINV';
  end if;
  perform app.seal_context('maintenance', null, null, null, null, null, 'maintenance: ' || p_what);
end
$$;
alter function app.begin_maintenance(text) owner to app_privileged;
revoke all on function app.begin_maintenance(text) from public;
do $grant$
begin
  execute pg_catalog.format('grant execute on function app.begin_maintenance(text) to %I', current_user);
end
$grant$;
comment on function app.begin_maintenance(text) is
  'Key rotation: seals a maintenance context (no user, no tenant) for the schema owner. '
  'Checks: only the schema owner may execute it; the context names nobody';

-- The schema owner is a member of app_privileged and app_mailer, whose policies below (and in
-- sql/160, sql/180) let it read and re-seal the sealed columns in a maintenance context.

-- ---------------------------------------------------------------------------------------------
-- workspace_keys: a member with channels:manage reads the workspace's wrapped key, or adds it
-- the first time one is needed; nobody but the key rotation and app.delete_workspace changes
-- it, and nobody removes it (a destroyed key is a row with no key).
-- ---------------------------------------------------------------------------------------------
call app.secure_tenant_table('public.workspace_keys', 'data keys', array['select', 'insert']);
revoke all on public.workspace_keys from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.workspace_keys to app_runtime;
grant insert (workspace_id, kid, data_key_encrypted) on public.workspace_keys to app_runtime;
grant select on public.workspace_keys to app_privileged;
grant update (kid, data_key_encrypted, destroyed_at, rotated_at) on public.workspace_keys to app_privileged;
drop policy if exists "data keys are used by channel managers only" on public.workspace_keys;
create policy "data keys are used by channel managers only" on public.workspace_keys
  as restrictive for all to app_runtime
  using ('channels:manage' = any ((select app.current_permissions())::text[]))
  with check ('channels:manage' = any ((select app.current_permissions())::text[]));
drop policy if exists "new data keys are live" on public.workspace_keys;
create policy "new data keys are live" on public.workspace_keys
  as restrictive for insert to app_runtime
  with check (destroyed_at is null and data_key_encrypted is not null);
-- The outbox worker's sender lookup (sql/160) and app.delete_workspace.
drop policy if exists "privileged functions read data keys" on public.workspace_keys;
create policy "privileged functions read data keys" on public.workspace_keys
  for select to app_privileged
  using ((select app.current_context_kind()) in ('worker', 'maintenance') or workspace_id = (select app.current_workspace_id()));
-- Destroyed in the request's workspace (app.delete_workspace), or re-wrapped by the key rotation.
drop policy if exists "privileged functions destroy the request workspace's data key" on public.workspace_keys;
drop policy if exists "privileged functions destroy or re-wrap data keys" on public.workspace_keys;
create policy "privileged functions destroy or re-wrap data keys" on public.workspace_keys
  for update to app_privileged
  using (workspace_id = (select app.current_workspace_id()) or (select app.current_context_kind()) = 'maintenance')
  with check ((workspace_id = (select app.current_workspace_id()) and data_key_encrypted is null)
              or (select app.current_context_kind()) = 'maintenance');
call app.capture_changes('public.workspace_keys', 'workspace_key', 'workspace_id');

-- ---------------------------------------------------------------------------------------------
-- channel_credentials: channel managers set, replace and remove their workspace's credentials.
-- The rows hold ciphertext and masks only; the change capture records the masks, never the
-- ciphertext (app.audit_redact drops *_encrypted).
-- ---------------------------------------------------------------------------------------------
call app.secure_tenant_table('public.channel_credentials', 'channel credentials');
revoke all on public.channel_credentials from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert, delete on public.channel_credentials to app_runtime;
grant update (secrets_encrypted, masked, updated_at) on public.channel_credentials to app_runtime;
grant select, delete on public.channel_credentials to app_privileged;
drop policy if exists "channel credentials are for channel managers only" on public.channel_credentials;
create policy "channel credentials are for channel managers only" on public.channel_credentials
  as restrictive for all to app_runtime
  using ('channels:manage' = any ((select app.current_permissions())::text[]))
  with check ('channels:manage' = any ((select app.current_permissions())::text[]));
drop policy if exists "privileged functions read channel credentials" on public.channel_credentials;
create policy "privileged functions read channel credentials" on public.channel_credentials
  for select to app_privileged
  using ((select app.current_context_kind()) in ('worker', 'maintenance') or workspace_id = (select app.current_workspace_id()));
drop policy if exists "the key rotation re-seals channel credentials" on public.channel_credentials;
create policy "the key rotation re-seals channel credentials" on public.channel_credentials
  for update to app_privileged
  using ((select app.current_context_kind()) = 'maintenance')
  with check ((select app.current_context_kind()) = 'maintenance');
drop policy if exists "privileged functions remove the request workspace's credentials" on public.channel_credentials;
create policy "privileged functions remove the request workspace's credentials" on public.channel_credentials
  for delete to app_privileged using (workspace_id = (select app.current_workspace_id()));
call app.capture_changes('public.channel_credentials', 'channel', 'type');

-- key_rotations: the rotation's own record, the schema owner's alone.
alter table public.key_rotations enable row level security;
alter table public.key_rotations force row level security;
revoke all on public.key_rotations from app_runtime, app_privileged, app_mailer, app_auditor;
do $owner$
begin
  execute pg_catalog.format('drop policy if exists %I on public.key_rotations', 'the schema owner records key rotations during maintenance');
  execute pg_catalog.format('create policy %I on public.key_rotations for all to %I using (%s) with check (%s)',
    'the schema owner records key rotations during maintenance', current_user,
    '(select app.current_context_kind()) = ''maintenance''', '(select app.current_context_kind()) = ''maintenance''');
end
$owner$;


-- What app.delete_workspace changes beyond the tables above, each only in the request's workspace
-- (its API tokens: sql/210's update policy).
grant select (deleted_at), update (deleted_at) on public.contacts to app_privileged;
drop policy if exists "privileged functions soft-delete a deleted workspace's contacts" on public.contacts;
create policy "privileged functions soft-delete a deleted workspace's contacts" on public.contacts
  for update to app_privileged
  using (workspace_id = (select app.current_workspace_id()))
  with check (workspace_id = (select app.current_workspace_id()) and deleted_at is not null);
-- (The workspace itself: the one UPDATE policy of workspaces, sql/120.)

-- ---------------------------------------------------------------------------------------------
-- app.delete_workspace: the owner deletes the request's workspace, typing its name to confirm.
-- Its data key is destroyed (its sealed secrets with it, in every backup), its channel
-- credentials removed, its API tokens and open invitations revoked, its contacts soft-deleted
-- and the workspace marked deleted: nobody is a member of it any more (app.begin_request), and
-- its audit trail stays. Recorded in the workspace's chain.
-- ---------------------------------------------------------------------------------------------
create or replace function app.delete_workspace(p_confirm_name text)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
  v_name text;
  v_caller record;
  v_contacts integer;
begin
  if v_ws is null then
    raise exception 'You are not a member of this workspace' using errcode = 'GHMEM';
  end if;
  v_caller := app.caller_role();
  perform app.require_permission(v_caller.permissions, 'workspace:delete');
  select w.name into v_name from public.workspaces w where w.id = v_ws and w.deleted_at is null for update;
  if v_name is null then
    raise exception 'No such workspace' using errcode = 'GHNFD';
  end if;
  if p_confirm_name is distinct from v_name then
    raise exception 'body.confirm must be the workspace''s name, exactly' using errcode = 'GHINV';
  end if;

  update public.workspace_keys set kid = null, data_key_encrypted = null, destroyed_at = pg_catalog.now()
   where workspace_id = v_ws and destroyed_at is null;
  delete from public.channel_credentials where workspace_id = v_ws;
  update public.contacts set deleted_at = pg_catalog.now() where workspace_id = v_ws and deleted_at is null;
  get diagnostics v_contacts = row_count;
  update public.workspace_invites set revoked_at = pg_catalog.now()
   where workspace_id = v_ws and accepted_at is null and revoked_at is null;
  update public.api_tokens set revoked_at = pg_catalog.now() where workspace_id = v_ws and revoked_at is null;
  update public.workspaces set deleted_at = pg_catalog.now(), updated_at = pg_catalog.now() where id = v_ws;
  perform app.audit_append(v_ws, 'event', 'workspace.delete', 'workspace', v_ws::text,
    pg_catalog.jsonb_build_object('name', v_name),
    pg_catalog.jsonb_build_object('deleted', true, 'dataKeyDestroyed', true, 'contactsDeleted', v_contacts));
end
$$;
alter function app.delete_workspace(text) owner to app_privileged;
revoke all on function app.delete_workspace(text) from public;
grant execute on function app.delete_workspace(text) to app_runtime;
comment on function app.delete_workspace(text) is
  'Deletes the request''s workspace: destroys its data key, soft-deletes its records. '
  'Checks: the caller holds workspace:delete in the sealed workspace and typed its name';
