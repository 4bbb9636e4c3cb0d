-- =============================================================================================
-- Audit trail (invariant 6)
--
-- public.audit_log holds two kinds of rows:
--   event   a sensitive action (workspace approval, suspension, …), written by the privileged
--           function that performs it, or by app.audit_event for actions the service performs;
--   change  the before/after of a business row, written by the app.audit_capture trigger, so no
--           handler can forget it.
--
-- Append-only for every role but a superuser: BEFORE UPDATE/DELETE and BEFORE TRUNCATE triggers
-- raise (they never return NULL, which would skip silently), and are ENABLE ALWAYS so
-- session_replication_role = replica does not switch them off. app_runtime may only SELECT its
-- own workspace's rows; every INSERT goes through SECURITY DEFINER code owned by app_privileged.
--
-- Attribution: app.audit_seal fills every column that says who and from where — the actor (user
-- or API token), acting-as, the IP, user agent and request id — from the sealed request context
-- (sql/020), and db_role from the login. Nothing a caller passes, and no setting, decides them.
--
-- Tamper evidence: rows are hash-chained per workspace (platform events form one more chain,
-- keyed by the nil UUID). The BEFORE INSERT trigger app.audit_seal takes the chain's head row
-- lock (audit_chain_heads), so concurrent writers to one workspace queue rather than fork the
-- chain, and sets hash = sha256(prev_hash || canonical text of the row); the AFTER INSERT
-- trigger app.audit_advance moves the head to the row. A head moves only that way, for the
-- schema owner too: app.audit_chain_head_guard lets a head advance by exactly one, to a row that
-- is in the log and chained to the old head, and refuses any other change or removal.
-- `npm run audit:verify` recomputes every chain and names the first row that does not match.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- app.audit_canonical: the exact text a row's hash covers. A JSON array of every column but the
-- hash itself, in a fixed order; jsonb's text form is deterministic, and the time is written in
-- UTC with microseconds whatever the session's TimeZone. src/audit/verify.ts repeats this
-- expression in its own query, so a superuser who replaced this function would not fool it.
-- ---------------------------------------------------------------------------------------------
-- No SET clause (every name is qualified), so PostgreSQL inlines it where it is called.
create or replace function app.audit_canonical(r public.audit_log) returns text
  language sql immutable
as $$
  select pg_catalog.jsonb_build_array(
    r.id, r.workspace_id, r.chain_key, r.chain_seq, r.kind,
    r.actor_user_id, r.actor_token_id, r.acting_as_user_id, r.db_role,
    r.action, r.entity_type, r.entity_id, r.before, r.after,
    r.ip, r.user_agent, r.request_id,
    pg_catalog.to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    pg_catalog.encode(r.prev_hash, 'hex')
  )::text
$$;
alter function app.audit_canonical(public.audit_log) reset all;
revoke all on function app.audit_canonical(public.audit_log) from public;
grant execute on function app.audit_canonical(public.audit_log) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.audit_seal: BEFORE INSERT on audit_log. Fills what no caller may choose — the actor and
-- the request's metadata (from the sealed context), the chain position, the previous hash, the
-- hash, the time and the database login — under the chain head's row lock.
-- ---------------------------------------------------------------------------------------------
create or replace function app.audit_seal() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_seq bigint;
  v_prev bytea;
  ctx record;
begin
  select c.user_id, c.token_id, c.acting_as_user_id, c.ip, c.user_agent, c.request_id into ctx
    from public.request_contexts c
   where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned();
  new.actor_user_id := ctx.user_id;
  new.actor_token_id := ctx.token_id;
  new.acting_as_user_id := ctx.acting_as_user_id;
  new.ip := ctx.ip;
  new.user_agent := ctx.user_agent;
  new.request_id := ctx.request_id;
  new.chain_key := coalesce(new.workspace_id, '00000000-0000-0000-0000-000000000000'::uuid);
  new.created_at := pg_catalog.now();
  new.db_role := session_user;
  loop
    -- Lock the chain's head: concurrent writers to one chain queue here until this
    -- transaction ends, so the chain never forks.
    select h.seq, h.hash into v_seq, v_prev
      from public.audit_chain_heads h where h.chain_key = new.chain_key for update;
    exit when found;
    -- A new chain starts from a placeholder head (seq 0). Of two transactions starting the
    -- same chain, the second inserts nothing (ON CONFLICT waits for the first) and goes round
    -- again to lock the head it made.
    insert into public.audit_chain_heads (chain_key, seq, hash) values (new.chain_key, 0, app.audit_chain_origin())
      on conflict (chain_key) do nothing;
  end loop;
  new.chain_seq := v_seq + 1;
  new.prev_hash := case when v_seq = 0 then null else v_prev end;
  new.hash := pg_catalog.sha256(coalesce(new.prev_hash, ''::bytea) || pg_catalog.convert_to(app.audit_canonical(new), 'UTF8'));
  return new;
end
$$;
alter function app.audit_seal() owner to app_privileged;
revoke all on function app.audit_seal() from public;
comment on function app.audit_seal() is
  'Audit chain: positions, hashes and attributes each new row under its chain head''s lock. '
  'Checks: the actor and metadata come from the sealed context, never from the inserted row';

-- The hash a placeholder head carries before its chain's first row.
create or replace function app.audit_chain_origin() returns bytea
  language sql immutable
  as $$ select '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea $$;
revoke all on function app.audit_chain_origin() from public;
grant execute on function app.audit_chain_origin() to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.audit_advance: AFTER INSERT on audit_log. Moves the chain's head (locked by audit_seal)
-- to the row just inserted.
-- ---------------------------------------------------------------------------------------------
create or replace function app.audit_advance() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  update public.audit_chain_heads set seq = new.chain_seq, hash = new.hash where chain_key = new.chain_key;
  return null;
end
$$;
alter function app.audit_advance() owner to app_privileged;
revoke all on function app.audit_advance() from public;
comment on function app.audit_advance() is
  'Audit chain: moves a chain''s head to its newest row. Checks: app.audit_chain_head_guard checks the move';

-- ---------------------------------------------------------------------------------------------
-- app.audit_chain_head_guard: BEFORE INSERT, UPDATE or DELETE on audit_chain_heads, ENABLE
-- ALWAYS. A head starts as a placeholder (seq 0), advances by exactly one to a row that is in
-- the log with that hash and chained to the old head, and is never removed. SECURITY DEFINER so
-- it reads the log whoever writes the head (the schema owner included).
-- ---------------------------------------------------------------------------------------------
create or replace function app.audit_chain_head_guard() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  if tg_op = 'INSERT' and new.seq = 0 and new.hash = app.audit_chain_origin() then
    return new;
  end if;
  if tg_op = 'UPDATE' and new.chain_key = old.chain_key and new.seq = old.seq + 1
     and exists (select 1 from public.audit_log a
                  where a.chain_key = new.chain_key and a.chain_seq = new.seq and a.hash = new.hash
                    and a.prev_hash is not distinct from (case when old.seq = 0 then null else old.hash end)) then
    return new;
  end if;
  raise exception 'audit chain heads move only with the chain: % refused', tg_op
    using errcode = '42501', hint = 'A head advances by one, to the row app.audit_seal just sealed.';
end
$$;
alter function app.audit_chain_head_guard() owner to app_privileged;
revoke all on function app.audit_chain_head_guard() from public;
comment on function app.audit_chain_head_guard() is
  'Audit chain: reads the log to check a head''s move, whoever moves it. Checks: one step, to a sealed row chained to the old head';

-- ---------------------------------------------------------------------------------------------
-- app.audit_reject: the append-only guard. Raises for UPDATE, DELETE and TRUNCATE.
-- ---------------------------------------------------------------------------------------------
create or replace function app.audit_reject() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'the audit log is append-only: % is not allowed', tg_op
    using errcode = '42501', hint = 'Audit rows are never changed or removed.';
end
$$;
revoke all on function app.audit_reject() from public;

drop trigger if exists audit_log_seal on public.audit_log;
create trigger audit_log_seal before insert on public.audit_log
  for each row execute function app.audit_seal();
drop trigger if exists audit_log_advance on public.audit_log;
create trigger audit_log_advance after insert on public.audit_log
  for each row execute function app.audit_advance();
drop trigger if exists audit_log_is_append_only on public.audit_log;
create trigger audit_log_is_append_only before update or delete on public.audit_log
  for each row execute function app.audit_reject();
drop trigger if exists audit_log_cannot_be_truncated on public.audit_log;
create trigger audit_log_cannot_be_truncated before truncate on public.audit_log
  for each statement execute function app.audit_reject();
-- ALWAYS: also under session_replication_role = replica (which skips ordinary triggers).
alter table public.audit_log enable always trigger audit_log_seal;
alter table public.audit_log enable always trigger audit_log_advance;
alter table public.audit_log enable always trigger audit_log_is_append_only;
alter table public.audit_log enable always trigger audit_log_cannot_be_truncated;

-- The chain heads may only move forward with their chain (app.audit_chain_head_guard).
drop trigger if exists audit_chain_heads_move_only_with_the_chain on public.audit_chain_heads;
create trigger audit_chain_heads_move_only_with_the_chain before insert or update or delete on public.audit_chain_heads
  for each row execute function app.audit_chain_head_guard();
alter table public.audit_chain_heads enable always trigger audit_chain_heads_move_only_with_the_chain;
drop trigger if exists audit_chain_heads_cannot_be_truncated on public.audit_chain_heads;
create trigger audit_chain_heads_cannot_be_truncated before truncate on public.audit_chain_heads
  for each statement execute function app.audit_reject();
alter table public.audit_chain_heads enable always trigger audit_chain_heads_cannot_be_truncated;

-- ---------------------------------------------------------------------------------------------
-- Row-level security: members read their own workspace's log (the HTTP layer limits it to
-- owners and admins); only the privileged functions write, and read the chain heads.
-- ---------------------------------------------------------------------------------------------
alter table public.audit_log enable row level security;
alter table public.audit_log force row level security;
revoke all on public.audit_log from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.audit_log to app_runtime;
grant select, insert on public.audit_log to app_privileged;
-- The verifier's read-only view of every chain (see app_auditor in sql/010_roles.sql).
grant select on public.audit_log to app_auditor;
drop policy if exists "members read their workspace's audit log" on public.audit_log;
-- The whole log with audit:read; without it, only the history of contacts the member may see
-- (the contacts policies decide, sql/150: the sub-select runs under them).
create policy "members read their workspace's audit log" on public.audit_log
  for select to app_runtime using (
    workspace_id = (select app.current_workspace_id())
    and ('audit:read' = any ((select app.current_permissions())::text[])
         or (entity_type = 'contact'
             and exists (select 1 from public.contacts c
                          where c.workspace_id = audit_log.workspace_id
                            and c.id = case when audit_log.entity_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                                            then audit_log.entity_id::uuid end))));
drop policy if exists "privileged functions append audit rows" on public.audit_log;
create policy "privileged functions append audit rows" on public.audit_log
  for insert to app_privileged with check (true);
drop policy if exists "privileged functions read every audit row" on public.audit_log;
create policy "privileged functions read every audit row" on public.audit_log
  for select to app_privileged using (true);
-- `npm run audit:verify` walks every chain: app_auditor (sql/010) reads all of it, writes nothing.
drop policy if exists "auditors read every audit row" on public.audit_log;
create policy "auditors read every audit row" on public.audit_log
  for select to app_auditor using (true);

alter table public.audit_chain_heads enable row level security;
alter table public.audit_chain_heads force row level security;
revoke all on public.audit_chain_heads from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert, update on public.audit_chain_heads to app_privileged;
grant select on public.audit_chain_heads to app_auditor;
drop policy if exists "privileged functions read chain heads" on public.audit_chain_heads;
create policy "privileged functions read chain heads" on public.audit_chain_heads
  for select to app_privileged using (true);
drop policy if exists "auditors read chain heads" on public.audit_chain_heads;
create policy "auditors read chain heads" on public.audit_chain_heads
  for select to app_auditor using (true);
drop policy if exists "privileged functions start chains" on public.audit_chain_heads;
create policy "privileged functions start chains" on public.audit_chain_heads
  for insert to app_privileged with check (seq = 0);
drop policy if exists "privileged functions advance chains" on public.audit_chain_heads;
create policy "privileged functions advance chains" on public.audit_chain_heads
  for update to app_privileged using (true) with check (true);

-- ---------------------------------------------------------------------------------------------
-- app.audit_redact: a row as JSON without its secret columns (hashes, ciphertext, passwords,
-- secrets, tokens), so the log never holds a copy of a secret. STRICT: no row stays NULL (the
-- before of a create, the after of a delete), not an empty object that reads as a row.
-- ---------------------------------------------------------------------------------------------
-- PL/pgSQL rather than SQL: a SQL body with a FROM cannot be inlined, and would be planned afresh
-- on every call before PostgreSQL 18; this plan is cached for the session.
create or replace function app.audit_redact(j jsonb) returns jsonb
  language plpgsql immutable strict
as $$
begin
  return (select coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), '{}'::jsonb)
            from pg_catalog.jsonb_each(j) as e
           where e.key operator(pg_catalog.!~) '(hash|encrypted|ciphertext|password|secret|token)');
end
$$;
alter function app.audit_redact(jsonb) reset all;
revoke all on function app.audit_redact(jsonb) from public;
grant execute on function app.audit_redact(jsonb) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.audit_require_actor: the actor of the current transaction, or an error. A change with no
-- actor in context is rejected, so nothing unattributed gets in — except from a superuser, who
-- could switch any trigger off anyway, and whose direct edits are recorded with db_role, and
-- from the schema owner's key rotation (a maintenance context, sql/200), recorded likewise.
-- ---------------------------------------------------------------------------------------------
create or replace function app.audit_require_actor(what text) returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if exists (select 1 from public.request_contexts c
              where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned()
                and (c.user_id is not null or c.token_id is not null or c.kind = 'maintenance')) then
    return;
  end if;
  -- Only when there is no actor: is this a superuser's direct edit?
  if not coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = session_user), false) then
    raise exception 'unattributed change to %: no actor in this transaction', what
      using errcode = '42501', hint = 'Changes are made by a signed-in user or an API token.';
  end if;
end
$$;
revoke all on function app.audit_require_actor(text) from public;
grant execute on function app.audit_require_actor(text) to app_privileged, app_runtime;

-- The same check as a BEFORE row trigger on business tables: the change capture itself is
-- deferred to COMMIT (see the triggers at the end), but an unattributed change is refused at
-- the statement that makes it, as a clear error rather than a failed COMMIT.
create or replace function app.audit_require_actor_trigger() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.audit_require_actor(tg_table_name);
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end
$$;
revoke all on function app.audit_require_actor_trigger() from public;

-- ---------------------------------------------------------------------------------------------
-- app.audit_append: the one INSERT into the log (app.audit_seal fills the actor, the metadata
-- and the chain fields). Called only from the SECURITY DEFINER functions, running as
-- app_privileged. A row needs an actor in the sealed context, except the few events that
-- are about someone who did not act (p_anonymous: a throttled sign-in, a reset link requested
-- for an address, a platform-admin grant made by the start-up sync), which have none.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.audit_append(uuid, text, text, text, text, jsonb, jsonb);
create or replace function app.audit_append(
    p_workspace_id uuid, p_kind text, p_action text, p_entity_type text, p_entity_id text, p_before jsonb, p_after jsonb,
    p_anonymous boolean default false)
  returns uuid
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_id uuid;
begin
  if not p_anonymous then
    perform app.audit_require_actor(coalesce(p_entity_type, 'the audit log'));
  end if;
  insert into public.audit_log (
    workspace_id, kind, action, entity_type, entity_id, before, after,
    -- placeholders, replaced by app.audit_seal:
    db_role, chain_key, chain_seq, hash)
  values (
    p_workspace_id, p_kind, p_action, p_entity_type, p_entity_id, app.audit_redact(p_before), app.audit_redact(p_after),
    '', '00000000-0000-0000-0000-000000000000', 0, pg_catalog.sha256(''::bytea))
  returning id into v_id;
  return v_id;
end
$$;
revoke all on function app.audit_append(uuid, text, text, text, text, jsonb, jsonb, boolean) from public;
grant execute on function app.audit_append(uuid, text, text, text, text, jsonb, jsonb, boolean) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.audit_capture: AFTER INSERT OR UPDATE OR DELETE on a business table. Records the change
-- with before/after (secrets redacted) and the request's actor, IP, user agent and request id
-- from the transaction-local context. Arguments: the entity type, and the id column (default
-- 'id'). An UPDATE that changes nothing records nothing; setting or clearing deleted_at records
-- a delete or a restore. SECURITY DEFINER so the runtime never needs INSERT on the log; it
-- crosses tenants only in the sense that it writes the row's own workspace's chain.
-- ---------------------------------------------------------------------------------------------
create or replace function app.audit_capture() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_entity text := tg_argv[0];
  v_id_column text := coalesce(tg_argv[1], 'id');
  v_before jsonb;
  v_after jsonb;
  v_row jsonb;
  v_action text;
begin
  -- Raw rows here; app.audit_append redacts the secret columns once.
  if tg_op <> 'INSERT' then v_before := pg_catalog.to_jsonb(old); end if;
  if tg_op <> 'DELETE' then v_after := pg_catalog.to_jsonb(new); end if;
  v_row := coalesce(v_after, v_before);
  if tg_op = 'INSERT' then
    v_action := v_entity || '.create';
  elsif tg_op = 'DELETE' then
    v_action := v_entity || '.purge';
  elsif v_before = v_after then
    return null;
  elsif v_before ? 'deleted_at' and (v_before ->> 'deleted_at') is null and (v_after ->> 'deleted_at') is not null then
    v_action := v_entity || '.delete';
  elsif v_before ? 'deleted_at' and (v_before ->> 'deleted_at') is not null and (v_after ->> 'deleted_at') is null then
    v_action := v_entity || '.restore';
  else
    v_action := v_entity || '.update';
  end if;
  perform app.audit_append((v_row ->> 'workspace_id')::uuid, 'change', v_action, v_entity, v_row ->> v_id_column, v_before, v_after);
  return null;
end
$$;
alter function app.audit_capture() owner to app_privileged;
revoke all on function app.audit_capture() from public;
comment on function app.audit_capture() is
  'Change capture: appends to the audit log, which the runtime may not write directly. '
  'Checks: the change has an actor in the sealed context';

-- ---------------------------------------------------------------------------------------------
-- app.audit_event: an event the service records itself (later: sign-in failures, MFA, tokens).
-- The workspace is the caller's context workspace, or NULL for a platform-level event: nobody
-- can write into another tenant's chain.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.audit_event(text, text, text, jsonb, jsonb, boolean);
create function app.audit_event(
    p_action text, p_entity_type text, p_entity_id text, p_before jsonb, p_after jsonb, p_platform boolean)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_id uuid;
  v_workspace uuid := case when p_platform then null else app.current_workspace_id() end;
begin
  if not p_platform and v_workspace is null then
    raise exception 'a workspace event needs a workspace context' using errcode = '42501';
  end if;
  v_id := app.audit_append(v_workspace, 'event', p_action, p_entity_type, p_entity_id, p_before, p_after);
  return v_id;
end
$$;
alter function app.audit_event(text, text, text, jsonb, jsonb, boolean) owner to app_privileged;
revoke all on function app.audit_event(text, text, text, jsonb, jsonb, boolean) from public;
grant execute on function app.audit_event(text, text, text, jsonb, jsonb, boolean) to app_runtime;
comment on function app.audit_event(text, text, text, jsonb, jsonb, boolean) is
  'Audit events recorded by the service: appends to the log, which the runtime may not write directly. '
  'Checks: an actor in the sealed context; a workspace event goes to the sealed workspace''s chain only';

-- ---------------------------------------------------------------------------------------------
-- app.admin_audit_log: what platform administrators review, newest first: platform-level rows
-- (workspace_id NULL) and the workspace transitions (approve, reject, suspend, reinstate,
-- trial), which are recorded in each workspace's own chain. The rows come from many chains, so
-- no chain position orders them: keyset pagination on (created_at, id), rows strictly after the
-- cursor's (p_before_at, p_before_id). At most 101 rows, one more than the largest page, so the
-- caller can tell whether another page follows.
-- Crosses tenants because reviewing workspaces is the platform's job; of a tenant's chain it
-- returns only the workspace-state events the platform itself made, never business changes.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.admin_audit_log(bigint, integer);
drop function if exists app.admin_audit_log(timestamptz, uuid, integer);
create function app.admin_audit_log(p_before_at timestamptz, p_before_id uuid, p_limit integer)
  returns setof public.audit_log
  language plpgsql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_platform_admin();
  return query
    select * from public.audit_log a
     where (a.workspace_id is null or (a.kind = 'event' and a.entity_type = 'workspace'))
       and (p_before_at is null or (a.created_at, a.id) < (p_before_at, p_before_id))
     order by a.created_at desc, a.id desc
     limit least(greatest(p_limit, 1), 101);
end
$$;
alter function app.admin_audit_log(timestamptz, uuid, integer) owner to app_privileged;
revoke all on function app.admin_audit_log(timestamptz, uuid, integer) from public;
grant execute on function app.admin_audit_log(timestamptz, uuid, integer) to app_runtime;
comment on function app.admin_audit_log(timestamptz, uuid, integer) is
  'Platform administration: reads platform-level events and every workspace''s state transitions. '
  'Checks: the sealed user is a platform administrator';

-- ---------------------------------------------------------------------------------------------
-- Business tables whose changes are captured: each table's file makes one call (contacts,
-- memberships, workspace_invites), and the catalogue lint in test/rls fails until a new
-- business table has it.
--
-- app.capture_changes gives a table its two triggers, <table>_audit and <table>_audit_actor.
-- The capture is a constraint trigger DEFERRABLE INITIALLY DEFERRED: it runs at COMMIT, with
-- the row values of each change, so the chain head's lock is held only while the transaction
-- commits rather than from the write to the end of the request. Writers to one busy workspace
-- then queue for far less time (measured in `npm run bench`, README). The actor check stays
-- immediate. Arguments: the table, its entity name in the log, and its id column if not 'id'.
-- ---------------------------------------------------------------------------------------------
create or replace procedure app.capture_changes(tbl regclass, entity text, id_column text default null)
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $proc$
declare
  rel constant text := (select c.relname from pg_catalog.pg_class c where c.oid = tbl);
begin
  execute format('drop trigger if exists %I on %s', rel || '_audit', tbl);
  execute format(
    'create constraint trigger %I after insert or update or delete on %s deferrable initially deferred '
    'for each row execute function app.audit_capture(%L%s)',
    rel || '_audit', tbl, entity, case when id_column is null then '' else format(', %L', id_column) end);
  execute format('drop trigger if exists %I on %s', rel || '_audit_actor', tbl);
  execute format(
    'create trigger %I before insert or update or delete on %s for each row execute function app.audit_require_actor_trigger()',
    rel || '_audit_actor', tbl);
end
$proc$;
revoke all on procedure app.capture_changes(regclass, text, text) from public;
