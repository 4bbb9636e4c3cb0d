-- =============================================================================================
-- The outbox worker (src/email/worker.ts)
--
-- The worker runs in the service, on a small pool of the runtime login, and holds no owner
-- connection. It opens each drain with app.begin_worker and the worker key the database made
-- for itself (public.database_secrets, sql/020), which the service read once at start-up
-- through the schema owner: a statement injected as the runtime login does not have it, so it
-- can neither read the queue (addresses, sealed bodies) nor mark anything sent. The functions
-- that touch the queue belong to app_mailer, a NOLOGIN role whose only table is email_outbox,
-- and whose policies (sql/030) let it see the queue only in a worker context.
-- =============================================================================================

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
  returns table (id uuid, to_address text, template text, body_encrypted text, attempts integer)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_worker();
  return query
    select o.id, o.to_address, o.template, o.body_encrypted, o.attempts
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
-- p_template) replaces a composition by the email composed from it, before sending.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.outbox_settle(uuid, text, text, text, integer, text, text);
create function app.outbox_settle(
    p_id uuid, p_outcome text, p_provider_id text, p_error text, p_backoff_seconds integer, p_template text, p_body text)
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
             attempts = attempts + 1, last_error = null
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
alter function app.outbox_settle(uuid, text, text, text, integer, text, text) owner to app_mailer;
revoke all on function app.outbox_settle(uuid, text, text, text, integer, text, text) from public;
grant execute on function app.outbox_settle(uuid, text, text, text, integer, text, text) to app_runtime;
comment on function app.outbox_settle(uuid, text, text, text, integer, text, text) is
  'Outbox worker: records the outcome of an email of any tenant. Checks: a worker context (app.begin_worker)';

-- ---------------------------------------------------------------------------------------------
-- app.issue_password_reset: the worker's half of forgot-password. The request only queued the
-- address (the same work for every address, so its timing reveals nothing); here, for an
-- address with an account, a single-use reset token is stored (its hash, p_ttl_seconds to
-- live, at most an hour) and the request is audited: about that user, with no actor (someone
-- asked for a link to their address; that someone is anonymous), with the request's IP, user
-- agent and request id. Answers the user's name for the email; no row: nothing was written.
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
  perform app.assert_worker();
  select u.id, u.name into v_user, v_name from public.users u where u.email = p_email;
  if v_user is null then
    return;
  end if;
  -- Still the worker (no user, no tenant); the metadata is the original request's.
  perform app.seal_context('worker', null, null, null, p_ip, p_user_agent, p_request_id);
  insert into public.email_tokens (user_id, purpose, token_hash, expires_at)
  values (v_user, 'reset_password', p_token_hash,
          pg_catalog.now() + pg_catalog.make_interval(secs => least(greatest(p_ttl_seconds, 60), 3600)));
  perform app.audit_append(null, 'event', 'auth.password_reset_requested', 'user', v_user::text, null, null, true);
  return query select v_user, v_name;
end
$$;
alter function app.issue_password_reset(text, bytea, integer, text, text, text) owner to app_privileged;
revoke all on function app.issue_password_reset(text, bytea, integer, text, text, text) from public;
grant execute on function app.issue_password_reset(text, bytea, integer, text, text, text) to app_runtime;
comment on function app.issue_password_reset(text, bytea, integer, text, text, text) is
  'Password reset: the outbox worker issues a reset token for an address before anyone is signed in. '
  'Checks: a worker context (app.begin_worker)';
