-- =============================================================================================
-- Privileged functions
--
-- The short list of paths that must cross the per-user or per-tenant policies. Each one:
-- SECURITY DEFINER owned by app_privileged (a NOLOGIN role with explicit policies, see sql/030),
-- SET search_path = pg_catalog, pg_temp with fully qualified names (so a caller cannot plant
-- objects that shadow ours), EXECUTE revoked from PUBLIC and granted to app_runtime only, and a
-- comment saying why it must cross tenants.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- app.begin_request: the request context in one round trip.
-- Resolves the session by token hash (not revoked, within its absolute and idle lifetimes), the
-- user, and, when a workspace is named, the caller's membership and the workspace's approval,
-- trial and billing state. It sets the transaction-local context (app.user_id, app.session_id,
-- and app.workspace_id only if the caller is a member) and returns the row the HTTP gates
-- decide on. Records session activity at most once a minute, not on every request.
-- A session marked for re-issue (a role change, sql/080) answers reissue = true; the service
-- then calls app.reissue_session. A token that was just re-issued still resolves, for 60 seconds
-- and only while its replacement is live, *as its replacement*: requests that were in flight
-- when the cookie changed succeed, and signing out with the old cookie ends the new session.
-- Crosses tenants because the session and membership must be found before any context exists.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.begin_request(bytea, uuid);
drop function if exists app.begin_request(bytea, uuid, text, text, text);
create function app.begin_request(
    p_token_hash bytea, p_workspace_id uuid, p_ip text default null, p_user_agent text default null, p_request_id text default null)
  returns table (
    session_id uuid, user_id uuid, email text, name text, email_verified boolean,
    workspace_id uuid, role text, workspace_name text, workspace_status text, status_reason text,
    trial_ends_at timestamptz, billing_status text, db_now timestamptz, reissue boolean
  )
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_session uuid;
  v_reissue boolean;
  v_user uuid;
  v_last_seen timestamptz;
  v_email text;
  v_name text;
  v_verified boolean;
  v_workspace uuid;
  v_role text;
  v_ws_name text;
  v_status text;
  v_reason text;
  v_trial timestamptz;
  v_billing text;
begin
  if p_token_hash is not null then
    select se.id, se.user_id, se.last_seen_at, se.reissue_required, u.email, u.name, u.email_verified_at is not null
      into v_session, v_user, v_last_seen, v_reissue, v_email, v_name, v_verified
      from public.sessions se
      join public.users u on u.id = se.user_id
     where se.token_hash = p_token_hash
       and se.revoked_at is null
       and se.expires_at > pg_catalog.now()
       and se.last_seen_at + pg_catalog.make_interval(secs => se.idle_timeout_seconds) > pg_catalog.now();
    if v_session is null then
      -- Not a live token: perhaps one re-issued moments ago (see above). Runs only for tokens
      -- that fail the lookup, never on the path of a valid session.
      select nx.id, nx.user_id, nx.last_seen_at, nx.reissue_required, u.email, u.name, u.email_verified_at is not null
        into v_session, v_user, v_last_seen, v_reissue, v_email, v_name, v_verified
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
    select w.id, ms.role, w.name, w.status, w.status_reason, w.trial_ends_at, w.billing_status
      into v_workspace, v_role, v_ws_name, v_status, v_reason, v_trial, v_billing
      from public.memberships ms
      join public.workspaces w on w.id = ms.workspace_id
     where ms.workspace_id = p_workspace_id and ms.user_id = v_user;
  end if;

  -- Every setting is written, to a value or to '' (no context), whatever this backend did
  -- before: a workspace only for a member, a user only for a valid session (fail closed).
  -- The request's metadata is recorded with every audit row of this transaction.
  perform app.set_context(v_user, v_session, v_workspace, p_ip, p_user_agent, p_request_id);
  if v_user is null then
    return;
  end if;

  if v_last_seen < pg_catalog.now() - interval '60 seconds' then
    update public.sessions set last_seen_at = pg_catalog.now() where id = v_session;
  end if;

  return query select v_session, v_user, v_email, v_name, v_verified,
    v_workspace, v_role, v_ws_name, v_status, v_reason, v_trial, v_billing, pg_catalog.now(), v_reissue;
end
$$;
alter function app.begin_request(bytea, uuid, text, text, text) owner to app_privileged;
revoke all on function app.begin_request(bytea, uuid, text, text, text) from public;
grant execute on function app.begin_request(bytea, uuid, text, text, text) to app_runtime;
comment on function app.begin_request(bytea, uuid, text, text, text) is
  'Request context: finds the session by token hash and the membership before any context exists';

-- ---------------------------------------------------------------------------------------------
-- app.reissue_session: replaces a session marked for re-issue with a new one under a new token.
-- The service calls it after the request's own transaction has ended, with the old token's hash
-- and the new one's; it answers the new session's id, or NULL when the old session is not live
-- or not marked (a concurrent request re-issued it first: the row lock makes exactly one win).
-- The new session keeps the old one's user, sign-in time, device and absolute expiry: a
-- re-issue changes the token, never the lifetime. The re-issue is audited as the session's user,
-- with the request's IP, user agent and request id. Crosses users only in the sense that no
-- request context exists at that point; the caller must hold the old token to name its hash.
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
  v_new uuid;
begin
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
  insert into public.sessions (user_id, token_hash, created_at, last_seen_at, expires_at, idle_timeout_seconds, ip, user_agent)
  values (old.user_id, p_new_hash, old.created_at, pg_catalog.now(), old.expires_at, old.idle_timeout_seconds, old.ip, old.user_agent)
  returning id into v_new;
  update public.sessions se set revoked_at = pg_catalog.now(), reissue_required = false, replaced_by = v_new
   where se.id = old.id;
  perform app.set_context(old.user_id, v_new, null, p_ip, p_user_agent, p_request_id);
  perform app.audit_append(null, 'event', 'auth.session_reissued', 'session', old.id::text,
    pg_catalog.jsonb_build_object('sessionId', old.id), pg_catalog.jsonb_build_object('sessionId', v_new, 'reason', 'role_change'));
  return v_new;
end
$$;
alter function app.reissue_session(bytea, bytea, text, text, text) owner to app_privileged;
revoke all on function app.reissue_session(bytea, bytea, text, text, text) from public;
grant execute on function app.reissue_session(bytea, bytea, text, text, text) to app_runtime;
comment on function app.reissue_session(bytea, bytea, text, text, text) is
  'Session re-issue after a role change: runs after the request transaction, with no context';

-- ---------------------------------------------------------------------------------------------
-- app.find_login: the password hash for an email, for sign-in.
-- Crosses users because the caller is not signed in yet. Returns no row for an unknown email;
-- the service then verifies against a dummy hash so both cases take the same time.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.find_login(text);
create function app.find_login(p_email text)
  returns table (user_id uuid, password_hash text)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select u.id, u.password_hash from public.users u where u.email = p_email
$$;
alter function app.find_login(text) owner to app_privileged;
revoke all on function app.find_login(text) from public;
grant execute on function app.find_login(text) to app_runtime;
comment on function app.find_login(text) is
  'Sign-in: looks a user up by email before anyone is authenticated';

-- ---------------------------------------------------------------------------------------------
-- app.consume_email_token: uses a single-use emailed token, atomically.
-- One UPDATE ... WHERE used_at IS NULL: of two concurrent uses exactly one gets the row.
-- For 'verify_email' it also marks the address verified. Crosses users because whoever holds
-- the link need not be signed in (or may be signed in as someone else).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.consume_email_token(bytea, text);
create function app.consume_email_token(p_token_hash bytea, p_purpose text)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
begin
  update public.email_tokens
     set used_at = pg_catalog.now()
   where token_hash = p_token_hash
     and purpose = p_purpose
     and used_at is null
     and expires_at > pg_catalog.now()
  returning email_tokens.user_id into v_user;
  if v_user is not null and p_purpose = 'verify_email' then
    update public.users
       set email_verified_at = coalesce(email_verified_at, pg_catalog.now()), updated_at = pg_catalog.now()
     where id = v_user;
  end if;
  return v_user;
end
$$;
alter function app.consume_email_token(bytea, text) owner to app_privileged;
revoke all on function app.consume_email_token(bytea, text) from public;
grant execute on function app.consume_email_token(bytea, text) to app_runtime;
comment on function app.consume_email_token(bytea, text) is
  'Email links: the holder of a verification or reset link need not be signed in as its user';

-- ---------------------------------------------------------------------------------------------
-- app.issue_password_reset: the outbox worker's half of forgot-password. The request only
-- queued the address (the same work for every address, so its timing reveals nothing); here,
-- for an address with an account, a single-use reset token is stored (its hash, p_ttl_seconds
-- to live) and the request audited as that user with the request's IP, user agent and request
-- id; the user's name is returned for the email. No row: no such account, nothing is written.
-- Crosses users because nobody is signed in. Not for the runtime: only the worker (the owner,
-- as a member of app_privileged) calls it.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.issue_password_reset(text, bytea, integer, text, text, text);
create function app.issue_password_reset(
    p_email text, p_token_hash bytea, p_ttl_seconds integer, p_ip text, p_user_agent text, p_request_id text)
  returns table (user_id uuid, name text)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_name text;
begin
  select u.id, u.name into v_user, v_name from public.users u where u.email = p_email;
  if v_user is null then
    return;
  end if;
  perform app.set_context(v_user, null, null, p_ip, p_user_agent, p_request_id);
  insert into public.email_tokens (user_id, purpose, token_hash, expires_at)
  values (v_user, 'reset_password', p_token_hash, pg_catalog.now() + pg_catalog.make_interval(secs => p_ttl_seconds));
  perform app.audit_append(null, 'event', 'auth.password_reset_requested', 'user', v_user::text, null, null);
  return query select v_user, v_name;
end
$$;
alter function app.issue_password_reset(text, bytea, integer, text, text, text) owner to app_privileged;
revoke all on function app.issue_password_reset(text, bytea, integer, text, text, text) from public;
comment on function app.issue_password_reset(text, bytea, integer, text, text, text) is
  'Password reset: the outbox worker issues a reset token for an address before anyone is signed in';

-- ---------------------------------------------------------------------------------------------
-- app.create_workspace: a new pending workspace owned by the current user.
-- Crosses tenants because the owner's membership row belongs to a workspace that is not the
-- caller's context yet. One owned workspace per user is the workspaces_one_per_owner
-- constraint, so two concurrent creations cannot both succeed.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.create_workspace(text);
create function app.create_workspace(p_name text)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.current_user_id();
  v_id uuid;
begin
  if v_user is null then
    raise exception 'no authenticated user in this transaction' using errcode = '42501';
  end if;
  if not exists (select 1 from public.users u where u.id = v_user and u.email_verified_at is not null) then
    raise exception 'a verified email is required to create a workspace' using errcode = '42501';
  end if;
  insert into public.workspaces (name, owner_id) values (p_name, v_user) returning id into v_id;
  insert into public.memberships (workspace_id, user_id, role) values (v_id, v_user, 'owner');
  return v_id;
end
$$;
alter function app.create_workspace(text) owner to app_privileged;
revoke all on function app.create_workspace(text) from public;
grant execute on function app.create_workspace(text) to app_runtime;
comment on function app.create_workspace(text) is
  'Workspace creation: writes the owner membership of a workspace outside the caller''s context';

-- ---------------------------------------------------------------------------------------------
-- app.my_workspaces: the current user's memberships, one per workspace.
-- Crosses tenants by nature: each row belongs to a different workspace.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.my_workspaces();
create function app.my_workspaces()
  returns table (workspace_id uuid, name text, role text, status text)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select w.id, w.name, m.role, w.status
    from public.memberships m
    join public.workspaces w on w.id = m.workspace_id
   where m.user_id = app.current_user_id()
   order by m.created_at, w.id
$$;
alter function app.my_workspaces() owner to app_privileged;
revoke all on function app.my_workspaces() from public;
grant execute on function app.my_workspaces() to app_runtime;
comment on function app.my_workspaces() is
  'Workspace switcher: lists the caller''s memberships, each in a different tenant';

-- ---------------------------------------------------------------------------------------------
-- Platform administration. The service lets only verified PLATFORM_ADMIN_EMAILS call these;
-- they cross tenants because reviewing workspaces is the platform's job, not a tenant's.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.admin_list_workspaces(text);
create function app.admin_list_workspaces(p_status text)
  returns table (
    id uuid, name text, status text, status_reason text, owner_id uuid, owner_email text,
    trial_ends_at timestamptz, billing_status text, approved_at timestamptz, created_at timestamptz
  )
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select w.id, w.name, w.status, w.status_reason, w.owner_id, u.email,
         w.trial_ends_at, w.billing_status, w.approved_at, w.created_at
    from public.workspaces w
    join public.users u on u.id = w.owner_id
   where p_status is null or w.status = p_status
   order by w.created_at desc, w.id
   limit 500
$$;
alter function app.admin_list_workspaces(text) owner to app_privileged;
revoke all on function app.admin_list_workspaces(text) from public;
grant execute on function app.admin_list_workspaces(text) to app_runtime;
comment on function app.admin_list_workspaces(text) is
  'Platform administration: reviews workspaces of every tenant';

-- Compare-and-set of a workspace's state: changes it only if its status is one of p_from, under
-- a row lock so two admins cannot race. p_to NULL keeps the status (trial changes);
-- p_trial_ends_at NULL keeps the trial end. Answers 'not_found', 'conflict' or 'ok' with the row.
drop function if exists app.admin_transition_workspace(uuid, text[], text, text, timestamptz, boolean);
drop function if exists app.admin_transition_workspace(text, uuid, text[], text, text, timestamptz, boolean);
create function app.admin_transition_workspace(
    p_action text, p_id uuid, p_from text[], p_to text, p_reason text, p_trial_ends_at timestamptz, p_set_reason boolean)
  returns table (
    outcome text, id uuid, name text, status text, status_reason text, owner_id uuid, owner_email text,
    trial_ends_at timestamptz, billing_status text, approved_at timestamptz, created_at timestamptz
  )
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  w record;
begin
  select * into w from public.workspaces ws where ws.id = p_id for update;
  if not found then
    return query select 'not_found'::text, null::uuid, null::text, null::text, null::text, null::uuid,
      null::text, null::timestamptz, null::text, null::timestamptz, null::timestamptz;
    return;
  end if;
  if not (w.status = any (p_from)) then
    outcome := 'conflict';
  else
    update public.workspaces ws
       set status = coalesce(p_to, ws.status),
           status_reason = case when p_set_reason then p_reason else ws.status_reason end,
           trial_ends_at = coalesce(p_trial_ends_at, ws.trial_ends_at),
           approved_at = case when p_to = 'active' and ws.approved_at is null then pg_catalog.now() else ws.approved_at end,
           updated_at = pg_catalog.now()
     where ws.id = p_id;
    outcome := 'ok';
    -- Every transition is audited, in the workspace's own chain, in this same transaction.
    perform app.audit_append(p_id, 'event', 'workspace.' || p_action, 'workspace', p_id::text,
      pg_catalog.jsonb_build_object('status', w.status, 'statusReason', w.status_reason, 'trialEndsAt', w.trial_ends_at),
      (select pg_catalog.jsonb_build_object('status', ws.status, 'statusReason', ws.status_reason, 'trialEndsAt', ws.trial_ends_at)
         from public.workspaces ws where ws.id = p_id));
  end if;
  return query
    select outcome, ws.id, ws.name, ws.status, ws.status_reason, ws.owner_id, u.email,
           ws.trial_ends_at, ws.billing_status, ws.approved_at, ws.created_at
      from public.workspaces ws join public.users u on u.id = ws.owner_id
     where ws.id = p_id;
end
$$;
alter function app.admin_transition_workspace(text, uuid, text[], text, text, timestamptz, boolean) owner to app_privileged;
revoke all on function app.admin_transition_workspace(text, uuid, text[], text, text, timestamptz, boolean) from public;
grant execute on function app.admin_transition_workspace(text, uuid, text[], text, text, timestamptz, boolean) to app_runtime;
comment on function app.admin_transition_workspace(text, uuid, text[], text, text, timestamptz, boolean) is
  'Platform administration: approves, rejects, suspends, reinstates and sets trials of any tenant';
