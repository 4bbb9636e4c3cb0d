-- =============================================================================================
-- API tokens (public.api_tokens, migrations/0011; API.md "API tokens")
--
-- An integration's credential for one workspace: `gate_<workspace short id>_<secret>`, shown
-- once; the database holds only the SHA-256 of the whole token (token_hash, sent as a bind
-- parameter, never in query text) and its last four characters (hint). A token's scopes are
-- catalogue permissions, never more than its creator held when creating it; on every request
-- app.begin_token_request cuts them down to what the creator's role holds *now*, so a demoted
-- creator's tokens lose power at once, and a creator who is no longer a member (or a workspace
-- that was deleted) leaves the token authenticating nobody.
--
-- A token request's context is sealed whole or not at all: the creator as the user, the token,
-- no session, the token's workspace and the permissions above (sql/020). So every write made
-- with a token is attributed to the token and its creator by app.audit_seal (actor_user_id,
-- actor_token_id), and the policies see the cut-down permissions (app.caller_role, sql/125,
-- cuts them down the same way for the privileged functions).
--
-- The runtime reads its workspace's tokens (never token_hash, and only with api_tokens:manage);
-- tokens are created and revoked only through app.create_api_token and app.revoke_api_token,
-- which check api_tokens:manage and the creator's permissions in the database. Creation and
-- revocation are recorded by the change capture (api_token.create, api_token.update with
-- revoked_at; the hash is redacted), the first use of a token on each UTC day as the event
-- api_token.used. The use stamp (last_used_at, written at most once a minute) is not captured:
-- it is no change to the token, and a busy integration would otherwise add a row a minute.
-- =============================================================================================

call app.secure_tenant_table('public.api_tokens', 'API tokens', array['select']);
revoke all on public.api_tokens from app_runtime, app_privileged, app_mailer, app_auditor;
-- Every column but the hash.
grant select (workspace_id, id, name, hint, scopes, created_by, created_at, expires_at, last_used_at, revoked_at)
  on public.api_tokens to app_runtime;
grant select, insert on public.api_tokens to app_privileged;
grant update (last_used_at, revoked_at) on public.api_tokens to app_privileged;

-- Only token managers see the workspace's tokens, whatever a statement asks.
drop policy if exists "API tokens are read by token managers only" on public.api_tokens;
create policy "API tokens are read by token managers only" on public.api_tokens
  as restrictive for select to app_runtime
  using ('api_tokens:manage' = any ((select app.current_permissions())::text[]));

-- Every workspace's: app.begin_token_request finds a token by its hash before any context exists.
drop policy if exists "privileged functions read every API token" on public.api_tokens;
create policy "privileged functions read every API token" on public.api_tokens
  for select to app_privileged using (true);
drop policy if exists "privileged functions add the sealed member's tokens" on public.api_tokens;
create policy "privileged functions add the sealed member's tokens" on public.api_tokens
  for insert to app_privileged
  with check (workspace_id = (select app.current_workspace_id()) and created_by = (select app.current_user_id()));
-- The one UPDATE policy (one permissive policy per role and command): the use stamp
-- (app.begin_token_request), a revocation (app.revoke_api_token) and the revocation of every
-- token of a workspace being deleted (app.delete_workspace, sql/200, whose narrower policy of
-- the same purpose is replaced by this one).
drop policy if exists "privileged functions revoke a deleted workspace's tokens" on public.api_tokens;
drop policy if exists "privileged functions update the request workspace's tokens" on public.api_tokens;
create policy "privileged functions update the request workspace's tokens" on public.api_tokens
  for update to app_privileged
  using (workspace_id = (select app.current_workspace_id()))
  with check (workspace_id = (select app.current_workspace_id()));

-- The change capture, on every column but the use stamp (see above). app.capture_changes makes
-- both triggers; its capture trigger is then narrowed to UPDATE OF the other columns.
call app.capture_changes('public.api_tokens', 'api_token');
drop trigger if exists api_tokens_audit on public.api_tokens;
create constraint trigger api_tokens_audit
  after insert or delete or update of workspace_id, id, name, token_hash, hint, scopes, created_by, created_at, expires_at, revoked_at
  on public.api_tokens deferrable initially deferred
  for each row execute function app.audit_capture('api_token');

-- ---------------------------------------------------------------------------------------------
-- app.create_api_token: a token of the request's workspace, made by the sealed member, who must
-- hold api_tokens:manage and every scope (from the catalogue) of the new token; the expiry, if
-- any, in the future; the workspace writable. `p_token_hash` is SHA-256 of the token the service
-- shows once, `p_hint` its last four characters. Answers the token without its hash.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.create_api_token(text, text[], bytea, text, timestamptz);
create function app.create_api_token(p_name text, p_scopes text[], p_token_hash bytea, p_hint text, p_expires_at timestamptz)
  returns table (
    id uuid, workspace_id uuid, name text, hint text, scopes text[], created_by uuid, created_at timestamptz,
    expires_at timestamptz, last_used_at timestamptz, revoked_at timestamptz
  )
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
  c record;
  v_missing text;
begin
  perform app.assert_current_workspace_writable();
  select * into c from app.caller_role();
  perform app.require_permission(c.permissions, 'api_tokens:manage');
  perform app.require_known_permissions(p_scopes);
  select g.name into v_missing from pg_catalog.unnest(p_scopes) g(name) where not (g.name = any (c.permissions)) limit 1;
  if found then
    raise exception 'Your role lacks the permission %, so a token of yours cannot carry it', v_missing using errcode = 'GHFBD';
  end if;
  if p_token_hash is null or pg_catalog.length(p_token_hash) <> 32 then
    raise exception 'a token hash is 32 bytes' using errcode = 'GHINV';
  end if;
  if p_hint is null or p_hint !~ '^[A-Za-z0-9_-]{4}$' then
    raise exception 'a token hint is its last four characters' using errcode = 'GHINV';
  end if;
  if p_expires_at is not null and p_expires_at <= pg_catalog.now() then
    raise exception 'expiresAt must be in the future' using errcode = 'GHINV';
  end if;
  return query
    insert into public.api_tokens as t (workspace_id, name, token_hash, hint, scopes, created_by, expires_at)
    values (app.current_workspace_id(), pg_catalog.btrim(p_name), p_token_hash, p_hint,
            array(select distinct g.name from pg_catalog.unnest(p_scopes) g(name) order by 1), app.current_user_id(), p_expires_at)
    returning t.id, t.workspace_id, t.name, t.hint, t.scopes, t.created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at;
end
$$;
alter function app.create_api_token(text, text[], bytea, text, timestamptz) owner to app_privileged;
revoke all on function app.create_api_token(text, text[], bytea, text, timestamptz) from public;
grant execute on function app.create_api_token(text, text[], bytea, text, timestamptz) to app_runtime;
comment on function app.create_api_token(text, text[], bytea, text, timestamptz) is
  'API tokens: writes a token, which the runtime may only read (without its hash). '
  'Checks: the sealed member holds api_tokens:manage and every scope of the token (the catalogue''s); an expiry in the future; the workspace''s approval and trial state';

-- ---------------------------------------------------------------------------------------------
-- app.revoke_api_token: revokes a token of the request's workspace (api_tokens:manage). Answers
-- false for an id that is no token of this workspace; revoking a revoked token changes nothing.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.revoke_api_token(uuid);
create function app.revoke_api_token(p_id uuid)
  returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
begin
  perform app.assert_current_workspace_writable();
  perform app.require_permission((select c.permissions from app.caller_role() c), 'api_tokens:manage');
  update public.api_tokens t set revoked_at = pg_catalog.now()
   where t.workspace_id = v_ws and t.id = p_id and t.revoked_at is null;
  return found or exists (select 1 from public.api_tokens t where t.workspace_id = v_ws and t.id = p_id);
end
$$;
alter function app.revoke_api_token(uuid) owner to app_privileged;
revoke all on function app.revoke_api_token(uuid) from public;
grant execute on function app.revoke_api_token(uuid) to app_runtime;
comment on function app.revoke_api_token(uuid) is
  'API tokens: revokes a token, which the runtime may only read. '
  'Checks: the sealed member holds api_tokens:manage; the token is the sealed workspace''s';

-- ---------------------------------------------------------------------------------------------
-- app.begin_token_request: the request context of an `Authorization: Bearer` request, in one
-- round trip, like app.begin_request (sql/110), whose columns it answers (token_id set).
-- Finds the live token by its hash (not revoked, not expired), in a workspace that is not
-- deleted, whose creator is still a member. `p_workspace_id`, when the request names one, must be
-- the token's; another workspace answers a row with no workspace (the gate's not_a_member) and
-- seals nobody. Otherwise it seals the creator as the user, the token, no session, the token's
-- workspace, and the creator's role's permissions as they are now, cut down to the token's
-- scopes (with the creator's contacts scope). No live token, or a creator who is no member: no
-- row and an anonymous context (401). Stamps last_used_at at most once a minute, and records
-- the token's first use of each UTC day (api_token.used) with that stamp (so a use within the
-- minute after the stamp of a use just before midnight is not the new day's first: the next
-- stamp is); both are the request transaction's, so a request that rolls back leaves neither. The service sends it right after BEGIN in the
-- same write, every argument bound.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.begin_token_request(bytea, uuid, text, text, text);
create function app.begin_token_request(
    p_token_hash bytea, p_workspace_id uuid, p_ip text default null, p_user_agent text default null, p_request_id text default null)
  returns table (
    session_id uuid, user_id uuid, email text, name text, email_verified boolean, is_platform_admin boolean,
    workspace_id uuid, role text, workspace_name text, workspace_status text, status_reason text,
    trial_ends_at timestamptz, billing_status text, billing_grace_ends_at timestamptz, db_now timestamptz, reissue boolean, mfa boolean,
    permissions text[], contacts_scope text, department_ids uuid[],
    token_id uuid
  )
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid;
  v_token uuid;
  v_scopes text[];
  v_user uuid;
  v_last_used timestamptz;
  v_role text;
  v_role_id uuid;
  v_department uuid;
  v_scope text;
  v_ws_name text;
  v_status text;
  v_reason text;
  v_trial timestamptz;
  v_billing text;
  v_grace timestamptz;
  v_email text;
  v_name text;
  v_verified boolean;
  v_permissions text[];
  v_department_ids uuid[];
  v_previous timestamptz;
begin
  if p_token_hash is not null then
    select t.workspace_id, t.id, t.scopes, t.created_by, t.last_used_at
      into v_ws, v_token, v_scopes, v_user, v_last_used
      from public.api_tokens t
     where t.token_hash = p_token_hash
       and t.revoked_at is null
       and (t.expires_at is null or t.expires_at > pg_catalog.now());
  end if;
  if v_token is not null then
    select ms.role, ms.role_id, ms.department_id, ms.contacts_scope, w.name, w.status, w.status_reason, w.trial_ends_at,
           w.billing_status, w.billing_grace_ends_at, u.email, u.name, u.email_verified_at is not null
      into v_role, v_role_id, v_department, v_scope, v_ws_name, v_status, v_reason, v_trial,
           v_billing, v_grace, v_email, v_name, v_verified
      from public.memberships ms
      join public.workspaces w on w.id = ms.workspace_id
      join public.users u on u.id = ms.user_id
     where ms.workspace_id = v_ws and ms.user_id = v_user and w.deleted_at is null;
  end if;

  if v_role is null then
    -- No live token, or one that authenticates nobody any more: an anonymous context (fail closed).
    perform app.seal_context('request', null, null, null, p_ip, p_user_agent, p_request_id);
    return;
  end if;

  if p_workspace_id is not null and p_workspace_id <> v_ws then
    -- The request names another workspace: nobody is sealed, and the row has no workspace.
    perform app.seal_context('request', null, null, null, p_ip, p_user_agent, p_request_id);
    return query select null::uuid, v_user, v_email, v_name, v_verified, false,
      null::uuid, null::text, null::text, null::text, null::text, null::timestamptz, null::text, null::timestamptz,
      pg_catalog.now(), false, false, null::text[], null::text, null::uuid[], v_token;
    return;
  end if;

  v_permissions := array(select p from pg_catalog.unnest(app.role_permissions_of(v_ws, v_role, v_role_id)) p
                          where p = any (v_scopes) order by 1);
  v_scope := coalesce(v_scope, app.default_contacts_scope(v_role));
  if v_scope = 'department' then
    v_department_ids := app.department_subtree(v_ws, v_department);
  end if;
  perform app.seal_context('request', v_user, null, v_ws, p_ip, p_user_agent, p_request_id,
    v_permissions, v_scope, v_department_ids, v_token);

  if v_last_used is null or v_last_used < pg_catalog.now() - interval '60 seconds' then
    -- Again under the row's lock: of concurrent first requests, one stamps and records.
    select t.last_used_at into v_previous from public.api_tokens t
     where t.workspace_id = v_ws and t.id = v_token for update;
    if v_previous is null or v_previous < pg_catalog.now() - interval '60 seconds' then
      update public.api_tokens t set last_used_at = pg_catalog.now() where t.workspace_id = v_ws and t.id = v_token;
      if v_previous is null or (v_previous at time zone 'UTC')::date < (pg_catalog.now() at time zone 'UTC')::date then
        perform app.audit_append(v_ws, 'event', 'api_token.used', 'api_token', v_token::text, null,
          pg_catalog.jsonb_build_object('previousUseAt', v_previous));
      end if;
    end if;
  end if;

  return query select null::uuid, v_user, v_email, v_name, v_verified, false,
    v_ws, app.role_ref(v_role, v_role_id), v_ws_name, v_status, v_reason, v_trial, v_billing, v_grace,
    pg_catalog.now(), false, false, v_permissions, v_scope, v_department_ids, v_token;
end
$$;
alter function app.begin_token_request(bytea, uuid, text, text, text) owner to app_privileged;
revoke all on function app.begin_token_request(bytea, uuid, text, text, text) from public;
grant execute on function app.begin_token_request(bytea, uuid, text, text, text) to app_runtime;
comment on function app.begin_token_request(bytea, uuid, text, text, text) is
  'Request context of an API token: finds the token by hash and its creator''s membership before any context exists. '
  'Checks: the token hash names a live token of a workspace that is not deleted, whose creator is still a member; '
  'a workspace the request names is the token''s; the permissions are the creator''s current role''s within the token''s scopes';
