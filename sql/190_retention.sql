-- =============================================================================================
-- Retention: what is deleted, and when
--
-- Nothing used to be deleted: every expired or revoked session, every used or expired email
-- link and MFA challenge stayed for good. app.sweep_expired deletes them once they are past
-- their retention, a bounded batch per table per call; the service calls it every few minutes
-- (src/plugins/retention.ts), and the spent rate-limit counters go the same way
-- (app.rate_limit_sweep, sql/170). The retention is written once, in the delete policies below,
-- so no caller can delete anything younger, and a DBA reads it here:
--
--   sessions         30 days after they ended (revoked, past their absolute expiry, or idle past
--                    their idle timeout). A re-issued token needs its old row for 60 seconds; the
--                    audit trail names sessions by id and keeps its own rows.
--   email_tokens     7 days after they were used or expired.
--   mfa_challenges   1 day after they were used or expired.
--   security_events  90 days after they were recorded (a trigger refuses any younger delete,
--                    to every role: sql/060).
--
-- The audit log is append-only and is not swept.
-- =============================================================================================

grant delete on public.sessions to app_privileged;
drop policy if exists "privileged functions delete sessions ended 30 days ago" on public.sessions;
create policy "privileged functions delete sessions ended 30 days ago" on public.sessions
  for delete to app_privileged
  using (least(coalesce(revoked_at, 'infinity'::timestamptz), expires_at,
               last_seen_at + pg_catalog.make_interval(secs => idle_timeout_seconds))
         < pg_catalog.now() - interval '30 days');

grant delete on public.email_tokens to app_privileged;
drop policy if exists "privileged functions delete email links spent 7 days ago" on public.email_tokens;
create policy "privileged functions delete email links spent 7 days ago" on public.email_tokens
  for delete to app_privileged
  using (least(coalesce(used_at, 'infinity'::timestamptz), expires_at) < pg_catalog.now() - interval '7 days');

grant delete on public.security_events to app_privileged;
drop policy if exists "privileged functions delete security events 90 days old" on public.security_events;
create policy "privileged functions delete security events 90 days old" on public.security_events
  for delete to app_privileged
  using (created_at < pg_catalog.now() - interval '90 days');

grant delete on public.mfa_challenges to app_privileged;
drop policy if exists "privileged functions delete MFA challenges spent a day ago" on public.mfa_challenges;
create policy "privileged functions delete MFA challenges spent a day ago" on public.mfa_challenges
  for delete to app_privileged
  using (least(coalesce(used_at, 'infinity'::timestamptz), expires_at) < pg_catalog.now() - interval '1 day');

-- ---------------------------------------------------------------------------------------------
-- app.sweep_expired: deletes up to p_limit rows past their retention from each table above (the
-- policies decide which) and answers how many went from each. Harmless to call at any time, from
-- any instance (two at once delete each row once): it cannot reach a live row.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.sweep_expired(integer);
create function app.sweep_expired(p_limit integer)
  returns table (what text, deleted integer)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_limit integer := least(greatest(coalesce(p_limit, 1000), 1), 10000);
  n integer;
begin
  delete from public.sessions where id in (
    select s.id from public.sessions s
     where least(coalesce(s.revoked_at, 'infinity'::timestamptz), s.expires_at,
                 s.last_seen_at + pg_catalog.make_interval(secs => s.idle_timeout_seconds))
           < pg_catalog.now() - interval '30 days'
     limit v_limit);
  get diagnostics n = row_count;
  what := 'sessions'; deleted := n; return next;

  delete from public.email_tokens where id in (
    select e.id from public.email_tokens e
     where least(coalesce(e.used_at, 'infinity'::timestamptz), e.expires_at) < pg_catalog.now() - interval '7 days'
     limit v_limit);
  get diagnostics n = row_count;
  what := 'email_tokens'; deleted := n; return next;

  delete from public.mfa_challenges where id in (
    select c.id from public.mfa_challenges c
     where least(coalesce(c.used_at, 'infinity'::timestamptz), c.expires_at) < pg_catalog.now() - interval '1 day'
     limit v_limit);
  get diagnostics n = row_count;
  what := 'mfa_challenges'; deleted := n; return next;

  delete from public.security_events where id in (
    select e.id from public.security_events e
     where e.created_at < pg_catalog.now() - interval '90 days'
     limit v_limit);
  get diagnostics n = row_count;
  what := 'security_events'; deleted := n; return next;
end
$$;
alter function app.sweep_expired(integer) owner to app_privileged;
revoke all on function app.sweep_expired(integer) from public;
grant execute on function app.sweep_expired(integer) to app_runtime;
comment on function app.sweep_expired(integer) is
  'Retention: deletes sessions, email links, MFA challenges and security events of every user once past their retention. '
  'Checks: the delete policies admit only rows past their retention by the database''s own clock; a bounded batch';
