-- =============================================================================================
-- Accounts (users, email_tokens): registration, sign-in, passwords and the emailed links
--
-- The database verifies a password itself. The service holds the slow part and a secret: it
-- computes Argon2id of the password with the stored salt and parameters and with a pepper the
-- database never sees (PASSWORD_PEPPERS, src/crypto/passwords.ts), and sends the 32-byte
-- result, the *proof*, as a bind parameter. The stored string keeps only SHA-256 of the proof:
--
--   $argon2id$v=19$m=19456,t=2,p=1,keyid=<pepper id>$<salt>$<SHA-256 of the Argon2id output>
--
-- so the database compares sha256(proof) with what it stores, and
--   * a statement injected as the runtime login cannot sign in as anyone: it cannot compute a
--     proof without the password and the pepper, and no function hands out the stored hash;
--   * a dumped table is useless offline: without the pepper no guess can be tested.
-- Hashes from before the pepper (no keyid; the last field is the Argon2id output itself) are
-- verified the same way, the proof compared as it is, and replaced on the next sign-in
-- (app.sign_in's p_rehash) with a peppered one.
--
-- The emailed links are rows of email_tokens (SHA-256 of the token only): verification links
-- are issued by the runtime for its own user, reset links by the outbox worker
-- (app.issue_password_reset, below), and both are spent only through the functions here.
-- =============================================================================================

-- Retired: the password hash used to leave the database for the service to verify.
drop function if exists app.find_login(text);
drop function if exists app.consume_email_token(bytea, text);

-- ---------------------------------------------------------------------------------------------
-- users: a user reads themselves. Registration, verification and every password change go
-- through privileged functions, which write only the row of the user they sealed.
-- ---------------------------------------------------------------------------------------------
alter table public.users enable row level security;
alter table public.users force row level security;
revoke all on public.users from app_runtime, app_privileged, app_mailer, app_auditor;
grant select (id, email, name, email_verified_at, created_at, updated_at) on public.users to app_runtime;
grant update (name, updated_at) on public.users to app_runtime;
grant select, insert on public.users to app_privileged;
grant update (password_hash, email_verified_at, updated_at) on public.users to app_privileged;
drop policy if exists "users read themselves" on public.users;
create policy "users read themselves" on public.users
  for select to app_runtime using (id = (select app.current_account_id()));
drop policy if exists "users register themselves" on public.users;
drop policy if exists "users change themselves" on public.users;
create policy "users change themselves" on public.users
  for update to app_runtime using (id = (select app.current_account_id())) with check (id = (select app.current_account_id()));
drop policy if exists "privileged functions read every user" on public.users;
create policy "privileged functions read every user" on public.users
  for select to app_privileged using (true);
drop policy if exists "privileged functions register the sealed user" on public.users;
create policy "privileged functions register the sealed user" on public.users
  for insert to app_privileged with check (id = (select app.current_user_id()) and email_verified_at is null);
drop policy if exists "privileged functions mark emails verified" on public.users;
drop policy if exists "privileged functions change the sealed user" on public.users;
create policy "privileged functions change the sealed user" on public.users
  for update to app_privileged
  using (id = (select app.current_user_id()))
  with check (id = (select app.current_user_id()));

-- ---------------------------------------------------------------------------------------------
-- email_tokens: a user is issued their own verification tokens; reset tokens are issued by the
-- outbox worker (below) and every token is consumed through a privileged function, which
-- seals the token's user first. Nobody but those functions reads a token row.
-- ---------------------------------------------------------------------------------------------
alter table public.email_tokens enable row level security;
alter table public.email_tokens force row level security;
revoke all on public.email_tokens from app_runtime, app_privileged, app_mailer, app_auditor;
grant insert on public.email_tokens to app_runtime;
grant select, insert on public.email_tokens to app_privileged;
grant update (used_at) on public.email_tokens to app_privileged;
drop policy if exists "users read their own email tokens" on public.email_tokens;
drop policy if exists "users are issued their own email tokens" on public.email_tokens;
drop policy if exists "users are issued their own verification tokens" on public.email_tokens;
create policy "users are issued their own verification tokens" on public.email_tokens
  for insert to app_runtime with check (user_id = (select app.current_account_id()) and purpose = 'verify_email' and used_at is null);
drop policy if exists "privileged functions find email tokens" on public.email_tokens;
create policy "privileged functions find email tokens" on public.email_tokens
  for select to app_privileged using (true);
drop policy if exists "privileged functions issue reset tokens" on public.email_tokens;
drop policy if exists "the outbox worker issues reset tokens" on public.email_tokens;
create policy "the outbox worker issues reset tokens" on public.email_tokens
  for insert to app_privileged
  with check (purpose = 'reset_password' and used_at is null and (select app.current_context_kind()) = 'worker');
drop policy if exists "privileged functions consume email tokens" on public.email_tokens;
drop policy if exists "privileged functions consume the sealed user's email tokens" on public.email_tokens;
create policy "privileged functions consume the sealed user's email tokens" on public.email_tokens
  for update to app_privileged
  using (user_id = (select app.current_user_id()))
  with check (user_id = (select app.current_user_id()) and used_at is not null);

-- ---------------------------------------------------------------------------------------------
-- Password strings: well-formed, their settings (everything but the hash), and the comparison.
-- ---------------------------------------------------------------------------------------------
create or replace function app.is_password_hash(p_stored text) returns boolean
  language sql immutable
  as $$ select p_stored ~ '^\$argon2id\$v=19\$m=[0-9]{1,9},t=[0-9]{1,4},p=[0-9]{1,3}(,keyid=[A-Za-z0-9_-]{1,32})?\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{43}$' $$;
revoke all on function app.is_password_hash(text) from public;
grant execute on function app.is_password_hash(text) to app_privileged;

create or replace function app.password_settings(p_stored text) returns text
  language sql immutable
  as $$ select pg_catalog.regexp_replace(p_stored, '\$[^$]*$', '') $$;
revoke all on function app.password_settings(text) from public;
grant execute on function app.password_settings(text) to app_privileged;

-- Unpadded standard base64 (the PHC string's encoding) to bytes.
create or replace function app.unpadded_base64(p text) returns bytea
  language sql immutable strict
  as $$ select pg_catalog.decode(pg_catalog.rpad(p, ((pg_catalog.length(p) + 3) / 4) * 4, '='), 'base64') $$;
revoke all on function app.unpadded_base64(text) from public;
grant execute on function app.unpadded_base64(text) to app_privileged;

-- Whether `p_proof` is the Argon2id output the stored string was made from.
create or replace function app.password_matches(p_stored text, p_proof bytea) returns boolean
  language sql immutable
  as $$
    select coalesce(app.is_password_hash(p_stored) and pg_catalog.length(p_proof) = 32 and
      case when pg_catalog.split_part(p_stored, '$', 4) like '%,keyid=%' then pg_catalog.sha256(p_proof) else p_proof end
        = app.unpadded_base64(pg_catalog.split_part(p_stored, '$', 6)), false)
  $$;
revoke all on function app.password_matches(text, bytea) from public;
grant execute on function app.password_matches(text, bytea) to app_privileged;

create or replace function app.assert_password_hash(p_stored text) returns void
  language plpgsql immutable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if p_stored is null or not app.is_password_hash(p_stored) then
    raise exception 'a password hash must be a peppered Argon2id string' using errcode = 'GHINV';
  end if;
end
$$;
revoke all on function app.assert_password_hash(text) from public;
grant execute on function app.assert_password_hash(text) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.login_settings: what the service needs to compute a proof for `p_email` — the stored
-- string without its hash. For an address with no account it answers decoy settings, the
-- service's current ones (`p_decoy`) with a salt keyed by a database secret, the same on every
-- call: the service spends the same Argon2id either way, and neither the answer nor its timing
-- tells whether the address is registered.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.login_settings(text, text);
create function app.login_settings(p_email text, p_decoy text)
  returns text
  language plpgsql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_stored text;
begin
  if p_decoy is null or p_decoy !~ '^\$argon2id\$v=19\$m=[0-9]{1,9},t=[0-9]{1,4},p=[0-9]{1,3}(,keyid=[A-Za-z0-9_-]{1,32})?$' then
    raise exception 'decoy settings must look like $argon2id$v=19$m=…,t=…,p=…' using errcode = 'GHINV';
  end if;
  select u.password_hash into v_stored from public.users u where u.email = p_email;
  if found then
    return app.password_settings(v_stored);
  end if;
  return p_decoy || '$' || pg_catalog.rtrim(pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(
    (select s.secret from public.database_secrets s where s.name = 'login_decoy') || pg_catalog.convert_to(coalesce(p_email, ''), 'UTF8')),
    1, 16), 'base64'), '=');
end
$$;
alter function app.login_settings(text, text) owner to app_privileged;
revoke all on function app.login_settings(text, text) from public;
grant execute on function app.login_settings(text, text) to app_runtime;
comment on function app.login_settings(text, text) is
  'Sign-in: the salt and parameters of an address''s password, before anyone is authenticated. '
  'Checks: nothing to check; it hands out settings only (never the hash), decoys for unknown addresses';

-- ---------------------------------------------------------------------------------------------
-- app.register: a new, unverified account and its first session; the request becomes that
-- user's. Refuses a taken address (GHETK) and a password string that is not a peppered Argon2id
-- hash. The verification email is the service's (the runtime may issue its own user's tokens).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.register(text, text, text, bytea, integer, integer);
create function app.register(
    p_email text, p_name text, p_password_hash text, p_session_token_hash bytea, p_absolute_seconds integer, p_idle_seconds integer)
  returns table (user_id uuid, session_id uuid)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := gen_random_uuid();
  v_session uuid;
begin
  if pg_catalog.strpos(coalesce(p_password_hash, ''), ',keyid=') = 0 then
    raise exception 'a new password hash must be peppered (keyid=…)' using errcode = 'GHINV';
  end if;
  perform app.assert_password_hash(p_password_hash);
  perform app.reseal_context(v_user, null, null);
  begin
    insert into public.users (id, email, name, password_hash) values (v_user, p_email, p_name, p_password_hash);
  exception when unique_violation then
    raise exception 'An account with this email already exists' using errcode = 'GHETK';
  end;
  v_session := app.open_session(p_session_token_hash, p_absolute_seconds, p_idle_seconds);
  perform app.audit_append(null, 'event', 'auth.register', 'user', v_user::text, null, null);
  return query select v_user, v_session;
end
$$;
alter function app.register(text, text, text, bytea, integer, integer) owner to app_privileged;
revoke all on function app.register(text, text, text, bytea, integer, integer) from public;
grant execute on function app.register(text, text, text, bytea, integer, integer) to app_runtime;
comment on function app.register(text, text, text, bytea, integer, integer) is
  'Registration: writes a users row nobody is signed in as yet. '
  'Checks: the address is free; the new account is unverified and becomes the request''s only identity';

-- ---------------------------------------------------------------------------------------------
-- app.sign_in: verifies a password proof and signs the user in. Wrong email or proof: GHCRD,
-- and nothing changes. A right one seals the request as the user, stores `p_rehash` (a fresh
-- peppered hash the service computed because the stored one is outdated) and then either opens
-- a session under `p_session_token_hash`, or, when MFA is on, issues the challenge
-- `p_challenge_token_hash` (mfa_required) for /login/mfa. The service sends both hashes; the
-- client only ever receives the token that was used.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.sign_in(text, bytea, text, bytea, bytea, integer, integer, integer);
create function app.sign_in(
    p_email text, p_proof bytea, p_rehash text, p_session_token_hash bytea, p_challenge_token_hash bytea,
    p_absolute_seconds integer, p_idle_seconds integer, p_challenge_seconds integer)
  returns table (user_id uuid, session_id uuid, mfa_required boolean)
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
  v_stored text;
  v_session uuid;
begin
  select u.id, u.password_hash into v_user, v_stored from public.users u where u.email = p_email;
  if v_user is null or not app.password_matches(v_stored, p_proof) then
    raise exception 'Wrong email or password' using errcode = 'GHCRD';
  end if;
  perform app.reseal_context(v_user, null, null);
  if p_rehash is not null then
    perform app.assert_password_hash(p_rehash);
    update public.users set password_hash = p_rehash, updated_at = pg_catalog.now() where id = v_user;
  end if;
  if exists (select 1 from public.user_mfa f where f.user_id = v_user and f.enabled_at is not null) then
    if p_challenge_token_hash is null or pg_catalog.length(p_challenge_token_hash) <> 32
       or p_challenge_seconds not between 30 and 900 then
      raise exception 'an MFA challenge needs a 32-byte token hash and 30 s to 15 min to live' using errcode = 'GHINV';
    end if;
    insert into public.mfa_challenges (user_id, token_hash, expires_at)
    values (v_user, p_challenge_token_hash, pg_catalog.now() + pg_catalog.make_interval(secs => p_challenge_seconds));
    return query select v_user, null::uuid, true;
    return;
  end if;
  v_session := app.open_session(p_session_token_hash, p_absolute_seconds, p_idle_seconds);
  perform app.audit_append(null, 'event', 'auth.login', 'session', v_session::text, null,
    pg_catalog.jsonb_build_object('method', 'password'));
  return query select v_user, v_session, false;
end
$$;
alter function app.sign_in(text, bytea, text, bytea, bytea, integer, integer, integer) owner to app_privileged;
revoke all on function app.sign_in(text, bytea, text, bytea, bytea, integer, integer, integer) from public;
grant execute on function app.sign_in(text, bytea, text, bytea, bytea, integer, integer, integer) to app_runtime;
comment on function app.sign_in(text, bytea, text, bytea, bytea, integer, integer, integer) is
  'Sign-in: finds a user by email before anyone is authenticated. '
  'Checks: the password proof matches the stored hash (which needs the password and the service''s pepper)';

-- ---------------------------------------------------------------------------------------------
-- app.my_password_settings: the signed-in user's password settings, so the service can prove
-- the current password again (changing it, setting MFA up or turning it off).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.my_password_settings();
create function app.my_password_settings()
  returns text
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select app.password_settings(u.password_hash) from public.users u where u.id = app.current_user_id()
$$;
alter function app.my_password_settings() owner to app_privileged;
revoke all on function app.my_password_settings() from public;
grant execute on function app.my_password_settings() to app_runtime;
comment on function app.my_password_settings() is
  'Re-authentication: the signed-in user''s salt and parameters (the runtime may not read the hash column). '
  'Checks: only the sealed user';

-- Whether `p_proof` proves the signed-in user's current password; GHCRD otherwise. For the
-- functions that ask for the password again.
create or replace function app.assert_current_password(p_proof bytea, p_message text) returns uuid
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
begin
  if not exists (select 1 from public.users u where u.id = v_user and app.password_matches(u.password_hash, p_proof)) then
    raise exception '%', p_message using errcode = 'GHCRD';
  end if;
  return v_user;
end
$$;
revoke all on function app.assert_current_password(bytea, text) from public;
grant execute on function app.assert_current_password(bytea, text) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.change_password: with a proof of the current password, sets a new hash, voids every open
-- reset link, signs out every other session and rotates this one (a new session under
-- `p_session_token_hash`, the old one revoked), so a copy of the old cookie stops working too.
-- Answers the new session's id.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.change_password(bytea, text, bytea, integer, integer);
create function app.change_password(
    p_current_proof bytea, p_new_hash text, p_session_token_hash bytea, p_absolute_seconds integer, p_idle_seconds integer)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.assert_current_password(p_current_proof, 'The current password is wrong');
begin
  perform app.assert_password_hash(p_new_hash);
  update public.users set password_hash = p_new_hash, updated_at = pg_catalog.now() where id = v_user;
  update public.email_tokens set used_at = pg_catalog.now()
   where user_id = v_user and purpose = 'reset_password' and used_at is null;
  -- The new session keeps this one's second factor: the password changed, not the device.
  return app.rotate_session(p_session_token_hash, p_absolute_seconds, p_idle_seconds,
    (select se.mfa_at from public.sessions se where se.id = app.current_session_id()), 'auth.password_changed');
end
$$;
alter function app.change_password(bytea, text, bytea, integer, integer) owner to app_privileged;
revoke all on function app.change_password(bytea, text, bytea, integer, integer) from public;
grant execute on function app.change_password(bytea, text, bytea, integer, integer) to app_runtime;
comment on function app.change_password(bytea, text, bytea, integer, integer) is
  'Password change: writes the password hash, which the runtime may not. '
  'Checks: the sealed session''s user proves the current password';

-- ---------------------------------------------------------------------------------------------
-- app.verify_email: spends a verification link for the signed-in account it was sent to. The
-- link proves control of the address, the session proves control of the account: an account
-- someone else registered with your address never becomes verified by your click (GHFBD, and
-- the link survives for its own account). Other sessions of the account are signed out; a
-- listed platform-admin address becomes a grant (audited).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.verify_email(bytea);
create function app.verify_email(p_token_hash bytea)
  returns integer
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
  v_session uuid := app.current_session_id();
  v_token record;
  v_others integer;
begin
  select t.id, t.user_id into v_token
    from public.email_tokens t
   where t.token_hash = p_token_hash and t.purpose = 'verify_email' and t.used_at is null and t.expires_at > pg_catalog.now();
  if not found then
    raise exception 'The link is unknown, used or expired' using errcode = 'GHTOK';
  end if;
  if v_token.user_id <> v_user then
    raise exception 'This link belongs to another account: sign in as the account it was sent to' using errcode = 'GHFBD';
  end if;
  -- One UPDATE … WHERE used_at IS NULL: of two concurrent uses exactly one gets the row.
  update public.email_tokens set used_at = pg_catalog.now() where id = v_token.id and used_at is null;
  if not found then
    raise exception 'The link is unknown, used or expired' using errcode = 'GHTOK';
  end if;
  update public.users set email_verified_at = coalesce(email_verified_at, pg_catalog.now()), updated_at = pg_catalog.now()
   where id = v_user;
  update public.sessions set revoked_at = pg_catalog.now()
   where user_id = v_user and revoked_at is null and id is distinct from v_session;
  get diagnostics v_others = row_count;
  perform app.audit_append(null, 'event', 'auth.email_verified', 'user', v_user::text, null,
    pg_catalog.jsonb_build_object('sessionsRevoked', v_others));
  perform app.grant_listed_platform_admin(v_user);
  return v_others;
end
$$;
alter function app.verify_email(bytea) owner to app_privileged;
revoke all on function app.verify_email(bytea) from public;
grant execute on function app.verify_email(bytea) to app_runtime;
comment on function app.verify_email(bytea) is
  'Email verification: marks an address verified, which the runtime may not. '
  'Checks: the link is live and was issued to the sealed user';

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

-- ---------------------------------------------------------------------------------------------
-- app.reset_password: spends a reset link. The link proved control of the address, so the
-- request acts as its user (without a session: they sign in again, MFA included), the address
-- counts as verified, every other reset link is void and every session is signed out. Answers
-- the user's id.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.reset_password(bytea, text);
create function app.reset_password(p_token_hash bytea, p_new_hash text)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_token record;
  v_revoked integer;
begin
  perform app.assert_password_hash(p_new_hash);
  select t.id, t.user_id into v_token
    from public.email_tokens t
   where t.token_hash = p_token_hash and t.purpose = 'reset_password' and t.used_at is null and t.expires_at > pg_catalog.now();
  if not found then
    raise exception 'The link is unknown, used or expired' using errcode = 'GHTOK';
  end if;
  perform app.reseal_context(v_token.user_id, null, null);
  update public.email_tokens set used_at = pg_catalog.now() where id = v_token.id and used_at is null;
  if not found then
    raise exception 'The link is unknown, used or expired' using errcode = 'GHTOK';
  end if;
  update public.users
     set password_hash = p_new_hash, email_verified_at = coalesce(email_verified_at, pg_catalog.now()), updated_at = pg_catalog.now()
   where id = v_token.user_id;
  update public.email_tokens set used_at = pg_catalog.now()
   where user_id = v_token.user_id and purpose = 'reset_password' and used_at is null;
  update public.sessions set revoked_at = pg_catalog.now() where user_id = v_token.user_id and revoked_at is null;
  get diagnostics v_revoked = row_count;
  perform app.audit_append(null, 'event', 'auth.password_reset', 'user', v_token.user_id::text, null,
    pg_catalog.jsonb_build_object('sessionsRevoked', v_revoked));
  perform app.grant_listed_platform_admin(v_token.user_id);
  return v_token.user_id;
end
$$;
alter function app.reset_password(bytea, text) owner to app_privileged;
revoke all on function app.reset_password(bytea, text) from public;
grant execute on function app.reset_password(bytea, text) to app_runtime;
comment on function app.reset_password(bytea, text) is
  'Password reset: the holder of a reset link is not signed in, so its user is found by the link. '
  'Checks: the link is live and single-use (one UPDATE decides between concurrent uses)';

-- ---------------------------------------------------------------------------------------------
-- app.record_login_throttled: an account's failed sign-ins used up their budget (the service's
-- limiter says so). Recorded as an event about the account, with no actor: the user did not do
-- it, an anonymous client did, from the request's IP. No account for the address: nothing.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.record_login_throttled(text, jsonb);
create function app.record_login_throttled(p_email text, p_after jsonb)
  returns void
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid;
begin
  select u.id into v_user from public.users u where u.email = p_email;
  if found then
    perform app.audit_append(null, 'event', 'auth.login_throttled', 'user', v_user::text, null, p_after, true);
  end if;
end
$$;
alter function app.record_login_throttled(text, jsonb) owner to app_privileged;
revoke all on function app.record_login_throttled(text, jsonb) from public;
grant execute on function app.record_login_throttled(text, jsonb) to app_runtime;
comment on function app.record_login_throttled(text, jsonb) is
  'Sign-in throttling: records an event about an account nobody is signed in as. '
  'Checks: nothing is attributed to the account''s user (the event has no actor)';

-- ---------------------------------------------------------------------------------------------
-- app.current_user_profile: the verified user as /api/auth/me shows them: whether their address
-- is verified, MFA is on and they are a platform administrator (neither of the last two is
-- readable by the runtime itself).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.current_user_profile();
create function app.current_user_profile()
  returns table (id uuid, email text, name text, email_verified boolean, mfa_enabled boolean, is_platform_admin boolean)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select u.id, u.email, u.name, u.email_verified_at is not null,
         exists (select 1 from public.user_mfa f where f.user_id = u.id and f.enabled_at is not null),
         exists (select 1 from public.platform_admins pa where pa.user_id = u.id)
    from public.users u
   where u.id = app.current_user_id()
$$;
alter function app.current_user_profile() owner to app_privileged;
revoke all on function app.current_user_profile() from public;
grant execute on function app.current_user_profile() to app_runtime;
comment on function app.current_user_profile() is
  'The signed-in user''s own profile, with what the runtime may not read itself (MFA, platform admin). '
  'Checks: only the sealed user';
