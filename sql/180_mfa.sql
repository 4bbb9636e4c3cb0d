-- =============================================================================================
-- TOTP multi-factor authentication
--
-- public.user_mfa (one row per user: the encrypted TOTP secret, enabled_at, last_used_step),
-- public.mfa_backup_codes (SHA-256 of each single-use backup code) and public.mfa_challenges
-- (SHA-256 of the short-lived token between a password check and its second factor) come from
-- migrations/0003. None has a workspace_id: they belong to a user, never to a tenant.
--
-- The runtime reads its user's own MFA row (the service decrypts the secret to check a code) and
-- whether its backup codes are used, nothing more: every change goes through the functions
-- below, which check what the database can check itself — a password proof (sql/100), a backup
-- code's hash, an MFA challenge it issued — and record a TOTP time step at most once, so a code
-- is never accepted twice. (The TOTP secret is sealed with a key the database never sees, so the
-- code itself is checked by the service; the database takes the step it was valid for.)
-- Re-runnable: policies and functions are dropped and created again.
-- =============================================================================================

-- Retired: the runtime used to write these tables itself.
drop policy if exists "users set up their own MFA" on public.user_mfa;
drop policy if exists "users change their own MFA settings" on public.user_mfa;
drop policy if exists "users remove their own MFA" on public.user_mfa;
drop policy if exists "users are issued their own backup codes" on public.mfa_backup_codes;
drop policy if exists "users use their own backup codes" on public.mfa_backup_codes;
drop policy if exists "users discard their own backup codes" on public.mfa_backup_codes;
drop policy if exists "users are issued their own MFA challenges" on public.mfa_challenges;
drop policy if exists "privileged functions consume MFA challenges" on public.mfa_challenges;
drop policy if exists "privileged functions see who uses MFA" on public.user_mfa;
drop function if exists app.consume_mfa_challenge(bytea);
drop function if exists app.mfa_challenge_user(bytea);

-- ---------------------------------------------------------------------------------------------
-- user_mfa: the runtime reads the sealed user's own row. The privileged functions read every
-- row (the member list shows who uses MFA; a challenge's holder needs its user's secret) and
-- write only the sealed user's.
-- ---------------------------------------------------------------------------------------------
call app.secure_user_table('public.user_mfa', 'MFA settings', array['select']);
revoke all on public.user_mfa from app_runtime, app_privileged, app_mailer, app_auditor;
-- The runtime reads its own row's envelope (only the service's key opens it); it writes nothing.
grant select (user_id, secret_encrypted, enabled_at, last_used_step, created_at, updated_at) on public.user_mfa to app_runtime;
grant select, insert, delete on public.user_mfa to app_privileged;
grant update (secret_encrypted, enabled_at, last_used_step, updated_at) on public.user_mfa to app_privileged;
drop policy if exists "privileged functions read MFA settings" on public.user_mfa;
create policy "privileged functions read MFA settings" on public.user_mfa
  for select to app_privileged using (true);
drop policy if exists "privileged functions set up the sealed user's MFA" on public.user_mfa;
create policy "privileged functions set up the sealed user's MFA" on public.user_mfa
  for insert to app_privileged with check (user_id = (select app.current_user_id()));
drop policy if exists "privileged functions change the sealed user's MFA" on public.user_mfa;
-- (or, in a maintenance context, which only the schema owner can open, the key rotation's
-- re-sealing of every secret, sql/200)
create policy "privileged functions change the sealed user's MFA" on public.user_mfa
  for update to app_privileged
  using (user_id = (select app.current_user_id()) or (select app.current_context_kind()) = 'maintenance')
  with check (user_id = (select app.current_user_id()) or (select app.current_context_kind()) = 'maintenance');
drop policy if exists "privileged functions remove the sealed user's MFA" on public.user_mfa;
create policy "privileged functions remove the sealed user's MFA" on public.user_mfa
  for delete to app_privileged using (user_id = (select app.current_user_id()));

-- ---------------------------------------------------------------------------------------------
-- mfa_backup_codes: the runtime sees which of its own codes are used (never a hash); the
-- privileged functions issue, use and discard the sealed user's codes only.
-- ---------------------------------------------------------------------------------------------
call app.secure_user_table('public.mfa_backup_codes', 'backup codes', array['select']);
revoke all on public.mfa_backup_codes from app_runtime, app_privileged, app_mailer, app_auditor;
grant select (id, user_id, created_at, used_at) on public.mfa_backup_codes to app_runtime;
grant select, insert, delete on public.mfa_backup_codes to app_privileged;
grant update (used_at) on public.mfa_backup_codes to app_privileged;
drop policy if exists "privileged functions read the sealed user's backup codes" on public.mfa_backup_codes;
create policy "privileged functions read the sealed user's backup codes" on public.mfa_backup_codes
  for select to app_privileged using (user_id = (select app.current_user_id()));
drop policy if exists "privileged functions issue the sealed user's backup codes" on public.mfa_backup_codes;
create policy "privileged functions issue the sealed user's backup codes" on public.mfa_backup_codes
  for insert to app_privileged with check (user_id = (select app.current_user_id()) and used_at is null);
drop policy if exists "privileged functions use the sealed user's backup codes" on public.mfa_backup_codes;
-- (A used code stays used.)
create policy "privileged functions use the sealed user's backup codes" on public.mfa_backup_codes
  for update to app_privileged
  using (user_id = (select app.current_user_id())) with check (user_id = (select app.current_user_id()) and used_at is not null);
drop policy if exists "privileged functions discard the sealed user's backup codes" on public.mfa_backup_codes;
create policy "privileged functions discard the sealed user's backup codes" on public.mfa_backup_codes
  for delete to app_privileged using (user_id = (select app.current_user_id()));

-- ---------------------------------------------------------------------------------------------
-- mfa_challenges: issued by app.sign_in for the user whose password it verified; found by token
-- and consumed (by the sealed user, once found) only here. The runtime has no policy at all.
-- ---------------------------------------------------------------------------------------------
alter table public.mfa_challenges enable row level security;
alter table public.mfa_challenges force row level security;
revoke all on public.mfa_challenges from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert on public.mfa_challenges to app_privileged;
grant update (used_at) on public.mfa_challenges to app_privileged;
drop policy if exists "privileged functions find MFA challenges" on public.mfa_challenges;
create policy "privileged functions find MFA challenges" on public.mfa_challenges
  for select to app_privileged using (true);
drop policy if exists "privileged functions issue the sealed user's MFA challenges" on public.mfa_challenges;
create policy "privileged functions issue the sealed user's MFA challenges" on public.mfa_challenges
  for insert to app_privileged with check (user_id = (select app.current_user_id()) and used_at is null);
drop policy if exists "privileged functions consume the sealed user's MFA challenges" on public.mfa_challenges;
create policy "privileged functions consume the sealed user's MFA challenges" on public.mfa_challenges
  for update to app_privileged
  using (user_id = (select app.current_user_id())) with check (user_id = (select app.current_user_id()) and used_at is not null);

-- ---------------------------------------------------------------------------------------------
-- Internal steps (not callable by the runtime).
-- ---------------------------------------------------------------------------------------------

-- Records TOTP time step `p_step` for the sealed user, at most once: the row changes only when
-- the step is newer than the last accepted one, so a replayed (or older) code is refused
-- (GHMFA). p_enable: the row must be pending and becomes enabled; otherwise MFA must be on. A
-- step more than five minutes from the database's clock is refused too, so nobody can push the
-- replay guard far ahead and lock the user's authenticator out.
create or replace function app.accept_totp_step(p_step bigint, p_enable boolean) returns void
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
  v_now_step bigint := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.now()) / 30)::bigint;
begin
  if p_step is null or p_step not between v_now_step - 10 and v_now_step + 10 then
    raise exception 'The code is wrong, expired or already used' using errcode = 'GHMFA';
  end if;
  update public.user_mfa
     set last_used_step = p_step, updated_at = pg_catalog.now(),
         enabled_at = case when p_enable then pg_catalog.now() else enabled_at end
   where user_id = v_user
     and (enabled_at is null) = p_enable
     and (last_used_step is null or last_used_step < p_step);
  if not found then
    raise exception 'The code is wrong, expired or already used' using errcode = 'GHMFA';
  end if;
end
$$;
revoke all on function app.accept_totp_step(bigint, boolean) from public;
grant execute on function app.accept_totp_step(bigint, boolean) to app_privileged;

-- Uses one unused backup code of the sealed user (of two concurrent uses one wins); GHMFA if none.
-- `p_candidates`: what the one code the user typed may be stored as (its HMAC under each key of
-- the service's ring, and the SHA-256 of codes issued before peppering: src/crypto/backup-codes.ts);
-- at most one stored code matches, and exactly one is spent.
drop function if exists app.use_backup_code(bytea);
create or replace function app.use_backup_code(p_candidates bytea[]) returns void
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
begin
  if coalesce(pg_catalog.cardinality(p_candidates), 0) not between 1 and 16 then
    raise exception 'The code is wrong, expired or already used' using errcode = 'GHMFA';
  end if;
  update public.mfa_backup_codes set used_at = pg_catalog.now()
   where id = (select c.id from public.mfa_backup_codes c
                where c.user_id = app.require_account_user() and c.code_hash = any (p_candidates) and c.used_at is null
                limit 1);
  if not found then
    raise exception 'The code is wrong, expired or already used' using errcode = 'GHMFA';
  end if;
end
$$;
revoke all on function app.use_backup_code(bytea[]) from public;
grant execute on function app.use_backup_code(bytea[]) to app_privileged;

-- Replaces every backup code of the sealed user with these hashes (ten, each 32 bytes).
create or replace function app.replace_backup_codes(p_hashes bytea[]) returns void
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
begin
  if coalesce(pg_catalog.cardinality(p_hashes), 0) <> 10
     or exists (select 1 from pg_catalog.unnest(p_hashes) h where h is null or pg_catalog.length(h) <> 32) then
    raise exception 'ten 32-byte backup code hashes are expected' using errcode = 'GHINV';
  end if;
  delete from public.mfa_backup_codes where user_id = v_user;
  insert into public.mfa_backup_codes (user_id, code_hash) select v_user, h from pg_catalog.unnest(p_hashes) h;
end
$$;
revoke all on function app.replace_backup_codes(bytea[]) from public;
grant execute on function app.replace_backup_codes(bytea[]) to app_privileged;

-- The second factor of the sealed user: a backup code (its candidate hashes), or a TOTP step.
-- Neither (the service found no step the code was valid for): GHMFA, like a wrong one.
drop function if exists app.use_second_factor(bigint, bytea);
create or replace function app.use_second_factor(p_step bigint, p_backup_code_hashes bytea[]) returns void
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
begin
  if p_backup_code_hashes is not null then
    perform app.use_backup_code(p_backup_code_hashes);
  else
    perform app.accept_totp_step(p_step, false);
  end if;
end
$$;
revoke all on function app.use_second_factor(bigint, bytea[]) from public;
grant execute on function app.use_second_factor(bigint, bytea[]) to app_privileged;

-- The sealed user has MFA on; GHCFL otherwise (disabling and regenerating need it).
create or replace function app.assert_mfa_enabled(p_user_id uuid) returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if not exists (select 1 from public.user_mfa f where f.user_id = p_user_id and f.enabled_at is not null) then
    raise exception 'MFA is not enabled' using errcode = 'GHCFL';
  end if;
end
$$;
revoke all on function app.assert_mfa_enabled(uuid) from public;
grant execute on function app.assert_mfa_enabled(uuid) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.mfa_challenge: the user and sealed TOTP secret behind a live MFA challenge, without
-- consuming it, or no row. Crosses users because the caller is not signed in yet: the mfaToken
-- is all that identifies them, and they got it only by proving the password (app.sign_in). The
-- service checks the code with the secret, and keys the per-account MFA limit by the user id.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.mfa_challenge(bytea);
create function app.mfa_challenge(p_token_hash bytea)
  returns table (user_id uuid, secret_encrypted text)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select c.user_id, f.secret_encrypted
    from public.mfa_challenges c
    left join public.user_mfa f on f.user_id = c.user_id and f.enabled_at is not null
   where c.token_hash = p_token_hash and c.used_at is null and c.expires_at > pg_catalog.now()
$$;
alter function app.mfa_challenge(bytea) owner to app_privileged;
revoke all on function app.mfa_challenge(bytea) from public;
grant execute on function app.mfa_challenge(bytea) to app_runtime;
comment on function app.mfa_challenge(bytea) is
  'MFA sign-in: the holder of an mfaToken is not signed in yet, so its user is found by the token. '
  'Checks: the token names a live challenge (issued only after a verified password)';

-- ---------------------------------------------------------------------------------------------
-- app.complete_mfa_sign_in: spends a live challenge with its second factor and opens the
-- session. The factor is a TOTP step (the service checked the code; the step is accepted once)
-- or a backup code's candidate hashes (checked here, used once). A wrong factor refuses (GHMFA) and rolls the
-- whole call back, consumption included: the challenge is used up only by a successful
-- sign-in, concurrent uses still serialise on the row, and guessing is bounded by the
-- per-account limit and the challenge's 5 minutes. Answers the user and the new session.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.complete_mfa_sign_in(bytea, bigint, bytea, bytea, integer, integer);
drop function if exists app.complete_mfa_sign_in(bytea, bigint, bytea[], bytea, integer, integer);
create function app.complete_mfa_sign_in(
    p_challenge_hash bytea, p_step bigint, p_backup_code_hashes bytea[], p_session_token_hash bytea,
    p_absolute_seconds integer, p_idle_seconds integer)
  returns table (user_id uuid, session_id uuid)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_challenge record;
  v_session uuid;
begin
  if p_step is not null and p_backup_code_hashes is not null then
    raise exception 'send one of a TOTP step and a backup code' using errcode = 'GHINV';
  end if;
  select c.id, c.user_id into v_challenge from public.mfa_challenges c
   where c.token_hash = p_challenge_hash and c.used_at is null and c.expires_at > pg_catalog.now();
  if not found then
    raise exception 'The sign-in challenge is unknown, used or expired' using errcode = 'GHTOK';
  end if;
  perform app.reseal_context(v_challenge.user_id, null, null);
  update public.mfa_challenges set used_at = pg_catalog.now() where id = v_challenge.id and used_at is null;
  if not found then
    raise exception 'The sign-in challenge is unknown, used or expired' using errcode = 'GHTOK';
  end if;
  perform app.use_second_factor(p_step, p_backup_code_hashes);
  v_session := app.open_session(p_session_token_hash, p_absolute_seconds, p_idle_seconds, null, null, pg_catalog.now());
  perform app.audit_append(null, 'event', 'auth.login', 'session', v_session::text, null,
    pg_catalog.jsonb_build_object('method', case when p_backup_code_hashes is null then 'totp' else 'backup_code' end));
  return query select v_challenge.user_id, v_session;
end
$$;
alter function app.complete_mfa_sign_in(bytea, bigint, bytea[], bytea, integer, integer) owner to app_privileged;
revoke all on function app.complete_mfa_sign_in(bytea, bigint, bytea[], bytea, integer, integer) from public;
grant execute on function app.complete_mfa_sign_in(bytea, bigint, bytea[], bytea, integer, integer) to app_runtime;
comment on function app.complete_mfa_sign_in(bytea, bigint, bytea[], bytea, integer, integer) is
  'MFA sign-in: opens a session for the user behind a challenge before anyone is signed in. '
  'Checks: a live challenge (a verified password), spent once; a backup code or a TOTP step used once';

-- ---------------------------------------------------------------------------------------------
-- app.mfa_setup: stores a new pending secret for the signed-in user (replacing an unconfirmed
-- one), given a proof of their password: a stolen cookie cannot enrol its own authenticator.
-- A verified address is required; MFA already on: GHCFL.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.mfa_setup(bytea, text);
create function app.mfa_setup(p_password_proof bytea, p_secret_encrypted text)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.assert_current_password(p_password_proof, 'The password is wrong');
begin
  if not exists (select 1 from public.users u where u.id = v_user and u.email_verified_at is not null) then
    raise exception 'Verify your email address first' using errcode = 'GHUNV';
  end if;
  insert into public.user_mfa (user_id, secret_encrypted) values (v_user, p_secret_encrypted)
  on conflict (user_id) do update set secret_encrypted = excluded.secret_encrypted, last_used_step = null, updated_at = pg_catalog.now()
   where user_mfa.enabled_at is null;
  if not found then
    raise exception 'MFA is already enabled' using errcode = 'GHCFL';
  end if;
end
$$;
alter function app.mfa_setup(bytea, text) owner to app_privileged;
revoke all on function app.mfa_setup(bytea, text) from public;
grant execute on function app.mfa_setup(bytea, text) to app_runtime;
comment on function app.mfa_setup(bytea, text) is
  'MFA enrolment: writes the user''s TOTP secret, which the runtime may not. '
  'Checks: the sealed user proves their password and has a verified address';

-- ---------------------------------------------------------------------------------------------
-- app.mfa_enable: confirms the pending secret with a valid code's time step and stores the ten
-- backup codes' hashes (the codes are shown once, by the service). Every other session is signed
-- out and this one rotated (app.rotate_session), to a session that counts as signed in with the
-- second factor just proved. Answers the new session.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.mfa_enable(bigint, bytea[]);
drop function if exists app.mfa_enable(bigint, bytea[], bytea, integer, integer);
create function app.mfa_enable(
    p_step bigint, p_backup_code_hashes bytea[], p_session_token_hash bytea, p_absolute_seconds integer, p_idle_seconds integer)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
begin
  perform 1 from public.user_mfa f where f.user_id = v_user for update;
  if not found then
    raise exception 'Set MFA up first' using errcode = 'GHCFL';
  end if;
  if exists (select 1 from public.user_mfa f where f.user_id = v_user and f.enabled_at is not null) then
    raise exception 'MFA is already enabled' using errcode = 'GHCFL';
  end if;
  perform app.accept_totp_step(p_step, true);
  perform app.replace_backup_codes(p_backup_code_hashes);
  return app.rotate_session(p_session_token_hash, p_absolute_seconds, p_idle_seconds, pg_catalog.now(), 'auth.mfa_enabled');
end
$$;
alter function app.mfa_enable(bigint, bytea[], bytea, integer, integer) owner to app_privileged;
revoke all on function app.mfa_enable(bigint, bytea[], bytea, integer, integer) from public;
grant execute on function app.mfa_enable(bigint, bytea[], bytea, integer, integer) to app_runtime;
comment on function app.mfa_enable(bigint, bytea[], bytea, integer, integer) is
  'MFA enrolment: turns the user''s MFA on, which the runtime may not. '
  'Checks: the sealed user has a pending secret; the code''s time step is new';

-- ---------------------------------------------------------------------------------------------
-- app.mfa_disable: turns MFA off (the secret and every backup code go), given the password and a
-- second factor: a TOTP step or a backup code, so that someone who lost their phone can sign in
-- with one backup code, disable with another and enrol a new phone. Every other session is signed
-- out and this one rotated to a password-only session. Answers the new session.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.mfa_disable(bytea, bigint, bytea);
drop function if exists app.mfa_disable(bytea, bigint, bytea, bytea, integer, integer);
drop function if exists app.mfa_disable(bytea, bigint, bytea[], bytea, integer, integer);
create function app.mfa_disable(
    p_password_proof bytea, p_step bigint, p_backup_code_hashes bytea[],
    p_session_token_hash bytea, p_absolute_seconds integer, p_idle_seconds integer)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
begin
  perform app.assert_mfa_enabled(v_user);
  perform app.assert_current_password(p_password_proof, 'The password is wrong');
  if p_step is not null and p_backup_code_hashes is not null then
    raise exception 'send one of a TOTP step and a backup code' using errcode = 'GHINV';
  end if;
  perform app.use_second_factor(p_step, p_backup_code_hashes);
  delete from public.mfa_backup_codes where user_id = v_user;
  delete from public.user_mfa where user_id = v_user;
  return app.rotate_session(p_session_token_hash, p_absolute_seconds, p_idle_seconds, null, 'auth.mfa_disabled',
    pg_catalog.jsonb_build_object('method', case when p_backup_code_hashes is null then 'totp' else 'backup_code' end));
end
$$;
alter function app.mfa_disable(bytea, bigint, bytea[], bytea, integer, integer) owner to app_privileged;
revoke all on function app.mfa_disable(bytea, bigint, bytea[], bytea, integer, integer) from public;
grant execute on function app.mfa_disable(bytea, bigint, bytea[], bytea, integer, integer) to app_runtime;
comment on function app.mfa_disable(bytea, bigint, bytea[], bytea, integer, integer) is
  'MFA removal: deletes the user''s secret and backup codes, which the runtime may not. '
  'Checks: the sealed user proves their password and a second factor';

-- ---------------------------------------------------------------------------------------------
-- app.mfa_regenerate_backup_codes: ten new backup codes (hashes) for a valid code's time step;
-- every old code stops working. Every other session is signed out and this one rotated (to a
-- session that counts as signed in with the second factor just proved). Answers the new session.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.mfa_regenerate_backup_codes(bigint, bytea[]);
drop function if exists app.mfa_regenerate_backup_codes(bigint, bytea[], bytea, integer, integer);
create function app.mfa_regenerate_backup_codes(
    p_step bigint, p_backup_code_hashes bytea[], p_session_token_hash bytea, p_absolute_seconds integer, p_idle_seconds integer)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
begin
  perform app.assert_mfa_enabled(v_user);
  perform app.accept_totp_step(p_step, false);
  perform app.replace_backup_codes(p_backup_code_hashes);
  return app.rotate_session(p_session_token_hash, p_absolute_seconds, p_idle_seconds, pg_catalog.now(), 'auth.backup_codes_regenerated');
end
$$;
alter function app.mfa_regenerate_backup_codes(bigint, bytea[], bytea, integer, integer) owner to app_privileged;
revoke all on function app.mfa_regenerate_backup_codes(bigint, bytea[], bytea, integer, integer) from public;
grant execute on function app.mfa_regenerate_backup_codes(bigint, bytea[], bytea, integer, integer) to app_runtime;
comment on function app.mfa_regenerate_backup_codes(bigint, bytea[], bytea, integer, integer) is
  'MFA backup codes: replaces the user''s codes, which the runtime may not. '
  'Checks: the sealed user has MFA on; the code''s time step is new';

-- ---------------------------------------------------------------------------------------------
-- app.admin_reset_mfa: the recovery path for someone who lost every second factor (their phone
-- and their backup codes). A platform administrator, signed in with a second factor of their own,
-- removes the user's TOTP secret, backup codes and pending sign-in challenges and signs every
-- session of the user out, with a reason; the service then emails the user. Not for oneself (a
-- second administrator must do it, so one stolen administrator session cannot strip its own
-- account's factor). The user signs in with their password and may enrol again. Audited in the
-- platform chain as the administrator. Answers the user's address and name, for the email.
-- The changes are made as the user (their rows' policies allow only the sealed user), then the
-- context is the administrator's again for the audit row.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.admin_reset_mfa(uuid, text);
create function app.admin_reset_mfa(p_user_id uuid, p_reason text)
  returns table (email text, name text, sessions_revoked integer)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_admin uuid;
  v_admin_session uuid;
  v_email text;
  v_name text;
  v_had_mfa boolean;
  v_revoked integer;
begin
  perform app.assert_platform_admin();
  v_admin := app.current_user_id();
  v_admin_session := app.current_session_id();
  if p_reason is null or pg_catalog.length(pg_catalog.btrim(p_reason)) not between 1 and 500 then
    raise exception 'a reason of 1 to 500 characters is required' using errcode = 'GHINV';
  end if;
  select u.email, u.name into v_email, v_name from public.users u where u.id = p_user_id;
  if not found then
    raise exception 'No such user' using errcode = 'GHNFD';
  end if;
  if p_user_id = v_admin then
    raise exception 'Another platform administrator must reset your MFA' using errcode = 'GHFBD';
  end if;
  perform app.reseal_context(p_user_id, null, null);
  select exists (select 1 from public.user_mfa f where f.user_id = p_user_id) into v_had_mfa;
  delete from public.mfa_backup_codes where user_id = p_user_id;
  delete from public.user_mfa where user_id = p_user_id;
  update public.mfa_challenges set used_at = pg_catalog.now() where user_id = p_user_id and used_at is null;
  update public.sessions set revoked_at = pg_catalog.now() where user_id = p_user_id and revoked_at is null;
  get diagnostics v_revoked = row_count;
  perform app.reseal_context(v_admin, v_admin_session, null);
  if not v_had_mfa then
    raise exception 'This user has no MFA to reset' using errcode = 'GHCFL';
  end if;
  perform app.audit_append(null, 'event', 'platform.mfa_reset', 'user', p_user_id::text, null,
    pg_catalog.jsonb_build_object('reason', pg_catalog.btrim(p_reason), 'sessionsRevoked', v_revoked));
  return query select v_email, v_name, v_revoked;
end
$$;
alter function app.admin_reset_mfa(uuid, text) owner to app_privileged;
revoke all on function app.admin_reset_mfa(uuid, text) from public;
grant execute on function app.admin_reset_mfa(uuid, text) to app_runtime;
comment on function app.admin_reset_mfa(uuid, text) is
  'Platform administration: removes another user''s second factor and signs them out everywhere (the recovery path). '
  'Checks: the sealed user is a platform administrator signed in with a second factor, and not the user reset';
