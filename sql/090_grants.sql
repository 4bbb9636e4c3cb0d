-- =============================================================================================
-- Grants
--
-- Table privileges are the outer fence, policies the inner one. app_runtime gets only the
-- commands and columns the service uses itself; everything that authenticates someone, grants
-- access or touches a credential is a privileged function's (sql/04x–085). In particular the
-- runtime may not read any hash or sealed secret but its own TOTP envelope (which only the
-- service's key opens), may not write a password hash, MFA secret, backup code, membership,
-- invitation or session (it may revoke its own sessions), and may not read or write the request
-- context it acts under.
-- Re-runnable: privileges are revoked and granted again from this list.
-- =============================================================================================

revoke all on all tables in schema public from app_runtime, app_privileged, app_mailer, app_auditor;

-- ---------------------------------------------------------------------------------------------
-- app_runtime
-- ---------------------------------------------------------------------------------------------
grant select (pid, xact, kind, user_id, session_id, workspace_id, token_id, acting_as_user_id, ip, user_agent, request_id)
  on public.request_contexts to app_runtime;
grant select (id, email, name, email_verified_at, created_at, updated_at) on public.users to app_runtime;
grant update (name, updated_at) on public.users to app_runtime;
grant select (id, user_id, created_at, last_seen_at, expires_at, idle_timeout_seconds, ip, user_agent, revoked_at)
  on public.sessions to app_runtime;
grant update (revoked_at) on public.sessions to app_runtime;
grant insert on public.email_tokens to app_runtime;
grant select on public.workspaces to app_runtime;
grant select on public.memberships to app_runtime;
grant select, insert, update, delete on public.contacts to app_runtime;
grant select (workspace_id, id, email, role, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at)
  on public.workspace_invites to app_runtime;
grant insert on public.email_outbox to app_runtime;
grant select (user_id, secret_encrypted, enabled_at, last_used_step, created_at, updated_at) on public.user_mfa to app_runtime;
grant select (id, user_id, created_at, used_at) on public.mfa_backup_codes to app_runtime;
grant select on public.audit_log to app_runtime;

-- ---------------------------------------------------------------------------------------------
-- app_privileged: what its functions need, under its policies (sql/020–085).
-- ---------------------------------------------------------------------------------------------
grant select, insert, update on public.request_contexts to app_privileged;
grant select on public.database_secrets to app_privileged;
grant select, insert on public.users to app_privileged;
grant update (password_hash, email_verified_at, updated_at) on public.users to app_privileged;
grant select, insert on public.sessions to app_privileged;
grant update (last_seen_at, revoked_at, reissue_required, replaced_by) on public.sessions to app_privileged;
grant select, insert on public.email_tokens to app_privileged;
grant update (used_at) on public.email_tokens to app_privileged;
grant select, insert, update on public.workspaces to app_privileged;
grant select, insert, delete on public.memberships to app_privileged;
grant update (role) on public.memberships to app_privileged;
grant select, insert on public.workspace_invites to app_privileged;
grant update (accepted_at, accepted_by, revoked_at) on public.workspace_invites to app_privileged;
grant select, insert, delete on public.user_mfa to app_privileged;
grant update (secret_encrypted, enabled_at, last_used_step, updated_at) on public.user_mfa to app_privileged;
grant select, insert, delete on public.mfa_backup_codes to app_privileged;
grant update (used_at) on public.mfa_backup_codes to app_privileged;
grant select, insert on public.mfa_challenges to app_privileged;
grant update (used_at) on public.mfa_challenges to app_privileged;
grant select on public.platform_admins to app_privileged;
grant update (user_id, granted_at) on public.platform_admins to app_privileged;
grant select on public.role_permissions to app_privileged;
grant select (workspace_id, owner_id) on public.contacts to app_privileged;
-- The rate limiter's functions (sql/060); app_runtime has no privilege on its tables. Only
-- count changes: a counter's key and bucket never do.
grant select, insert, delete on public.rate_limits to app_privileged;
grant update (count) on public.rate_limits to app_privileged;
grant select, insert, delete on public.rate_limit_refunds to app_privileged;
grant select, insert on public.audit_log to app_privileged;
grant select, insert, update on public.audit_chain_heads to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app_mailer: the outbox, nothing else (sql/045); its own backend's context, to know it is the
-- worker.
-- ---------------------------------------------------------------------------------------------
grant select on public.request_contexts to app_mailer;
grant select, delete on public.email_outbox to app_mailer;
grant update (template, body_encrypted, status, attempts, next_attempt_at, last_error, provider_message_id, sent_at)
  on public.email_outbox to app_mailer;

-- The verifier's read-only view of every chain (see app_auditor in sql/010_roles.sql).
grant select on public.audit_log, public.audit_chain_heads to app_auditor;
