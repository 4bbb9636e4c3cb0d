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
--   them all, resetting every limit at once. Through the functions it can only count, give one
--   unit back, or sweep what has expired.
-- RLS is ENABLEd and FORCEd like every table (sql/030); the functions' owner, app_privileged,
-- has one policy per command they run. Re-runnable: policies and functions are dropped and
-- created again.
-- =============================================================================================

alter table public.rate_limits enable row level security;
alter table public.rate_limits force row level security;

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

-- ---------------------------------------------------------------------------------------------
-- app.rate_limit_hit: counts one request in (key, bucket) and returns the bucket's count with
-- this hit and the previous bucket's count, for the sliding-window estimate
-- (src/rate-limit/window.ts). One INSERT … ON CONFLICT DO UPDATE: concurrent hits on any number
-- of instances serialise on the row and none is lost; the previous bucket is read by the same
-- statement, so a hit is one round trip.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.rate_limit_hit(text, bigint, timestamptz);
create function app.rate_limit_hit(p_key text, p_bucket bigint, p_expires_at timestamptz)
  returns table (count integer, previous integer)
  language sql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
  insert into public.rate_limits as r (key, bucket, count, expires_at)
  values (p_key, p_bucket, 1, p_expires_at)
  on conflict (key, bucket) do update set count = r.count + 1
  returning r.count,
    coalesce((select p.count from public.rate_limits p where p.key = p_key and p.bucket = p_bucket - 1), 0)
$$;
alter function app.rate_limit_hit(text, bigint, timestamptz) owner to app_privileged;
revoke all on function app.rate_limit_hit(text, bigint, timestamptz) from public;
grant execute on function app.rate_limit_hit(text, bigint, timestamptz) to app_runtime;
comment on function app.rate_limit_hit(text, bigint, timestamptz) is
  'Rate limiting: counts one request, before anyone is identified';

-- ---------------------------------------------------------------------------------------------
-- app.rate_limit_refund: gives one unit of a bucket back (a sign-in that succeeded, an attempt
-- the account limiter refused). Never below zero.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.rate_limit_refund(text, bigint);
create function app.rate_limit_refund(p_key text, p_bucket bigint)
  returns void
  language sql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
  update public.rate_limits set count = count - 1 where key = p_key and bucket = p_bucket and count > 0
$$;
alter function app.rate_limit_refund(text, bigint) owner to app_privileged;
revoke all on function app.rate_limit_refund(text, bigint) from public;
grant execute on function app.rate_limit_refund(text, bigint) to app_runtime;
comment on function app.rate_limit_refund(text, bigint) is
  'Rate limiting: gives back the unit of a request that does not count';

-- ---------------------------------------------------------------------------------------------
-- app.rate_limit_sweep: deletes the counters expired at p_now, the service's clock (tests move
-- it); capped at the database's now(), so no caller can pass a future time and wipe live
-- counters, which would reset every limit. Returns how many rows went.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.rate_limit_sweep(timestamptz);
create function app.rate_limit_sweep(p_now timestamptz)
  returns integer
  language sql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
  with gone as (
    delete from public.rate_limits where expires_at <= least(p_now, pg_catalog.now()) returning 1
  )
  select pg_catalog.count(*)::integer from gone
$$;
alter function app.rate_limit_sweep(timestamptz) owner to app_privileged;
revoke all on function app.rate_limit_sweep(timestamptz) from public;
grant execute on function app.rate_limit_sweep(timestamptz) to app_runtime;
comment on function app.rate_limit_sweep(timestamptz) is
  'Rate limiting: deletes expired counters (never live ones)';
