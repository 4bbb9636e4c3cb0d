-- =============================================================================================
-- The sealed request context
--
-- Every request runs in one transaction, and the policies ask "which user, which session, which
-- workspace?" of helper functions. A plain custom setting (set_config('app.workspace_id', …))
-- cannot answer that: any role may set one, so a statement injected as the runtime login could
-- claim any tenant. The answer lives instead in public.request_contexts (migrations/0006):
--
--   * one row per backend (pid = pg_backend_pid()), stamped with the 64-bit id of the
--     transaction that wrote it (xact = pg_current_xact_id());
--   * written only through app.seal_context / app.reseal_context below, which only the
--     SECURITY DEFINER functions may call, each after verifying who is asking: a session token
--     (app.begin_request), a password proof (app.sign_in), an MFA challenge the database issued,
--     the outbox worker's key (app.begin_worker);
--   * read by the helpers only while its stamp is the current transaction's id. The row an
--     earlier transaction left on a pooled connection, or one a transaction wrote and rolled
--     back, is no context at all (fail closed), and no other backend's row is visible.
--
-- Nothing reads a custom setting any more: set_config('app.…') and SET app.… change nothing
-- that any policy, helper or trigger looks at (the catalogue lint in test/rls keeps it so).
--
-- Refusals. The privileged functions refuse with SQLSTATEs of their own, which the service maps
-- to API.md's error codes (src/db/refusals.ts); the message is written for the client:
--   GHAUT unauthenticated     GHCRD invalid_credentials   GHMFA invalid_mfa_code
--   GHTOK invalid_token       GHUNV email_unverified      GHMEM not_a_member
--   GHFBD forbidden           GHNFD not_found             GHCFL conflict
--   GHETK email_taken         GHWLR workspace_limit_reached
--   GHWPA / GHWRJ / GHWSU workspace_pending_approval / _rejected / _suspended
--   GHTRX trial_expired       GHINV validation_failed (a malformed argument)
--   GHMFR mfa_required
-- =============================================================================================

create schema if not exists app;
comment on schema app is 'Gatehouse helper and privileged functions';
revoke all on schema app from public;
grant usage on schema app to app_runtime, app_privileged, app_mailer;
-- ALTER FUNCTION ... OWNER TO app_privileged / app_mailer requires the new owner to have CREATE
-- here. Neither has a login, so nobody can use this to create anything.
grant create on schema app to app_privileged, app_mailer;

-- Retired: the context used to be six custom settings written by this function.
drop function if exists app.set_context(uuid, uuid, uuid, text, text, text);

-- ---------------------------------------------------------------------------------------------
-- request_contexts: a connection reads its own row; only the definer roles write it, and only
-- their own backend's row for the current transaction. The runtime holds no write privilege.
-- ---------------------------------------------------------------------------------------------
alter table public.request_contexts enable row level security;
alter table public.request_contexts force row level security;
revoke all on public.request_contexts from app_runtime, app_privileged, app_mailer, app_auditor;
grant select (pid, xact, kind, user_id, session_id, workspace_id, token_id, acting_as_user_id, ip, user_agent, request_id,
              permissions, contacts_scope, department_ids)
  on public.request_contexts to app_runtime;
grant select, insert, update on public.request_contexts to app_privileged;
-- The outbox worker's functions read their own backend's context, to know they run as the worker.
grant select on public.request_contexts to app_mailer;

drop policy if exists "a connection reads its own context" on public.request_contexts;
create policy "a connection reads its own context" on public.request_contexts
  for select to app_runtime, app_privileged, app_mailer
  using (pid = pg_catalog.pg_backend_pid());

-- A request context names whoever the sealing function verified; a worker context (sql/160)
-- names nobody: the outbox worker may drain the queue, never act as a user or a tenant. Nor
-- does a maintenance context (sql/200): the schema owner's key rotation.
drop policy if exists "privileged functions seal their own connection's request" on public.request_contexts;
drop policy if exists "privileged functions seal their own connection" on public.request_contexts;
create policy "privileged functions seal their own connection" on public.request_contexts
  for insert to app_privileged
  with check (pid = pg_catalog.pg_backend_pid() and xact = pg_catalog.pg_current_xact_id()
              and (kind = 'request' or (kind in ('worker', 'maintenance') and user_id is null and session_id is null
                                        and workspace_id is null and token_id is null and acting_as_user_id is null
                                        and permissions is null and contacts_scope is null and department_ids is null)));
drop policy if exists "privileged functions reseal their own connection's request" on public.request_contexts;
drop policy if exists "privileged functions reseal their own connection" on public.request_contexts;
create policy "privileged functions reseal their own connection" on public.request_contexts
  for update to app_privileged
  using (pid = pg_catalog.pg_backend_pid())
  with check (pid = pg_catalog.pg_backend_pid() and xact = pg_catalog.pg_current_xact_id()
              and (kind = 'request' or (kind in ('worker', 'maintenance') and user_id is null and session_id is null
                                        and workspace_id is null and token_id is null and acting_as_user_id is null
                                        and permissions is null and contacts_scope is null and department_ids is null)));
drop policy if exists "the outbox worker seals its own connection" on public.request_contexts;
drop policy if exists "the outbox worker reseals its own connection" on public.request_contexts;

-- ---------------------------------------------------------------------------------------------
-- database_secrets: random values the database makes for itself, once, and never shows the
-- runtime. 'login_decoy' keys the salts of the decoy sign-in settings for unknown addresses
-- (app.login_settings); 'outbox_worker' is the worker's key, which the service reads once at
-- start-up through the schema owner (src/db/startup.ts) and presents to app.begin_worker.
-- Nobody logs in as app_privileged, so only the privileged functions and the schema owner read them.
-- gen_random_uuid() draws from the server's strong random source; two of them are 244 bits.
-- ---------------------------------------------------------------------------------------------
alter table public.database_secrets enable row level security;
alter table public.database_secrets force row level security;
revoke all on public.database_secrets from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.database_secrets to app_privileged;
drop policy if exists "privileged functions read the database's secrets" on public.database_secrets;
create policy "privileged functions read the database's secrets" on public.database_secrets
  for select to app_privileged using (true);
-- Generated only by the schema owner (the migrating login, named here as it runs).
drop policy if exists "the migrations generate the database's secrets" on public.database_secrets;
do $owner_writes$
begin
  execute pg_catalog.format('create policy "the migrations generate the database''s secrets" on public.database_secrets
    for insert to %I with check (true)', current_user);
end
$owner_writes$;
drop policy if exists "the outbox worker reads its own key" on public.database_secrets;

insert into public.database_secrets (name, secret)
select s.name, pg_catalog.sha256(pg_catalog.uuid_send(gen_random_uuid()) || pg_catalog.uuid_send(gen_random_uuid()))
  from (values ('login_decoy'), ('outbox_worker')) as s(name)
on conflict (name) do nothing;

-- ---------------------------------------------------------------------------------------------
-- The helpers the policies call, as (select app.fn()) so each runs once per statement (an
-- InitPlan). PL/pgSQL, without SECURITY DEFINER or a SET clause: a SQL-language function that
-- reads a table cannot be inlined (its body needs a sub-select), and PostgreSQL before 18 plans
-- such a body afresh on every call (≈ 45 µs each, measured on 15), while PL/pgSQL keeps the
-- plan of its one query for the session (≈ 6 µs: one primary-key lookup). They run with the
-- caller's rights, which is enough: every role that calls them may read its own backend's row.
-- ---------------------------------------------------------------------------------------------

-- The verified user of the current transaction, or NULL.
create or replace function app.current_user_id() returns uuid
  language plpgsql stable
as $$
begin
  return (select c.user_id from public.request_contexts c
           where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned());
end
$$;
revoke all on function app.current_user_id() from public;
grant execute on function app.current_user_id() to app_runtime, app_privileged, app_mailer;

-- The signed-in user acting on their own account: the user of a session's request, never of an
-- API token's (which acts in its workspace for its creator, not on the creator's account). For
-- the runtime's policies on the per-user tables (users, sessions, email tokens, MFA).
create or replace function app.current_account_id() returns uuid
  language plpgsql stable
as $$
begin
  return (select c.user_id from public.request_contexts c
           where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned()
             and c.token_id is null);
end
$$;
revoke all on function app.current_account_id() from public;
grant execute on function app.current_account_id() to app_runtime, app_privileged;

-- The verified session of the current transaction, or NULL (a session may revoke only others).
create or replace function app.current_session_id() returns uuid
  language plpgsql stable
as $$
begin
  return (select c.session_id from public.request_contexts c
           where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned());
end
$$;
revoke all on function app.current_session_id() from public;
grant execute on function app.current_session_id() to app_runtime, app_privileged, app_mailer;

-- The workspace the current transaction acts in (set only for a member), or NULL.
create or replace function app.current_workspace_id() returns uuid
  language plpgsql stable
as $$
begin
  return (select c.workspace_id from public.request_contexts c
           where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned());
end
$$;
revoke all on function app.current_workspace_id() from public;
grant execute on function app.current_workspace_id() to app_runtime, app_privileged, app_mailer;

-- 'request', 'worker', or NULL when this transaction sealed nothing.
create or replace function app.current_context_kind() returns text
  language plpgsql stable
as $$
begin
  return (select c.kind from public.request_contexts c
           where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned());
end
$$;
revoke all on function app.current_context_kind() from public;
grant execute on function app.current_context_kind() to app_runtime, app_privileged, app_mailer;

-- What the verified member may do in the current transaction's workspace: their role's
-- permissions. NULL without a member's request context (fail closed: NULL holds no permission).
-- Their contacts scope is read by app.current_contacts_access (sql/150), in the same lookup.
create or replace function app.current_permissions() returns text[]
  language plpgsql stable
as $$
begin
  return (select c.permissions from public.request_contexts c
           where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned());
end
$$;
revoke all on function app.current_permissions() from public;
grant execute on function app.current_permissions() to app_runtime, app_privileged;

-- Whether the verified user is a platform administrator (public.platform_admins, sql/120: a
-- listed address held by its verified account). For the privileged functions and policies.
create or replace function app.current_user_is_platform_admin() returns boolean
  language plpgsql stable
as $$
begin
  return exists (select 1 from public.platform_admins pa where pa.user_id = app.current_user_id());
end
$$;
revoke all on function app.current_user_is_platform_admin() from public;
grant execute on function app.current_user_is_platform_admin() to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.seal_context: writes this backend's context for the current transaction, every field at
-- once (whatever the row held before: nothing of an earlier request survives). A member's
-- request also carries what their membership allows (app.begin_request): their role's
-- permissions, their contacts scope and, for 'department', the departments it covers. An API
-- token's request (app.begin_token_request, sql/210) names its token too, beside its creator
-- as the user and no session. Only the
-- SECURITY DEFINER functions call it, after they verified the identity they seal; the policies
-- above confine it to the caller's own backend and transaction. Not granted to app_runtime.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.seal_context(text, uuid, uuid, uuid, text, text, text);
drop function if exists app.seal_context(text, uuid, uuid, uuid, text, text, text, text[], text, uuid[]);
create or replace function app.seal_context(
    p_kind text, p_user_id uuid, p_session_id uuid, p_workspace_id uuid, p_ip text, p_user_agent text, p_request_id text,
    p_permissions text[] default null, p_contacts_scope text default null, p_department_ids uuid[] default null,
    p_token_id uuid default null)
  returns void
  language plpgsql volatile
as $$
begin
  -- Only this backend writes its row, so an UPDATE, then an INSERT for a backend's first
  -- request, cannot race (and costs less than INSERT … ON CONFLICT's speculative insertion).
  update public.request_contexts c
     set xact = pg_catalog.pg_current_xact_id(), kind = p_kind, user_id = p_user_id, session_id = p_session_id,
         workspace_id = p_workspace_id, token_id = p_token_id, acting_as_user_id = null,
         ip = p_ip, user_agent = p_user_agent, request_id = p_request_id,
         permissions = p_permissions, contacts_scope = p_contacts_scope, department_ids = p_department_ids
   where c.pid = pg_catalog.pg_backend_pid();
  if not found then
    insert into public.request_contexts
           (pid, xact, kind, user_id, session_id, workspace_id, token_id, acting_as_user_id, ip, user_agent, request_id,
            permissions, contacts_scope, department_ids)
    values (pg_catalog.pg_backend_pid(), pg_catalog.pg_current_xact_id(), p_kind, p_user_id, p_session_id, p_workspace_id,
            p_token_id, null, p_ip, p_user_agent, p_request_id, p_permissions, p_contacts_scope, p_department_ids);
  end if;
end
$$;
revoke all on function app.seal_context(text, uuid, uuid, uuid, text, text, text, text[], text, uuid[], uuid) from public;
grant execute on function app.seal_context(text, uuid, uuid, uuid, text, text, text, text[], text, uuid[], uuid) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.reseal_context: changes who the current request is (a sign-in, a registration, a link
-- that proved its user), keeping the request's metadata. There must be a request context of
-- this transaction (app.begin_request opens every request): a privileged function never acts
-- outside one.
-- ---------------------------------------------------------------------------------------------
create or replace function app.reseal_context(p_user_id uuid, p_session_id uuid, p_workspace_id uuid)
  returns void
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
begin
  update public.request_contexts c
     set user_id = p_user_id, session_id = p_session_id, workspace_id = p_workspace_id, token_id = null, acting_as_user_id = null,
         permissions = null, contacts_scope = null, department_ids = null
   where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned() and c.kind = 'request';
  if not found then
    raise exception 'no request context in this transaction: app.begin_request comes first' using errcode = '55000';
  end if;
end
$$;
revoke all on function app.reseal_context(uuid, uuid, uuid) from public;
grant execute on function app.reseal_context(uuid, uuid, uuid) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.billing_keeps_writes: the trial and billing rule, one expression for every gate (this
-- file's two, app.accept_invite in sql/140; src/plugins/gates.ts repeats it for the HTTP gate).
-- Writes are allowed while the subscription is active or trialing, while a past_due one is
-- within its grace period (billing_grace_ends_at, set by the billing webhook, sql/220), and
-- otherwise (none, canceled, unpaid, past_due after its grace) only while the trial lasts.
-- SQL, no SET clause and every name qualified: PostgreSQL inlines it where it is called.
-- ---------------------------------------------------------------------------------------------
create or replace function app.billing_keeps_writes(
    p_billing_status text, p_grace_ends_at timestamptz, p_trial_ends_at timestamptz)
  returns boolean
  language sql stable
as $$
  select coalesce(p_billing_status operator(pg_catalog.=) any (array['active', 'trialing'])
                  or (p_billing_status operator(pg_catalog.=) 'past_due' and p_grace_ends_at operator(pg_catalog.>) pg_catalog.now())
                  or p_trial_ends_at operator(pg_catalog.>) pg_catalog.now(), false)
$$;
alter function app.billing_keeps_writes(text, timestamptz, timestamptz) reset all;
revoke all on function app.billing_keeps_writes(text, timestamptz, timestamptz) from public;
grant execute on function app.billing_keeps_writes(text, timestamptz, timestamptz) to app_runtime, app_privileged;

-- ---------------------------------------------------------------------------------------------
-- The database's own write gate (invariant 5): may the current workspace be written to now?
-- Only an active workspace whose billing keeps writes (app.billing_keeps_writes above: a paid
-- or trialing subscription, a past_due one within its grace, or a trial that has not ended).
-- Like the helpers above, PL/pgSQL without SECURITY DEFINER or a SET clause: one cached index
-- lookup per statement (the policy's InitPlan). It runs with the caller's rights, which is
-- enough: the restrictive policies apply to app_runtime only, which may read its own context's
-- workspace row (and no other: with no context it reads nothing and answers false). Names are
-- fully qualified, and app_runtime cannot create objects that could shadow them.
-- ---------------------------------------------------------------------------------------------
create or replace function app.current_workspace_writable() returns boolean
  language plpgsql stable
as $$
begin
  return coalesce((
    select w.status = 'active' and app.billing_keeps_writes(w.billing_status, w.billing_grace_ends_at, w.trial_ends_at)
      from public.workspaces w
     where w.id = app.current_workspace_id()
  ), false);
end
$$;
alter function app.current_workspace_writable() security invoker reset all;
alter function app.current_workspace_writable() owner to current_user;
revoke all on function app.current_workspace_writable() from public;
grant execute on function app.current_workspace_writable() to app_runtime, app_privileged;
comment on function app.current_workspace_writable() is
  'Write gate of the restrictive policies: the context workspace is active and in trial, paid or within a past_due grace';

-- The same gate for the privileged functions, which the restrictive policies (written for
-- app_runtime) do not cover: refuses with the code the HTTP gate chain would have answered.
create or replace function app.assert_current_workspace_writable() returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  w record;
begin
  select ws.status, ws.billing_status, ws.billing_grace_ends_at, ws.trial_ends_at into w
    from public.workspaces ws where ws.id = app.current_workspace_id();
  if not found then
    raise exception 'You are not a member of this workspace' using errcode = 'GHMEM';
  elsif w.status = 'pending_approval' then
    raise exception 'This workspace is waiting for approval' using errcode = 'GHWPA';
  elsif w.status = 'rejected' then
    raise exception 'This workspace was rejected' using errcode = 'GHWRJ';
  elsif w.status = 'suspended' then
    raise exception 'This workspace is suspended' using errcode = 'GHWSU';
  elsif not app.billing_keeps_writes(w.billing_status, w.billing_grace_ends_at, w.trial_ends_at) then
    raise exception 'The trial has ended; subscribe to keep making changes' using errcode = 'GHTRX';
  end if;
end
$$;
revoke all on function app.assert_current_workspace_writable() from public;
grant execute on function app.assert_current_workspace_writable() to app_privileged;

-- The verified user of the transaction, or a refusal: for the functions that need someone.
create or replace function app.require_user() returns uuid
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.current_user_id();
begin
  if v_user is null then
    raise exception 'Sign in first' using errcode = 'GHAUT';
  end if;
  return v_user;
end
$$;
revoke all on function app.require_user() from public;
grant execute on function app.require_user() to app_privileged;

-- The signed-in user, for the privileged functions that act on the account itself (its password,
-- sessions, MFA, verification, workspaces it creates, invitations it accepts): a request
-- authenticated by an API token acts in its workspace for its creator, never on the creator's
-- account, so it is refused here (GHAUT) even by SQL sent on the runtime login.
create or replace function app.require_account_user() returns uuid
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_user();
begin
  if app.current_account_id() is null then
    raise exception 'An API token cannot act on its creator''s account' using errcode = 'GHAUT';
  end if;
  return v_user;
end
$$;
revoke all on function app.require_account_user() from public;
grant execute on function app.require_account_user() to app_privileged;
