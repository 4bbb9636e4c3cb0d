-- =============================================================================================
-- TOTP multi-factor authentication (issue 4)
--
-- public.user_mfa (one row per user: the encrypted TOTP secret, enabled_at, last_used_step),
-- public.mfa_backup_codes (SHA-256 of each single-use backup code) and public.mfa_challenges
-- (SHA-256 of the short-lived token between a password check and its second factor) come from
-- migrations/0003. None has a workspace_id: they belong to a user, never to a tenant.
--
-- A user reads and writes only their own MFA row and backup codes, and is issued their own
-- challenges. A challenge is used before anyone is signed in (the client holds only the
-- mfaToken), so it is looked up and consumed only through the SECURITY DEFINER functions below,
-- whose owner app_privileged has a policy per command they run.
-- Re-runnable: policies and functions are dropped and created again.
-- =============================================================================================

alter table public.user_mfa enable row level security;
alter table public.user_mfa force row level security;
alter table public.mfa_backup_codes enable row level security;
alter table public.mfa_backup_codes force row level security;
alter table public.mfa_challenges enable row level security;
alter table public.mfa_challenges force row level security;

-- ---------------------------------------------------------------------------------------------
-- user_mfa: the current user's own second factor only.
-- ---------------------------------------------------------------------------------------------
drop policy if exists "users read their own MFA settings" on public.user_mfa;
create policy "users read their own MFA settings" on public.user_mfa
  for select to app_runtime using (user_id = (select app.current_user_id()));
drop policy if exists "users set up their own MFA" on public.user_mfa;
create policy "users set up their own MFA" on public.user_mfa
  for insert to app_runtime with check (user_id = (select app.current_user_id()));
drop policy if exists "users change their own MFA settings" on public.user_mfa;
create policy "users change their own MFA settings" on public.user_mfa
  for update to app_runtime using (user_id = (select app.current_user_id()))
  with check (user_id = (select app.current_user_id()));
drop policy if exists "users remove their own MFA" on public.user_mfa;
create policy "users remove their own MFA" on public.user_mfa
  for delete to app_runtime using (user_id = (select app.current_user_id()));

-- ---------------------------------------------------------------------------------------------
-- mfa_backup_codes: the current user's own codes only.
-- ---------------------------------------------------------------------------------------------
drop policy if exists "users read their own backup codes" on public.mfa_backup_codes;
create policy "users read their own backup codes" on public.mfa_backup_codes
  for select to app_runtime using (user_id = (select app.current_user_id()));
drop policy if exists "users are issued their own backup codes" on public.mfa_backup_codes;
create policy "users are issued their own backup codes" on public.mfa_backup_codes
  for insert to app_runtime with check (user_id = (select app.current_user_id()));
drop policy if exists "users use their own backup codes" on public.mfa_backup_codes;
-- (The runtime may only UPDATE used_at, and only to a time: a used code stays used.)
create policy "users use their own backup codes" on public.mfa_backup_codes
  for update to app_runtime using (user_id = (select app.current_user_id()))
  with check (user_id = (select app.current_user_id()) and used_at is not null);
drop policy if exists "users discard their own backup codes" on public.mfa_backup_codes;
create policy "users discard their own backup codes" on public.mfa_backup_codes
  for delete to app_runtime using (user_id = (select app.current_user_id()));

-- ---------------------------------------------------------------------------------------------
-- mfa_challenges: issued for the current user (after the password check); read and consumed
-- only through the functions below.
-- ---------------------------------------------------------------------------------------------
drop policy if exists "users are issued their own MFA challenges" on public.mfa_challenges;
create policy "users are issued their own MFA challenges" on public.mfa_challenges
  for insert to app_runtime with check (user_id = (select app.current_user_id()));
drop policy if exists "privileged functions find MFA challenges" on public.mfa_challenges;
create policy "privileged functions find MFA challenges" on public.mfa_challenges
  for select to app_privileged using (true);
drop policy if exists "privileged functions consume MFA challenges" on public.mfa_challenges;
create policy "privileged functions consume MFA challenges" on public.mfa_challenges
  for update to app_privileged using (true) with check (used_at is not null);

-- ---------------------------------------------------------------------------------------------
-- app.consume_mfa_challenge: uses a live MFA challenge, atomically; returns its user or NULL.
-- One UPDATE ... WHERE used_at IS NULL AND expires_at > now(): of two concurrent uses exactly
-- one gets the row. Crosses users because the caller is not signed in yet: the mfaToken is the
-- only thing identifying the user. The service calls it in the request transaction and checks
-- the code afterwards, so a wrong code rolls the consumption back (see src/modules/auth/mfa.ts).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.consume_mfa_challenge(bytea);
create function app.consume_mfa_challenge(p_token_hash bytea)
  returns uuid
  language sql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
  update public.mfa_challenges
     set used_at = pg_catalog.now()
   where token_hash = p_token_hash
     and used_at is null
     and expires_at > pg_catalog.now()
  returning mfa_challenges.user_id
$$;
alter function app.consume_mfa_challenge(bytea) owner to app_privileged;
revoke all on function app.consume_mfa_challenge(bytea) from public;
grant execute on function app.consume_mfa_challenge(bytea) to app_runtime;
comment on function app.consume_mfa_challenge(bytea) is
  'MFA sign-in: the holder of an mfaToken is not signed in yet, so its user is found by the token';

-- ---------------------------------------------------------------------------------------------
-- app.mfa_challenge_user: the user of a live MFA challenge, without consuming it, or NULL.
-- The per-account limit on MFA codes is keyed by this user id (not by the token, which a
-- guesser could renew with each password sign-in), and runs before the request transaction.
-- Crosses users for the same reason as app.consume_mfa_challenge; it reveals a user id only to
-- whoever holds a live token for it, which the sign-in just handed to them.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.mfa_challenge_user(bytea);
create function app.mfa_challenge_user(p_token_hash bytea)
  returns uuid
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select c.user_id from public.mfa_challenges c
   where c.token_hash = p_token_hash and c.used_at is null and c.expires_at > pg_catalog.now()
$$;
alter function app.mfa_challenge_user(bytea) owner to app_privileged;
revoke all on function app.mfa_challenge_user(bytea) from public;
grant execute on function app.mfa_challenge_user(bytea) to app_runtime;
comment on function app.mfa_challenge_user(bytea) is
  'MFA sign-in rate limit: finds the account an mfaToken belongs to before anyone is signed in';
