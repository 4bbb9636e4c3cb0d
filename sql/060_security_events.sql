-- =============================================================================================
-- Security events (public.security_events): refused attempts
--
-- A wrong password or MFA code, a bad single-use token, a request into a workspace its caller is
-- not a member of, a forbidden action, a CSRF refusal, a rate limit, a session cookie that is no
-- longer (or never was) live: the request is refused and
-- its transaction rolls back, audit rows included. The service then records the refusal here, in
-- a statement of its own after the reply (src/plugins/security-events.ts), through
-- app.record_security_event, which takes who made the attempt from a live session's token hash
-- and which account it was against from the address, never from an argument that names a user.
--
-- Append-only like the audit log (the same raising triggers, ENABLE ALWAYS), but not chained: a
-- flood of refusals must not queue on a chain head, and it must not fill the disk either, so
-- events are kept 90 days (then the retention sweep of sql/190 removes them, and nothing removes
-- a younger one), and the function records at most 60 events a minute per client address and
-- 1,000 in all; past
-- that an attempt is refused and not recorded (the service's own per-address budget usually
-- stops it before it costs a statement). Platform administrators read every event
-- (app.admin_security_events); a workspace's owners read the events of requests that named
-- their workspace (app.workspace_security_events). The runtime reads and writes nothing directly.
-- =============================================================================================

alter table public.security_events enable row level security;
alter table public.security_events force row level security;
revoke all on public.security_events from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert on public.security_events to app_privileged;
grant select on public.security_events to app_auditor;
drop policy if exists "privileged functions record refusals" on public.security_events;
create policy "privileged functions record refusals" on public.security_events
  for insert to app_privileged with check (true);
drop policy if exists "privileged functions read refusals" on public.security_events;
create policy "privileged functions read refusals" on public.security_events
  for select to app_privileged using (true);
drop policy if exists "auditors read refusals" on public.security_events;
create policy "auditors read refusals" on public.security_events
  for select to app_auditor using (true);

-- ---------------------------------------------------------------------------------------------
-- app.reject_recent_delete: BEFORE DELETE guard of an append-only log with a retention: a row
-- goes only once it is older than the trigger's argument (an interval), for every role, the
-- schema owner included, and in replica mode too (ENABLE ALWAYS). Nobody erases a recent attempt;
-- the retention sweep (sql/190) removes the old ones, so a long flood cannot fill the disk.
-- ---------------------------------------------------------------------------------------------
create or replace function app.reject_recent_delete() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  if old.created_at >= pg_catalog.now() - tg_argv[0]::interval then
    raise exception '% rows are kept for %: DELETE is not allowed before', tg_table_name, tg_argv[0]
      using errcode = '42501', hint = 'Only the retention sweep removes rows, once they are old enough.';
  end if;
  return old;
end
$$;
revoke all on function app.reject_recent_delete() from public;

-- Kept 90 days (sql/190 deletes them after); never changed.
drop trigger if exists security_events_are_append_only on public.security_events;
create trigger security_events_are_append_only before update on public.security_events
  for each row execute function app.audit_reject();
drop trigger if exists security_events_leave_after_90_days on public.security_events;
create trigger security_events_leave_after_90_days before delete on public.security_events
  for each row execute function app.reject_recent_delete('90 days');
drop trigger if exists security_events_cannot_be_truncated on public.security_events;
create trigger security_events_cannot_be_truncated before truncate on public.security_events
  for each statement execute function app.audit_reject();
alter table public.security_events enable always trigger security_events_are_append_only;
alter table public.security_events enable always trigger security_events_leave_after_90_days;
alter table public.security_events enable always trigger security_events_cannot_be_truncated;

-- ---------------------------------------------------------------------------------------------
-- app.record_security_event: one refusal, after the request's own transaction ended. The code
-- must be one of the refusals worth recording; the user is whoever holds the live session
-- `p_token_hash` names (none for an anonymous or forged cookie); the target is the account
-- holding `p_email` (a sign-in's address), or the one an MFA challenge `p_challenge_hash` was
-- issued to (the second step of a sign-in), or the one whose no longer live session the token
-- names, if any. Answers whether it was recorded.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.record_security_event(text, text, text, bytea, text, uuid, text, text, text);
drop function if exists app.record_security_event(text, text, text, bytea, text, uuid, text, text, text, bytea);
create function app.record_security_event(
    p_code text, p_method text, p_route text, p_token_hash bytea, p_email text, p_workspace_id uuid,
    p_ip text, p_user_agent text, p_request_id text, p_challenge_hash bytea default null)
  returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_target uuid;
begin
  if p_code is null or p_code not in ('unauthenticated', 'invalid_credentials', 'invalid_mfa_code', 'invalid_token', 'not_a_member',
                                      'forbidden', 'mfa_required', 'csrf_rejected', 'rate_limited', 'invalid_signature') then
    raise exception 'not a refusal that is recorded: %', p_code using errcode = 'GHINV';
  end if;
  -- A flood is recorded up to a bound (each count stops at the bound, so this stays cheap).
  if (select count(*) from (select 1 from public.security_events e
                             where e.ip is not distinct from p_ip and e.created_at > pg_catalog.now() - interval '1 minute'
                             limit 60) s) >= 60
     or (select count(*) from (select 1 from public.security_events e
                                where e.created_at > pg_catalog.now() - interval '1 minute'
                                limit 1000) s) >= 1000 then
    return false;
  end if;
  if p_token_hash is not null then
    select se.user_id into v_user from public.sessions se
     where se.token_hash = p_token_hash and se.revoked_at is null and se.expires_at > pg_catalog.now()
       and se.last_seen_at + pg_catalog.make_interval(secs => se.idle_timeout_seconds) > pg_catalog.now();
  end if;
  if p_email is not null then
    select u.id into v_target from public.users u where u.email = pg_catalog.lower(pg_catalog.btrim(p_email));
  elsif p_challenge_hash is not null then
    select c.user_id into v_target from public.mfa_challenges c where c.token_hash = p_challenge_hash;
  elsif v_user is null and p_token_hash is not null then
    -- A session token that is no longer live (revoked, expired, idle): whose it was. A stolen
    -- cookie replayed after its owner signed out shows up here.
    select se.user_id into v_target from public.sessions se where se.token_hash = p_token_hash;
  end if;
  insert into public.security_events (code, method, route, user_id, target_user_id, workspace_id, ip, user_agent, request_id)
  values (p_code, pg_catalog.left(coalesce(p_method, ''), 16), pg_catalog.left(coalesce(p_route, ''), 200), v_user, v_target,
          p_workspace_id, pg_catalog.left(p_ip, 64), pg_catalog.left(p_user_agent, 512), pg_catalog.left(p_request_id, 128));
  return true;
end
$$;
alter function app.record_security_event(text, text, text, bytea, text, uuid, text, text, text, bytea) owner to app_privileged;
revoke all on function app.record_security_event(text, text, text, bytea, text, uuid, text, text, text, bytea) from public;
grant execute on function app.record_security_event(text, text, text, bytea, text, uuid, text, text, text, bytea) to app_runtime;
comment on function app.record_security_event(text, text, text, bytea, text, uuid, text, text, text, bytea) is
  'Security events: records a refused attempt after its request rolled back, for any user and workspace. '
  'Checks: a known refusal code; the user from a live session''s token hash, the target from the address or the MFA challenge; a bounded rate';

-- ---------------------------------------------------------------------------------------------
-- One page of events, newest first, keyset-paginated on (created_at, id) like app.admin_audit_log;
-- at most 101 rows: every event, or those of `p_workspace`. For the two readers below, which
-- check who asks; not granted to anyone.
-- ---------------------------------------------------------------------------------------------
create or replace function app.security_events_page(p_workspace uuid, p_before_at timestamptz, p_before_id uuid, p_limit integer)
  returns setof public.security_events
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  return query
    select * from public.security_events e
     where (p_workspace is null or e.workspace_id = p_workspace)
       and (p_before_at is null or (e.created_at, e.id) < (p_before_at, p_before_id))
     order by e.created_at desc nulls last, e.id desc nulls last
     limit least(greatest(p_limit, 1), 101);
end
$$;
revoke all on function app.security_events_page(uuid, timestamptz, uuid, integer) from public;
grant execute on function app.security_events_page(uuid, timestamptz, uuid, integer) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- What platform administrators review: every refusal, newest first.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.admin_security_events(timestamptz, uuid, integer);
create function app.admin_security_events(p_before_at timestamptz, p_before_id uuid, p_limit integer)
  returns setof public.security_events
  language plpgsql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_platform_admin();
  return query select * from app.security_events_page(null, p_before_at, p_before_id, p_limit);
end
$$;
alter function app.admin_security_events(timestamptz, uuid, integer) owner to app_privileged;
revoke all on function app.admin_security_events(timestamptz, uuid, integer) from public;
grant execute on function app.admin_security_events(timestamptz, uuid, integer) to app_runtime;
comment on function app.admin_security_events(timestamptz, uuid, integer) is
  'Platform administration: reads the refusals of every workspace and of no workspace. '
  'Checks: the sealed user is a platform administrator, signed in with a second factor';

-- ---------------------------------------------------------------------------------------------
-- What a workspace's owners review: the refusals of requests that named their workspace (the
-- X-Workspace-Id header), whoever made them, newest first.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.workspace_security_events(timestamptz, uuid, integer);
create function app.workspace_security_events(p_before_at timestamptz, p_before_id uuid, p_limit integer)
  returns setof public.security_events
  language plpgsql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_workspace uuid := app.current_workspace_id();
begin
  if v_workspace is null then
    raise exception 'You are not a member of this workspace' using errcode = 'GHMEM';
  end if;
  if not exists (select 1 from public.memberships m
                   join public.role_permissions rp on rp.role = m.role and rp.permission = 'security:read'
                  where m.workspace_id = v_workspace and m.user_id = app.current_user_id()) then
    raise exception 'Your role lacks the permission security:read' using errcode = 'GHFBD';
  end if;
  return query select * from app.security_events_page(v_workspace, p_before_at, p_before_id, p_limit);
end
$$;
alter function app.workspace_security_events(timestamptz, uuid, integer) owner to app_privileged;
revoke all on function app.workspace_security_events(timestamptz, uuid, integer) from public;
grant execute on function app.workspace_security_events(timestamptz, uuid, integer) to app_runtime;
comment on function app.workspace_security_events(timestamptz, uuid, integer) is
  'Security events: reads the refusals that named the sealed workspace, whoever made them. '
  'Checks: the sealed user is a member whose role holds security:read';
