-- =============================================================================================
-- Grants
--
-- Table privileges are the outer fence, policies the inner one. app_runtime gets only the
-- commands and columns the service uses: e.g. it may not UPDATE users.email_verified_at (only
-- app.consume_email_token may) nor write workspaces at all (only the privileged functions may).
-- Re-runnable: privileges are revoked and granted again from this list.
-- =============================================================================================

revoke all on all tables in schema public from app_runtime, app_privileged, app_auditor;

grant select, insert on public.users to app_runtime;
grant update (name, password_hash, updated_at) on public.users to app_runtime;
grant select, insert on public.sessions to app_runtime;
grant update (revoked_at) on public.sessions to app_runtime;
grant select, insert on public.email_tokens to app_runtime;
grant select on public.workspaces to app_runtime;
grant select, insert, update, delete on public.memberships to app_runtime;
grant select, insert, update, delete on public.contacts to app_runtime;
-- Invitations are issued and revoked (revoked_at), never edited or deleted; accepting is
-- app.accept_invite's (sql/085).
grant select, insert on public.workspace_invites to app_runtime;
grant update (revoked_at) on public.workspace_invites to app_runtime;
grant insert on public.email_outbox to app_runtime;
-- TOTP MFA (sql/070): the secret envelope and the replay guard change; a backup code only gets
-- used (used_at); challenges are only issued (consumed by app.consume_mfa_challenge).
grant select, insert, delete on public.user_mfa to app_runtime;
grant update (secret_encrypted, enabled_at, last_used_step, updated_at) on public.user_mfa to app_runtime;
grant select, insert, delete on public.mfa_backup_codes to app_runtime;
grant update (used_at) on public.mfa_backup_codes to app_runtime;
grant insert on public.mfa_challenges to app_runtime;

grant select on public.users to app_privileged;
grant update (email_verified_at, updated_at) on public.users to app_privileged;
grant select, insert on public.sessions to app_privileged;
grant update (last_seen_at, revoked_at, reissue_required, replaced_by) on public.sessions to app_privileged;
grant select, insert on public.email_tokens to app_privileged;
grant update (used_at) on public.email_tokens to app_privileged;
grant select, insert, update on public.workspaces to app_privileged;
grant select, insert on public.memberships to app_privileged;
grant select on public.workspace_invites to app_privileged;
grant update (accepted_at, accepted_by) on public.workspace_invites to app_privileged;
grant select on public.mfa_challenges to app_privileged;
-- The member list (sql/080) learns only whether MFA is on, never the secret envelope.
grant select (user_id, enabled_at) on public.user_mfa to app_privileged;
grant update (used_at) on public.mfa_challenges to app_privileged;
-- The rate limiter's functions (sql/060); app_runtime has no privilege on rate_limits itself.
-- Only count changes: a counter's key and bucket never do.
grant select, insert, delete on public.rate_limits to app_privileged;
grant update (count) on public.rate_limits to app_privileged;
grant select on public.audit_log to app_runtime;

grant select, insert on public.audit_log to app_privileged;
grant select, insert, update on public.audit_chain_heads to app_privileged;

-- The verifier's read-only view of every chain (see app_auditor in sql/010_roles.sql).
grant select on public.audit_log, public.audit_chain_heads to app_auditor;
