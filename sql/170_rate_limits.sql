-- =============================================================================================
-- Rate limits
--
-- public.rate_limits (migrations/0002) holds the limiter's counters: (key, window bucket, count,
-- expires_at), UNLOGGED because they are disposable. It has no workspace_id: a counter belongs
-- to a client IP, an account's email hash or a user, never to a tenant.
--
-- The runtime role gets no privilege on the table, only the three functions below, because
-- - the limiter runs before anyone is identified, so a runtime policy would have to allow every
--   row without context, breaking the rule the RLS suite checks for every table the runtime
--   can read ("without context nothing is visible");
-- - a stray or injected runtime query could otherwise read the counters (client IPs) or delete
--   them all, resetting every limit at once. Through the functions it can only count, give back
--   the unit of a hit it holds the refund ticket of, or sweep what has expired.
-- RLS is ENABLEd and FORCEd like every table (sql/030); the functions' owner, app_privileged,
-- has one policy per command they run. Re-runnable: policies and functions are dropped and
-- created again.
-- =============================================================================================

alter table public.rate_limits enable row level security;
alter table public.rate_limits force row level security;
revoke all on public.rate_limits from app_runtime, app_privileged, app_mailer, app_auditor;
-- app_runtime has no privilege on it (see above). Only count changes: a counter's key and
-- bucket never do.
grant select, insert, delete on public.rate_limits to app_privileged;
grant update (count) on public.rate_limits to app_privileged;

drop policy if exists "the limiter reads rate-limit counters" on public.rate_limits;
create policy "the limiter reads rate-limit counters" on public.rate_limits
  for select to app_privileged using (true);

drop policy if exists "the limiter starts rate-limit counters" on public.rate_limits;
create policy "the limiter starts rate-limit counters" on public.rate_limits
  for insert to app_privileged with check (true);

drop policy if exists "the limiter counts and refunds in rate-limit counters" on public.rate_limits;
create policy "the limiter counts and refunds in rate-limit counters" on public.rate_limits
  for update to app_privileged using (true) with check (true);

drop policy if exists "the limiter sweeps expired rate-limit counters" on public.rate_limits;
create policy "the limiter sweeps expired rate-limit counters" on public.rate_limits
  for delete to app_privileged using (true);

-- rate_limit_refunds: one row per refundable hit (its ticket's SHA-256), same policies' spirit.
alter table public.rate_limit_refunds enable row level security;
alter table public.rate_limit_refunds force row level security;
revoke all on public.rate_limit_refunds from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert, delete on public.rate_limit_refunds to app_privileged;
drop policy if exists "the limiter reads refund tickets" on public.rate_limit_refunds;
create policy "the limiter reads refund tickets" on public.rate_limit_refunds
  for select to app_privileged using (true);
drop policy if exists "the limiter issues refund tickets" on public.rate_limit_refunds;
create policy "the limiter issues refund tickets" on public.rate_limit_refunds
  for insert to app_privileged with check (true);
drop policy if exists "the limiter spends and sweeps refund tickets" on public.rate_limit_refunds;
create policy "the limiter spends and sweeps refund tickets" on public.rate_limit_refunds
  for delete to app_privileged using (true);

-- ---------------------------------------------------------------------------------------------
-- app.rate_limit_hit: counts one request in (key, bucket) and returns the bucket's count with
-- this hit and the previous bucket's count, for the sliding-window estimate
-- (src/rate-limit/window.ts). One INSERT … ON CONFLICT DO UPDATE: concurrent hits on any number
-- of instances serialise on the row and none is lost; the previous bucket is read by the same
-- statement, so a hit is one round trip. With p_refundable, the hit also gets a refund ticket
-- (a random value, of which only the SHA-256 is kept): the one way to give this unit back.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.rate_limit_hit(text, bigint, timestamptz);
drop function if exists app.rate_limit_hit(text, bigint, timestamptz, boolean);
create function app.rate_limit_hit(p_key text, p_bucket bigint, p_expires_at timestamptz, p_refundable boolean default false)
  returns table (count integer, previous integer, ticket uuid)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ticket uuid;
begin
  if p_refundable then
    v_ticket := gen_random_uuid();
    insert into public.rate_limit_refunds (ticket_hash, key, bucket, expires_at)
    values (pg_catalog.sha256(pg_catalog.uuid_send(v_ticket)), p_key, p_bucket, p_expires_at);
  end if;
  return query
    insert into public.rate_limits as r (key, bucket, count, expires_at)
    values (p_key, p_bucket, 1, p_expires_at)
    on conflict (key, bucket) do update set count = r.count + 1
    returning r.count,
      coalesce((select p.count from public.rate_limits p where p.key = p_key and p.bucket = p_bucket - 1), 0),
      v_ticket;
end
$$;
alter function app.rate_limit_hit(text, bigint, timestamptz, boolean) owner to app_privileged;
revoke all on function app.rate_limit_hit(text, bigint, timestamptz, boolean) from public;
grant execute on function app.rate_limit_hit(text, bigint, timestamptz, boolean) to app_runtime;
comment on function app.rate_limit_hit(text, bigint, timestamptz, boolean) is
  'Rate limiting: counts one request, before anyone is identified. '
  'Checks: nothing to check; a hit only ever adds to a counter';

-- ---------------------------------------------------------------------------------------------
-- app.rate_limit_refund: gives back the unit of the hit that was issued `p_ticket` (a sign-in
-- that succeeded, an attempt the account limiter refused unchecked), once. Never below zero.
-- Without the ticket of one's own hit nothing happens: no caller can reset someone's lockout.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.rate_limit_refund(text, bigint);
drop function if exists app.rate_limit_refund(uuid);
create function app.rate_limit_refund(p_ticket uuid)
  returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_key text;
  v_bucket bigint;
begin
  delete from public.rate_limit_refunds t where t.ticket_hash = pg_catalog.sha256(pg_catalog.uuid_send(p_ticket))
  returning t.key, t.bucket into v_key, v_bucket;
  if not found then
    return false;
  end if;
  update public.rate_limits set count = count - 1 where key = v_key and bucket = v_bucket and count > 0;
  return true;
end
$$;
alter function app.rate_limit_refund(uuid) owner to app_privileged;
revoke all on function app.rate_limit_refund(uuid) from public;
grant execute on function app.rate_limit_refund(uuid) to app_runtime;
comment on function app.rate_limit_refund(uuid) is
  'Rate limiting: gives back the unit of a request that does not count. '
  'Checks: the refund ticket the database issued with that very hit, spent once';

-- ---------------------------------------------------------------------------------------------
-- app.rate_limit_sweep: deletes the counters (and refund tickets) expired at p_now, the
-- service's clock (tests move it); capped at the database's now(), so no caller can pass a
-- future time and wipe live counters, which would reset every limit. Returns how many counters
-- went.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.rate_limit_sweep(timestamptz);
create function app.rate_limit_sweep(p_now timestamptz)
  returns integer
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_deleted integer;
begin
  delete from public.rate_limit_refunds where expires_at <= least(p_now, pg_catalog.now());
  delete from public.rate_limits where expires_at <= least(p_now, pg_catalog.now());
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;
alter function app.rate_limit_sweep(timestamptz) owner to app_privileged;
revoke all on function app.rate_limit_sweep(timestamptz) from public;
grant execute on function app.rate_limit_sweep(timestamptz) to app_runtime;
comment on function app.rate_limit_sweep(timestamptz) is
  'Rate limiting: deletes expired counters (never live ones). '
  'Checks: the time is capped at the database''s own clock';
