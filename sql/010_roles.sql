-- =============================================================================================
-- Roles
--
-- The connecting user of DATABASE_URL owns every table and function (it needs CREATEROLE, not
-- superuser). It creates two NOLOGIN group roles and grants them narrow privileges:
--
--   app_runtime     what the service's runtime login may do: DML on tenant tables, always under
--                   row-level security. The runtime login (APP_DATABASE_URL) is made a member.
--   app_privileged  owns the short list of SECURITY DEFINER functions in sql/100–180 that must cross
--                   tenants (session lookup, login by email, workspace creation, platform
--                   administration). Nobody logs in as it; the runtime may only EXECUTE those
--                   functions.
--   app_mailer      owns the outbox worker's functions (sql/160): claims, sends' outcomes. Nobody
--                   logs in as it; the worker (on the runtime login) reaches them only after
--                   app.begin_worker checked the worker key the database issued.
--   app_auditor     reads every workspace's audit log and chain heads (sql/050), and nothing else,
--                   for `npm run audit:verify`. Nobody logs in as it: a DBA grants it to the login
--                   they verify with (GRANT app_auditor TO some_login), never to the runtime login.
--
-- This file is re-runnable. The runtime login's name is passed in the session setting
-- gatehouse.runtime_login by src/db/migrate.ts.
-- =============================================================================================

do $roles$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'app_runtime') then
    create role app_runtime nologin;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'app_privileged') then
    create role app_privileged nologin;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'app_mailer') then
    create role app_mailer nologin;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'app_auditor') then
    create role app_auditor nologin;
  end if;
end
$roles$;

comment on role app_runtime is 'Gatehouse runtime privileges: DML under row-level security, never bypasses it';
comment on role app_privileged is 'Gatehouse: owns the SECURITY DEFINER functions that cross tenants; no login';
comment on role app_mailer is 'Gatehouse: owns the outbox worker''s functions; no login';
comment on role app_auditor is 'Gatehouse: reads every workspace''s audit log to verify its hash chains; no login, no writes';

-- The owner must be able to hand functions to app_privileged and app_mailer (ALTER FUNCTION ...
-- OWNER TO needs membership). Being a member gives the owner nothing it does not already have as
-- owner.
-- (Always granted: on PostgreSQL 16+ the creator's automatic membership has SET FALSE, which
-- pg_has_role(..., 'MEMBER') does not tell apart; granting again is a harmless notice.)
do $owner$
begin
  execute pg_catalog.format('grant app_privileged to %I', current_user);
  execute pg_catalog.format('grant app_mailer to %I', current_user);
end
$owner$;

-- The runtime login becomes a member of app_runtime, and only of app_runtime.
do $runtime$
declare
  login text := pg_catalog.current_setting('gatehouse.runtime_login', true);
begin
  if login is null or login = '' then
    raise notice 'gatehouse.runtime_login is not set: no runtime login granted';
    return;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = login) then
    raise exception 'runtime login "%" does not exist: create it first (see APP_DATABASE_URL)', login;
  end if;
  if login = current_user then
    raise exception 'the runtime login must not be the schema owner (%)', login;
  end if;
  if not pg_catalog.pg_has_role(login, 'app_runtime', 'MEMBER') then
    execute pg_catalog.format('grant app_runtime to %I', login);
  end if;
end
$runtime$;
