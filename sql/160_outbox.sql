-- =============================================================================================
-- The outbox (public.email_outbox) and its worker (src/email/worker.ts)
--
-- The worker runs in the service, on a small pool of the runtime login, and holds no owner
-- connection. It opens each drain with app.begin_worker and the worker key the database made
-- for itself (public.database_secrets, sql/020), which the service read once at start-up
-- through the schema owner: a statement injected as the runtime login does not have it, so it
-- can neither read the queue (addresses, sealed bodies) nor mark anything sent. The functions
-- that touch the queue belong to app_mailer, a NOLOGIN role whose only table is email_outbox,
-- and whose policies (below) let it see the queue only in a worker context. The worker's one
-- function beyond the queue, app.issue_password_reset, stands with the reset links it issues
-- (100_accounts.sql).
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- email_outbox: the service queues emails but cannot read them back; only the outbox worker,
-- in a worker context (below), claims and settles them.
-- ---------------------------------------------------------------------------------------------
alter table public.email_outbox enable row level security;
alter table public.email_outbox force row level security;
revoke all on public.email_outbox from app_runtime, app_privileged, app_mailer, app_auditor;
grant insert on public.email_outbox to app_runtime;
grant select, delete on public.email_outbox to app_mailer;
grant update (template, body_encrypted, status, attempts, next_attempt_at, last_error, provider_message_id, sent_at, sent_via)
  on public.email_outbox to app_mailer;
drop policy if exists "the service queues emails" on public.email_outbox;
create policy "the service queues emails" on public.email_outbox
  for insert to app_runtime
  with check (status = 'pending' and (from_workspace_id is null or from_workspace_id = (select app.current_workspace_id())));
drop policy if exists "the outbox worker reads the queue" on public.email_outbox;
-- (The schema owner, a member of app_mailer, re-seals the bodies during a key rotation: a
-- maintenance context, which only it can open, sql/200.)
create policy "the outbox worker reads the queue" on public.email_outbox
  for select to app_mailer using ((select app.current_context_kind()) in ('worker', 'maintenance'));
drop policy if exists "the outbox worker settles queued emails" on public.email_outbox;
create policy "the outbox worker settles queued emails" on public.email_outbox
  for update to app_mailer
  using ((select app.current_context_kind()) in ('worker', 'maintenance'))
  with check ((select app.current_context_kind()) in ('worker', 'maintenance'));
drop policy if exists "the outbox worker drops compositions with nothing to send" on public.email_outbox;
create policy "the outbox worker drops compositions with nothing to send" on public.email_outbox
  for delete to app_mailer using ((select app.current_context_kind()) = 'worker' and status = 'pending');

-- ---------------------------------------------------------------------------------------------
-- app.begin_worker: seals this transaction as the outbox worker (a context naming no user and
-- no workspace), given the worker key. Anything else: GHFBD, and no context.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.begin_worker(bytea);
create function app.begin_worker(p_key bytea)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  if p_key is null or not exists (select 1 from public.database_secrets s where s.name = 'outbox_worker' and s.secret = p_key) then
    raise exception 'only the outbox worker may drain the outbox' using errcode = 'GHFBD';
  end if;
  perform app.seal_context('worker', null, null, null, null, null, null);
end
$$;
alter function app.begin_worker(bytea) owner to app_privileged;
revoke all on function app.begin_worker(bytea) from public;
grant execute on function app.begin_worker(bytea) to app_runtime;
comment on function app.begin_worker(bytea) is
  'Outbox worker: seals a worker context (no user, no tenant) for the emails of every tenant. '
  'Checks: the caller presents the worker key the database issued';

-- Refuses anything but a worker context: the first line of every function below.
create or replace function app.assert_worker() returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if app.current_context_kind() is distinct from 'worker' then
    raise exception 'only the outbox worker may drain the outbox' using errcode = 'GHFBD';
  end if;
end
$$;
revoke all on function app.assert_worker() from public;
grant execute on function app.assert_worker() to app_privileged, app_mailer;

-- ---------------------------------------------------------------------------------------------
-- app.outbox_claim: up to p_limit due emails, locked FOR UPDATE SKIP LOCKED until the worker's
-- transaction ends, so several instances never send the same row at once.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.outbox_claim(integer);
create function app.outbox_claim(p_limit integer)
  returns table (id uuid, to_address text, template text, body_encrypted text, attempts integer, from_workspace_id uuid)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_worker();
  return query
    select o.id, o.to_address, o.template, o.body_encrypted, o.attempts, o.from_workspace_id
      from public.email_outbox o
     where o.status = 'pending' and o.next_attempt_at <= pg_catalog.now()
     order by o.next_attempt_at
     limit least(greatest(p_limit, 1), 100)
       for update skip locked;
end
$$;
alter function app.outbox_claim(integer) owner to app_mailer;
revoke all on function app.outbox_claim(integer) from public;
grant execute on function app.outbox_claim(integer) to app_runtime;
comment on function app.outbox_claim(integer) is
  'Outbox worker: claims due emails of every tenant. Checks: a worker context (app.begin_worker)';

-- ---------------------------------------------------------------------------------------------
-- app.outbox_settle: records a claimed email's outcome. 'sent': delivered (the secret-bearing
-- body is purged); 'retry': failed, tried again after p_backoff_seconds; 'failed': given up
-- (body purged); 'discard': a composition with nothing to send (the row goes). p_body (with
-- p_template) replaces a composition by the email composed from it, before sending. p_sent_via:
-- which Resend key delivered it, 'platform' or 'workspace' (the sender workspace's own).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.outbox_settle(uuid, text, text, text, integer, text, text);
drop function if exists app.outbox_settle(uuid, text, text, text, integer, text, text, text);
create function app.outbox_settle(
    p_id uuid, p_outcome text, p_provider_id text, p_error text, p_backoff_seconds integer, p_template text, p_body text,
    p_sent_via text default null)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_worker();
  case p_outcome
    when 'compose' then
      update public.email_outbox set template = p_template, body_encrypted = p_body where id = p_id and status = 'pending';
    when 'sent' then
      update public.email_outbox
         set status = 'sent', sent_at = pg_catalog.now(), body_encrypted = null, provider_message_id = p_provider_id,
             attempts = attempts + 1, last_error = null, sent_via = p_sent_via
       where id = p_id and status = 'pending';
    when 'retry', 'failed' then
      update public.email_outbox
         set attempts = attempts + 1, last_error = pg_catalog.left(p_error, 500),
             status = case when p_outcome = 'failed' then 'failed' else 'pending' end,
             body_encrypted = case when p_outcome = 'failed' then null else body_encrypted end,
             next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(secs => greatest(coalesce(p_backoff_seconds, 0), 0))
       where id = p_id and status = 'pending';
    when 'discard' then
      delete from public.email_outbox where id = p_id and status = 'pending';
    else
      raise exception 'unknown outbox outcome "%"', p_outcome using errcode = 'GHINV';
  end case;
end
$$;
alter function app.outbox_settle(uuid, text, text, text, integer, text, text, text) owner to app_mailer;
revoke all on function app.outbox_settle(uuid, text, text, text, integer, text, text, text) from public;
grant execute on function app.outbox_settle(uuid, text, text, text, integer, text, text, text) to app_runtime;
comment on function app.outbox_settle(uuid, text, text, text, integer, text, text, text) is
  'Outbox worker: records the outcome of an email of any tenant. Checks: a worker context (app.begin_worker)';

-- ---------------------------------------------------------------------------------------------
-- app.outbox_sender_credential: the Resend credential of an email's sender workspace, sealed
-- (its fields with the workspace's data key, and that key wrapped by the service's ring): the
-- worker's fallback when the platform's key is missing or fails. Nothing for a workspace with
-- no Resend credential, or whose data key was destroyed.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.outbox_sender_credential(uuid);
create function app.outbox_sender_credential(p_workspace_id uuid)
  returns table (data_key_encrypted text, generation integer, secrets_encrypted jsonb)
  language plpgsql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_worker();
  return query
    select k.data_key_encrypted, k.generation, c.secrets_encrypted
      from public.channel_credentials c
      join public.workspace_keys k on k.workspace_id = c.workspace_id
     where c.workspace_id = p_workspace_id and c.type = 'resend' and k.data_key_encrypted is not null;
end
$$;
alter function app.outbox_sender_credential(uuid) owner to app_privileged;
revoke all on function app.outbox_sender_credential(uuid) from public;
grant execute on function app.outbox_sender_credential(uuid) to app_runtime;
comment on function app.outbox_sender_credential(uuid) is
  'Outbox worker: reads a sender workspace''s sealed Resend credential, of any tenant. '
  'Checks: a worker context (app.begin_worker)';
