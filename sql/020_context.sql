-- =============================================================================================
-- Request context
--
-- Each request runs in one transaction. app.begin_request (sql/040) sets these settings with
-- set_config(..., true), i.e. transaction-local: they vanish at COMMIT or ROLLBACK, so a pooled
-- connection never carries one request's tenant into the next.
--
-- An unset setting reads as NULL on a fresh backend, but as '' on a backend that set it in an
-- earlier transaction; nullif(..., '') makes both mean "no context", which matches no row.
-- Policies call these helpers as (select app.fn()) so PostgreSQL evaluates them once per
-- statement (an InitPlan) instead of once per row.
-- =============================================================================================

create schema if not exists app;
comment on schema app is 'Gatehouse helper and privileged functions';
revoke all on schema app from public;
grant usage on schema app to app_runtime, app_privileged;
-- ALTER FUNCTION ... OWNER TO app_privileged requires the new owner to have CREATE here.
-- app_privileged has no login, so nobody can use this to create anything.
grant create on schema app to app_privileged;

-- The workspace the current transaction acts in, or NULL.
create or replace function app.current_workspace_id() returns uuid
  language sql stable parallel safe
  as $$ select nullif(pg_catalog.current_setting('app.workspace_id', true), '')::uuid $$;
revoke all on function app.current_workspace_id() from public;
grant execute on function app.current_workspace_id() to app_runtime, app_privileged;

-- The authenticated user of the current transaction, or NULL.
create or replace function app.current_user_id() returns uuid
  language sql stable parallel safe
  as $$ select nullif(pg_catalog.current_setting('app.user_id', true), '')::uuid $$;
revoke all on function app.current_user_id() from public;
grant execute on function app.current_user_id() to app_runtime, app_privileged;

-- The session of the current transaction, or NULL (a session may revoke only others).
create or replace function app.current_session_id() returns uuid
  language sql stable parallel safe
  as $$ select nullif(pg_catalog.current_setting('app.session_id', true), '')::uuid $$;
revoke all on function app.current_session_id() from public;
grant execute on function app.current_session_id() to app_runtime, app_privileged;

-- Writes every setting of the context at once, each to a value or to '' (no context), whatever
-- this backend held before: the one way the privileged functions of sql/040 set a context
-- (app.begin_request for a request; the session re-issue and the reset composer, which run
-- outside one, for their audit rows). Transaction-local, like every setting here. Not SECURITY
-- DEFINER and without a SET clause (no search_path switch on the hot path): every name in it is
-- qualified.
create or replace function app.set_context(
    p_user_id uuid, p_session_id uuid, p_workspace_id uuid, p_ip text, p_user_agent text, p_request_id text)
  returns void
  language sql volatile
as $$
  select pg_catalog.set_config('app.user_id', coalesce(p_user_id::text, ''), true),
         pg_catalog.set_config('app.session_id', coalesce(p_session_id::text, ''), true),
         pg_catalog.set_config('app.workspace_id', coalesce(p_workspace_id::text, ''), true),
         pg_catalog.set_config('app.ip', coalesce(p_ip, ''), true),
         pg_catalog.set_config('app.user_agent', coalesce(p_user_agent, ''), true),
         pg_catalog.set_config('app.request_id', coalesce(p_request_id, ''), true)
$$;
revoke all on function app.set_context(uuid, uuid, uuid, text, text, text) from public;
grant execute on function app.set_context(uuid, uuid, uuid, text, text, text) to app_privileged;

-- The database's own write gate (invariant 5): may the current workspace be written to now?
-- Only an active workspace whose trial has not ended, or that has an active subscription.
-- Deliberately not SECURITY DEFINER and without a SET clause, so PostgreSQL inlines it into the
-- policy's InitPlan (one index lookup per statement). It runs with the caller's rights, which is
-- enough: the restrictive policies apply to app_runtime only, which may read its own context's
-- workspace row (and no other: with no context it reads nothing and answers false). Names are
-- fully qualified, and app_runtime cannot create objects that could shadow them.
create or replace function app.current_workspace_writable() returns boolean
  language sql stable
  as $$
    select coalesce((
      select w.status = 'active' and (w.billing_status = 'active' or w.trial_ends_at > pg_catalog.now())
        from public.workspaces w
       where w.id = app.current_workspace_id()
    ), false)
  $$;
-- (Earlier versions were SECURITY DEFINER and owned by app_privileged: replacing keeps the
-- owner, so hand it back to the schema owner; SECURITY INVOKER is the default but is stated.)
alter function app.current_workspace_writable() security invoker reset all;
alter function app.current_workspace_writable() owner to current_user;
revoke all on function app.current_workspace_writable() from public;
grant execute on function app.current_workspace_writable() to app_runtime;
comment on function app.current_workspace_writable() is
  'Write gate of the restrictive policies: the context workspace is active and in trial or paid';
