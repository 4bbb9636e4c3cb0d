-- =============================================================================================
-- Sessions (public.sessions): where every request's context comes from
--
-- app.begin_request turns a session token into the request's sealed context (020_context.sql);
-- app.open_session and app.reissue_session are the only ways a session comes to be.
-- =============================================================================================

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
  for select to app_runtime using (user_id = (select app.current_account_id()));
drop policy if exists "users open their own sessions" on public.sessions;
drop policy if exists "users revoke their own sessions" on public.sessions;
-- (The runtime may only UPDATE revoked_at, and only to a time: a revoked session stays revoked.)
create policy "users revoke their own sessions" on public.sessions
  for update to app_runtime using (user_id = (select app.current_account_id()))
  with check (user_id = (select app.current_account_id()) and revoked_at is not null);
drop policy if exists "privileged functions look sessions up by token" on public.sessions;
create policy "privileged functions look sessions up by token" on public.sessions
  for select to app_privileged using (true);
drop policy if exists "privileged functions re-issue sessions" on public.sessions;
drop policy if exists "privileged functions open sessions for the sealed user" on public.sessions;
create policy "privileged functions open sessions for the sealed user" on public.sessions
  for insert to app_privileged
  with check (user_id = (select app.current_user_id()) and revoked_at is null and replaced_by is null);

-- Whether `p_user_id` belongs to the request's workspace: the sessions a role change there may
-- mark for re-issue (sql/130). Runs as the privileged functions' owner, which reads memberships.
create or replace function app.is_current_workspace_member(p_user_id uuid) returns boolean
  language plpgsql stable
as $$
begin
  return exists (select 1 from public.memberships m where m.workspace_id = app.current_workspace_id() and m.user_id = p_user_id);
end
$$;
revoke all on function app.is_current_workspace_member(uuid) from public;
grant execute on function app.is_current_workspace_member(uuid) to app_privileged;

-- The sealed user's own sessions (activity, revocation, re-issue), and the sessions of members
-- of the request's workspace, which a role change there marks for a new token (sql/130).
drop policy if exists "privileged functions record session activity" on public.sessions;
drop policy if exists "privileged functions change the sealed user's or a co-member's sessions" on public.sessions;
drop policy if exists "privileged functions change the user's or co-members' sessions" on public.sessions;
create policy "privileged functions change the user's or co-members' sessions" on public.sessions
  for update to app_privileged
  using (user_id = (select app.current_user_id()) or app.is_current_workspace_member(user_id))
  with check (user_id = (select app.current_user_id()) or app.is_current_workspace_member(user_id));

-- ---------------------------------------------------------------------------------------------
-- app.begin_request: the request context in one round trip.
-- Resolves the session by token hash (not revoked, within its absolute and idle lifetimes), the
-- user, and, when a workspace is named, the caller's membership and the workspace's approval,
-- trial and billing state. It seals the context (sql/020): the user and session only for a live
-- token, the workspace only for a member, and the request's metadata for the audit rows; and
-- returns the row the HTTP gates decide on (mfa: the session was signed in, or has since been
-- confirmed, with a second factor; role: as the API names it, app.role_ref; permissions: the
-- role's, as they are now, sql/125; contacts_scope and department_ids: which contacts the
-- member sees, sql/127 and sql/150). A member's permissions and scope are sealed with the
-- context, for the policies to read. Records session activity at most once a minute.
-- A session marked for re-issue (a role change, sql/130) answers reissue = true; the service
-- then calls app.reissue_session. A token that was just re-issued still resolves, for 60 seconds
-- and only while its replacement is live, *as its replacement*: requests that were in flight
-- when the cookie changed succeed, and signing out with the old cookie ends the new session.
-- The service sends it right after BEGIN in the same write, with every argument bound: a token
-- hash in query text would be readable in pg_stat_activity by every other runtime connection.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.begin_request(bytea, uuid);
drop function if exists app.begin_request(bytea, uuid, text, text, text);
create function app.begin_request(
    p_token_hash bytea, p_workspace_id uuid, p_ip text default null, p_user_agent text default null, p_request_id text default null)
  returns table (
    session_id uuid, user_id uuid, email text, name text, email_verified boolean, is_platform_admin boolean,
    workspace_id uuid, role text, workspace_name text, workspace_status text, status_reason text,
    trial_ends_at timestamptz, billing_status text, billing_grace_ends_at timestamptz, db_now timestamptz, reissue boolean, mfa boolean,
    permissions text[], contacts_scope text, department_ids uuid[],
    -- An API token's request only (app.begin_token_request, sql/210, answers these same columns).
    token_id uuid
  )
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_session uuid;
  v_reissue boolean;
  v_mfa boolean;
  v_user uuid;
  v_last_seen timestamptz;
  v_email text;
  v_name text;
  v_verified boolean;
  v_workspace uuid;
  v_role text;
  v_role_id uuid;
  v_department uuid;
  v_scope text;
  v_permissions text[];
  v_department_ids uuid[];
  v_ws_name text;
  v_status text;
  v_reason text;
  v_trial timestamptz;
  v_billing text;
  v_grace timestamptz;
begin
  if p_token_hash is not null then
    select se.id, se.user_id, se.last_seen_at, se.reissue_required, se.mfa_at is not null, u.email, u.name, u.email_verified_at is not null
      into v_session, v_user, v_last_seen, v_reissue, v_mfa, v_email, v_name, v_verified
      from public.sessions se
      join public.users u on u.id = se.user_id
     where se.token_hash = p_token_hash
       and se.revoked_at is null
       and se.expires_at > pg_catalog.now()
       and se.last_seen_at + pg_catalog.make_interval(secs => se.idle_timeout_seconds) > pg_catalog.now();
    if v_session is null then
      -- Not a live token: perhaps one re-issued moments ago (see above). Runs only for tokens
      -- that fail the lookup, never on the path of a valid session.
      select nx.id, nx.user_id, nx.last_seen_at, nx.reissue_required, nx.mfa_at is not null, u.email, u.name, u.email_verified_at is not null
        into v_session, v_user, v_last_seen, v_reissue, v_mfa, v_email, v_name, v_verified
        from public.sessions se
        join public.sessions nx on nx.id = se.replaced_by
        join public.users u on u.id = nx.user_id
       where se.token_hash = p_token_hash
         and se.revoked_at > pg_catalog.now() - interval '60 seconds'
         and nx.revoked_at is null
         and nx.expires_at > pg_catalog.now()
         and nx.last_seen_at + pg_catalog.make_interval(secs => nx.idle_timeout_seconds) > pg_catalog.now();
    end if;
  end if;

  if v_user is not null and p_workspace_id is not null then
    select w.id, ms.role, ms.role_id, ms.department_id, ms.contacts_scope, w.name, w.status, w.status_reason, w.trial_ends_at, w.billing_status, w.billing_grace_ends_at
      into v_workspace, v_role, v_role_id, v_department, v_scope, v_ws_name, v_status, v_reason, v_trial, v_billing, v_grace
      from public.memberships ms
      join public.workspaces w on w.id = ms.workspace_id
     where ms.workspace_id = p_workspace_id and ms.user_id = v_user and w.deleted_at is null;
  end if;
  if v_workspace is not null then
    v_permissions := app.role_permissions_of(v_workspace, v_role, v_role_id);
    v_scope := coalesce(v_scope, app.default_contacts_scope(v_role));
    if v_scope = 'department' then
      v_department_ids := app.department_subtree(v_workspace, v_department);
    end if;
  end if;

  -- Every field of the context is written, whatever this backend held before: a workspace only
  -- for a member, a user only for a live session (fail closed).
  perform app.seal_context('request', v_user, v_session, v_workspace, p_ip, p_user_agent, p_request_id,
    v_permissions, v_scope, v_department_ids);
  if v_user is null then
    return;
  end if;

  if v_last_seen < pg_catalog.now() - interval '60 seconds' then
    update public.sessions set last_seen_at = pg_catalog.now() where id = v_session;
  end if;

  return query select v_session, v_user, v_email, v_name, v_verified,
    exists (select 1 from public.platform_admins pa where pa.user_id = v_user),
    v_workspace, app.role_ref(v_role, v_role_id), v_ws_name, v_status, v_reason, v_trial, v_billing, v_grace, pg_catalog.now(),
    v_reissue, v_mfa, v_permissions, v_scope, v_department_ids, null::uuid;
end
$$;
alter function app.begin_request(bytea, uuid, text, text, text) owner to app_privileged;
revoke all on function app.begin_request(bytea, uuid, text, text, text) from public;
grant execute on function app.begin_request(bytea, uuid, text, text, text) to app_runtime;
comment on function app.begin_request(bytea, uuid, text, text, text) is
  'Request context: finds the session by token hash and the membership before any context exists. '
  'Checks: the token hash names a live session; the workspace is sealed only for a member of it';

-- ---------------------------------------------------------------------------------------------
-- app.open_session: a new session for the sealed user, under `p_token_hash` (SHA-256 of a
-- token the service hands the client), which becomes the request's session. For the functions
-- that verified who the user is (a password, a second factor, a registration, a re-issue); not
-- callable by the runtime. Lifetimes are bounded, whoever asks. `p_mfa_at`: when the caller
-- verified a second factor for this session (NULL: the password alone).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.open_session(bytea, integer, integer, timestamptz, timestamptz);
create or replace function app.open_session(
    p_token_hash bytea, p_absolute_seconds integer, p_idle_seconds integer,
    p_created_at timestamptz default null, p_expires_at timestamptz default null, p_mfa_at timestamptz default null)
  returns uuid
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
  v_id uuid;
  v_ip text;
  v_user_agent text;
begin
  if p_token_hash is null or pg_catalog.length(p_token_hash) <> 32 then
    raise exception 'a session token hash is 32 bytes' using errcode = 'GHINV';
  end if;
  if p_absolute_seconds not between 60 and 366 * 86400 or p_idle_seconds not between 60 and 366 * 86400 then
    raise exception 'session lifetimes run from a minute to a year' using errcode = 'GHINV';
  end if;
  select c.ip, c.user_agent into v_ip, v_user_agent
    from public.request_contexts c
   where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned();
  insert into public.sessions (user_id, token_hash, created_at, last_seen_at, expires_at, idle_timeout_seconds, ip, user_agent, mfa_at)
  values (v_user, p_token_hash, coalesce(p_created_at, pg_catalog.now()), pg_catalog.now(),
          coalesce(p_expires_at, pg_catalog.now() + pg_catalog.make_interval(secs => p_absolute_seconds)),
          p_idle_seconds, v_ip, v_user_agent, p_mfa_at)
  returning id into v_id;
  perform app.reseal_context(v_user, v_id, null);
  return v_id;
end
$$;
revoke all on function app.open_session(bytea, integer, integer, timestamptz, timestamptz, timestamptz) from public;
grant execute on function app.open_session(bytea, integer, integer, timestamptz, timestamptz, timestamptz) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.rotate_session: after a change to how the account is secured (its password, its second
-- factor), signs out every other session of the signed-in user and replaces the request's own
-- session with a new one under `p_token_hash`, so a copy of the old cookie stops working too,
-- and audits the change as `p_action` on the user, `p_after` plus how many sessions were signed
-- out and the new session. `p_mfa_at` is the new session's second-factor time (see
-- app.open_session). Answers the new session. For the privileged functions only.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.rotate_session(bytea, integer, integer, timestamptz);
create or replace function app.rotate_session(
    p_token_hash bytea, p_absolute_seconds integer, p_idle_seconds integer, p_mfa_at timestamptz,
    p_action text, p_after jsonb default '{}')
  returns uuid
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
  v_session uuid := app.current_session_id();
  v_others integer;
  v_new uuid;
begin
  if v_session is null then
    raise exception 'Sign in first' using errcode = 'GHAUT';
  end if;
  update public.sessions set revoked_at = pg_catalog.now()
   where user_id = v_user and revoked_at is null and id <> v_session;
  get diagnostics v_others = row_count;
  v_new := app.open_session(p_token_hash, p_absolute_seconds, p_idle_seconds, null, null, p_mfa_at);
  update public.sessions set revoked_at = pg_catalog.now() where id = v_session and revoked_at is null;
  perform app.audit_append(null, 'event', p_action, 'user', v_user::text, null,
    p_after || pg_catalog.jsonb_build_object('sessionsRevoked', v_others, 'sessionRotatedTo', v_new));
  return v_new;
end
$$;
revoke all on function app.rotate_session(bytea, integer, integer, timestamptz, text, jsonb) from public;
grant execute on function app.rotate_session(bytea, integer, integer, timestamptz, text, jsonb) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.reissue_session: replaces a session marked for re-issue with a new one under a new token.
-- The service calls it after the request's own transaction has ended, with the old token's hash
-- and the new one's; it answers the new session's id, or NULL when the old session is not live
-- or not marked (a concurrent request re-issued it first: the row lock makes exactly one win).
-- The new session keeps the old one's user, sign-in time, second factor, device and absolute expiry: a
-- re-issue changes the token, never the lifetime. Audited as the session's user, with the
-- request's IP, user agent and request id.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.reissue_session(bytea, bytea, text, text, text);
create function app.reissue_session(
    p_old_hash bytea, p_new_hash bytea, p_ip text default null, p_user_agent text default null, p_request_id text default null)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  old public.sessions;
  v_user uuid;
  v_new uuid;
begin
  -- The token names the user; the request becomes theirs (the sessions' write policies are the
  -- sealed user's), then their session is locked and checked again under the lock.
  select se.user_id into v_user from public.sessions se where se.token_hash = p_old_hash;
  if not found then
    return null;
  end if;
  perform app.seal_context('request', v_user, null, null, p_ip, p_user_agent, p_request_id);
  select * into old from public.sessions se
   where se.token_hash = p_old_hash
     and se.reissue_required
     and se.revoked_at is null
     and se.expires_at > pg_catalog.now()
     and se.last_seen_at + pg_catalog.make_interval(secs => se.idle_timeout_seconds) > pg_catalog.now()
     for update;
  if not found then
    return null;
  end if;
  insert into public.sessions (user_id, token_hash, created_at, last_seen_at, expires_at, idle_timeout_seconds, ip, user_agent, mfa_at)
  values (old.user_id, p_new_hash, old.created_at, pg_catalog.now(), old.expires_at, old.idle_timeout_seconds, old.ip, old.user_agent,
          old.mfa_at)
  returning id into v_new;
  update public.sessions se set revoked_at = pg_catalog.now(), reissue_required = false, replaced_by = v_new
   where se.id = old.id;
  perform app.reseal_context(old.user_id, v_new, null);
  perform app.audit_append(null, 'event', 'auth.session_reissued', 'session', old.id::text,
    pg_catalog.jsonb_build_object('sessionId', old.id), pg_catalog.jsonb_build_object('sessionId', v_new, 'reason', 'role_change'));
  return v_new;
end
$$;
alter function app.reissue_session(bytea, bytea, text, text, text) owner to app_privileged;
revoke all on function app.reissue_session(bytea, bytea, text, text, text) from public;
grant execute on function app.reissue_session(bytea, bytea, text, text, text) to app_runtime;
comment on function app.reissue_session(bytea, bytea, text, text, text) is
  'Session re-issue after a role change: runs after the request transaction, with no context. '
  'Checks: the caller holds the old token (its hash names a live session marked for re-issue)';
