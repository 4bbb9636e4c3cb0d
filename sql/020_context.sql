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

-- The database's own write gate (invariant 5): may the current workspace be written to now?
-- Only an active workspace whose trial has not ended, or that has an active subscription.
-- SECURITY DEFINER so the answer does not depend on the caller's view of workspaces.
create or replace function app.current_workspace_writable() returns boolean
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
  as $$
    select coalesce((
      select w.status = 'active' and (w.billing_status = 'active' or w.trial_ends_at > pg_catalog.now())
        from public.workspaces w
       where w.id = app.current_workspace_id()
    ), false)
  $$;
alter function app.current_workspace_writable() owner to app_privileged;
revoke all on function app.current_workspace_writable() from public;
grant execute on function app.current_workspace_writable() to app_runtime;
comment on function app.current_workspace_writable() is
  'Write gate for restrictive policies: reads the workspace row whatever the caller may see, so it needs definer rights';
