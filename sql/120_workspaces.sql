-- =============================================================================================
-- Workspaces and platform administration (public.workspaces, public.platform_admins)
--
-- Platform administrators are recorded in the database (public.platform_admins): the service
-- syncs PLATFORM_ADMIN_EMAILS into it at start-up, and a listed address becomes a grant only
-- once the account holding it has verified it. Every grant and removal is audited in the
-- platform chain. Every app.admin_* function refuses anyone else (GHFBD), whatever the caller
-- passes: the HTTP layer's check is a courtesy, this is the rule.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- workspaces: members read their own; creation and state changes go through privileged
-- functions: a new workspace belongs to the verified user, and only a platform administrator
-- (below) changes a workspace's state, or the billing provider's event for that workspace,
-- recorded in this same transaction (app.apply_billing_event, sql/220, after it checked the
-- billing key): the function then writes only the billing columns.
-- ---------------------------------------------------------------------------------------------
alter table public.workspaces enable row level security;
alter table public.workspaces force row level security;
revoke all on public.workspaces from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.workspaces to app_runtime;
grant select, insert, update on public.workspaces to app_privileged;
drop policy if exists "members read their own workspace" on public.workspaces;
create policy "members read their own workspace" on public.workspaces
  for select to app_runtime using (id = (select app.current_workspace_id()));
drop policy if exists "privileged functions read every workspace" on public.workspaces;
create policy "privileged functions read every workspace" on public.workspaces
  for select to app_privileged using (true);
drop policy if exists "privileged functions create workspaces" on public.workspaces;
create policy "privileged functions create workspaces" on public.workspaces
  for insert to app_privileged with check (status = 'pending_approval' and owner_id = (select app.current_user_id()));
-- Whether a billing event for `p_workspace_id` was recorded in this very transaction
-- (public.billing_events, which only app.apply_billing_event writes, sql/220).
create or replace function app.billing_event_is_being_applied(p_workspace_id uuid) returns boolean
  language sql stable
  set search_path = pg_catalog, pg_temp
as $$
  select exists (select 1 from public.billing_events e
                  where e.workspace_id = p_workspace_id and e.received_at = pg_catalog.now())
$$;
revoke all on function app.billing_event_is_being_applied(uuid) from public;
grant execute on function app.billing_event_is_being_applied(uuid) to app_privileged;

drop policy if exists "privileged functions change workspace state" on public.workspaces;
drop policy if exists "platform administrators change workspace state" on public.workspaces;
drop policy if exists "platform admins and billing events change workspace state" on public.workspaces;
drop policy if exists "owners delete their workspace" on public.workspaces;
-- An owner's deletion (app.delete_workspace, sql/200: workspace:delete, the name typed) marks
-- the request's own workspace deleted, and nothing else.
drop policy if exists "platform admins, billing events and owners change workspace state" on public.workspaces;
create policy "platform admins, billing events and owners change workspace state" on public.workspaces
  for update to app_privileged
  using ((select app.current_user_is_platform_admin()) or app.billing_event_is_being_applied(id)
         or (id = (select app.current_workspace_id()) and deleted_at is null))
  with check ((select app.current_user_is_platform_admin()) or app.billing_event_is_being_applied(id)
              or (id = (select app.current_workspace_id()) and deleted_at is not null));

-- ---------------------------------------------------------------------------------------------
-- platform_admins: read and written only by the functions below.
-- ---------------------------------------------------------------------------------------------
alter table public.platform_admins enable row level security;
alter table public.platform_admins force row level security;
revoke all on public.platform_admins from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.platform_admins to app_privileged;
grant update (user_id, granted_at) on public.platform_admins to app_privileged;

-- Whether `p_user_id` is the verified account holding `p_email`: the only account a listed
-- address may be granted to.
create or replace function app.holds_verified_address(p_user_id uuid, p_email text) returns boolean
  language sql stable
  as $$ select exists (select 1 from public.users u where u.id = p_user_id and u.email = p_email and u.email_verified_at is not null) $$;
revoke all on function app.holds_verified_address(uuid, text) from public;
grant execute on function app.holds_verified_address(uuid, text) to app_privileged;

drop policy if exists "privileged functions read the platform administrators" on public.platform_admins;
create policy "privileged functions read the platform administrators" on public.platform_admins
  for select to app_privileged using (true);
drop policy if exists "a listed address is granted only to its verified account" on public.platform_admins;
create policy "a listed address is granted only to its verified account" on public.platform_admins
  for update to app_privileged
  using (true)
  with check (user_id is null or app.holds_verified_address(user_id, email));
-- The list itself is written only by the schema owner's start-up sync (the migrating login,
-- named here as it runs): no privileged function can list or unlist an address.
drop policy if exists "the start-up sync lists platform administrator addresses" on public.platform_admins;
drop policy if exists "the start-up sync removes addresses no longer listed" on public.platform_admins;
do $owner_writes$
begin
  execute pg_catalog.format('create policy "the start-up sync lists platform administrator addresses" on public.platform_admins
    for insert to %I with check (user_id is null and granted_at is null)', current_user);
  execute pg_catalog.format('create policy "the start-up sync removes addresses no longer listed" on public.platform_admins
    for delete to %I using (true)', current_user);
end
$owner_writes$;

-- ---------------------------------------------------------------------------------------------
-- app.grant_listed_platform_admin: when `p_user_id`'s verified address is listed and not yet
-- granted, grants it and records 'platform.admin_granted'. Called when an address becomes
-- verified (sql/100) and by the sync.
-- ---------------------------------------------------------------------------------------------
create or replace function app.grant_listed_platform_admin(p_user_id uuid) returns boolean
  language plpgsql volatile
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_email text;
begin
  update public.platform_admins pa set user_id = p_user_id, granted_at = pg_catalog.now()
    from public.users u
   where u.id = p_user_id and u.email_verified_at is not null and pa.email = u.email and pa.user_id is null
  returning pa.email into v_email;
  if v_email is null then
    return false;
  end if;
  perform app.audit_append(null, 'event', 'platform.admin_granted', 'user', p_user_id::text, null,
    pg_catalog.jsonb_build_object('email', v_email), true);
  return true;
end
$$;
revoke all on function app.grant_listed_platform_admin(uuid) from public;
grant execute on function app.grant_listed_platform_admin(uuid) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.sync_platform_admins: makes the list exactly `p_emails` (normalised): removes the
-- addresses no longer listed (a held one is a removal: 'platform.admin_revoked'), lists the new
-- ones, and grants each listed address whose account is already verified. Answers what changed.
-- Run by the schema owner at start-up (src/db/startup.ts), with its own rights (the policies
-- above); not granted to anyone.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.sync_platform_admins(text[]);
create function app.sync_platform_admins(p_emails text[])
  returns table (change text, email text)
  language plpgsql volatile security invoker
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_listed text[] := array(select distinct pg_catalog.lower(pg_catalog.btrim(e)) from pg_catalog.unnest(coalesce(p_emails, '{}')) e
                            where pg_catalog.btrim(e) <> '');
  r record;
begin
  for r in delete from public.platform_admins pa where pa.email <> all (v_listed) returning pa.email, pa.user_id loop
    if r.user_id is not null then
      perform app.audit_append(null, 'event', 'platform.admin_revoked', 'user', r.user_id::text, null,
        pg_catalog.jsonb_build_object('email', r.email), true);
    end if;
    change := 'unlisted'; email := r.email; return next;
  end loop;
  for r in insert into public.platform_admins (email) select e from pg_catalog.unnest(v_listed) e
            on conflict on constraint platform_admins_pkey do nothing returning platform_admins.email loop
    change := 'listed'; email := r.email; return next;
  end loop;
  for r in select u.id, u.email from public.platform_admins pa join public.users u on u.email = pa.email
            where pa.user_id is null and u.email_verified_at is not null loop
    if app.grant_listed_platform_admin(r.id) then
      change := 'granted'; email := r.email; return next;
    end if;
  end loop;
end
$$;
revoke all on function app.sync_platform_admins(text[]) from public;
comment on function app.sync_platform_admins(text[]) is
  'Platform administration: writes the administrator list from PLATFORM_ADMIN_EMAILS at start-up, as the schema owner';

-- Refuses anyone but a platform administrator: the first line of every app.admin_* function.
create or replace function app.assert_platform_admin() returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if not app.current_user_is_platform_admin() then
    raise exception 'Platform administrators only' using errcode = 'GHFBD';
  end if;
  -- A stolen password alone does not administer the platform: the session must have been
  -- signed in (or since confirmed) with a second factor the user still has enabled.
  if not exists (select 1 from public.sessions se
                   join public.user_mfa f on f.user_id = se.user_id and f.enabled_at is not null
                  where se.id = app.current_session_id() and se.mfa_at is not null) then
    raise exception 'Platform administration needs a session signed in with a second factor: enable MFA and sign in again'
      using errcode = 'GHMFR';
  end if;
end
$$;
revoke all on function app.assert_platform_admin() from public;
grant execute on function app.assert_platform_admin() to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.create_workspace: a new pending workspace owned by the verified user, with their owner
-- membership (the memberships insert policy, sql/130, accepts exactly that). One owned
-- workspace per user is the workspaces_one_per_owner constraint, so two concurrent creations
-- cannot both succeed.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.create_workspace(text);
create function app.create_workspace(p_name text)
  returns uuid
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_user uuid := app.require_account_user();
  v_id uuid;
begin
  if not exists (select 1 from public.users u where u.id = v_user and u.email_verified_at is not null) then
    raise exception 'Verify your email address first' using errcode = 'GHUNV';
  end if;
  begin
    insert into public.workspaces (name, owner_id) values (p_name, v_user) returning id into v_id;
  exception when unique_violation then
    raise exception 'You already own a workspace' using errcode = 'GHWLR';
  end;
  insert into public.memberships (workspace_id, user_id, role) values (v_id, v_user, 'owner');
  return v_id;
end
$$;
alter function app.create_workspace(text) owner to app_privileged;
revoke all on function app.create_workspace(text) from public;
grant execute on function app.create_workspace(text) to app_runtime;
comment on function app.create_workspace(text) is
  'Workspace creation: writes the owner membership of a workspace outside the caller''s context. '
  'Checks: the sealed user, verified; one owned workspace per user';

-- ---------------------------------------------------------------------------------------------
-- app.my_workspaces: the verified user's memberships, one per workspace (the role as the API
-- names it: a built-in name or the custom role's id, like app.role_ref in sql/125).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.my_workspaces();
create function app.my_workspaces()
  returns table (workspace_id uuid, name text, role text, status text)
  language sql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
  select w.id, w.name, case when m.role = 'custom' then m.role_id::text else m.role end, w.status
    from public.memberships m
    join public.workspaces w on w.id = m.workspace_id
   where m.user_id = app.current_user_id() and w.deleted_at is null
   order by m.created_at, w.id
$$;
alter function app.my_workspaces() owner to app_privileged;
revoke all on function app.my_workspaces() from public;
grant execute on function app.my_workspaces() to app_runtime;
comment on function app.my_workspaces() is
  'Workspace switcher: lists the caller''s memberships, each in a different tenant. '
  'Checks: only the sealed user''s memberships';

-- ---------------------------------------------------------------------------------------------
-- Platform administration of workspaces: reviewing them is the platform's job, not a tenant's.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.admin_list_workspaces(text);
create function app.admin_list_workspaces(p_status text)
  returns table (
    id uuid, name text, status text, status_reason text, owner_id uuid, owner_email text,
    trial_ends_at timestamptz, billing_status text, approved_at timestamptz, created_at timestamptz
  )
  language plpgsql stable security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_platform_admin();
  return query
    select w.id, w.name, w.status, w.status_reason, w.owner_id, u.email,
           w.trial_ends_at, w.billing_status, w.approved_at, w.created_at
      from public.workspaces w
      join public.users u on u.id = w.owner_id
     where (p_status is null or w.status = p_status) and w.deleted_at is null
     order by w.created_at desc, w.id
     limit 500;
end
$$;
alter function app.admin_list_workspaces(text) owner to app_privileged;
revoke all on function app.admin_list_workspaces(text) from public;
grant execute on function app.admin_list_workspaces(text) to app_runtime;
comment on function app.admin_list_workspaces(text) is
  'Platform administration: reviews workspaces of every tenant. '
  'Checks: the sealed user is a platform administrator';

-- ---------------------------------------------------------------------------------------------
-- app.admin_transition_workspace: the approval state machine, as a compare-and-set under a row
-- lock (two admins cannot race). Each action names the states it may start from:
--   approve    pending_approval → active     the trial ends at p_trial_ends_at; reason cleared
--   reject     pending_approval → rejected   p_reason recorded
--   suspend    active → suspended            p_reason recorded
--   reinstate  suspended → active            reason cleared
--   trial      active or suspended, kept     the trial ends at p_trial_ends_at (extend or end)
-- Answers 'not_found', 'conflict' (the workspace is not in a state the action starts from) or
-- 'ok', with the row. Every transition is audited in the workspace's own chain.
-- ---------------------------------------------------------------------------------------------
drop function if exists app.admin_transition_workspace(uuid, text[], text, text, timestamptz, boolean);
drop function if exists app.admin_transition_workspace(text, uuid, text[], text, text, timestamptz, boolean);
drop function if exists app.admin_transition_workspace(text, uuid, text, timestamptz);
create function app.admin_transition_workspace(p_action text, p_id uuid, p_reason text, p_trial_ends_at timestamptz)
  returns table (
    outcome text, id uuid, name text, status text, status_reason text, owner_id uuid, owner_email text,
    trial_ends_at timestamptz, billing_status text, approved_at timestamptz, created_at timestamptz
  )
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  w record;
  v_from text[];
  v_to text;
  v_reason text;
begin
  perform app.assert_platform_admin();
  case p_action
    when 'approve' then v_from := '{pending_approval}'; v_to := 'active';
    when 'reject' then v_from := '{pending_approval}'; v_to := 'rejected';
    when 'suspend' then v_from := '{active}'; v_to := 'suspended';
    when 'reinstate' then v_from := '{suspended}'; v_to := 'active';
    when 'trial' then v_from := '{active,suspended}'; v_to := null;
    else raise exception 'unknown workspace action "%"', p_action using errcode = 'GHINV';
  end case;
  if p_action in ('reject', 'suspend') and coalesce(pg_catalog.btrim(p_reason), '') = '' then
    raise exception 'a % needs a reason', p_action using errcode = 'GHINV';
  end if;
  if p_action in ('approve', 'trial') and p_trial_ends_at is null then
    raise exception '% needs the end of the trial', p_action using errcode = 'GHINV';
  end if;
  select * into w from public.workspaces ws where ws.id = p_id for update;
  if not found then
    return query select 'not_found'::text, null::uuid, null::text, null::text, null::text, null::uuid,
      null::text, null::timestamptz, null::text, null::timestamptz, null::timestamptz;
    return;
  end if;
  if not (w.status = any (v_from)) then
    outcome := 'conflict';
  else
    v_reason := case p_action when 'trial' then w.status_reason when 'reject' then p_reason when 'suspend' then p_reason end;
    update public.workspaces ws
       set status = coalesce(v_to, ws.status),
           status_reason = v_reason,
           trial_ends_at = coalesce(p_trial_ends_at, ws.trial_ends_at),
           approved_at = case when v_to = 'active' and ws.approved_at is null then pg_catalog.now() else ws.approved_at end,
           updated_at = pg_catalog.now()
     where ws.id = p_id;
    outcome := 'ok';
    perform app.audit_append(p_id, 'event', 'workspace.' || p_action, 'workspace', p_id::text,
      pg_catalog.jsonb_build_object('status', w.status, 'statusReason', w.status_reason, 'trialEndsAt', w.trial_ends_at),
      (select pg_catalog.jsonb_build_object('status', ws.status, 'statusReason', ws.status_reason, 'trialEndsAt', ws.trial_ends_at)
         from public.workspaces ws where ws.id = p_id));
  end if;
  return query
    select outcome, ws.id, ws.name, ws.status, ws.status_reason, ws.owner_id, u.email,
           ws.trial_ends_at, ws.billing_status, ws.approved_at, ws.created_at
      from public.workspaces ws join public.users u on u.id = ws.owner_id
     where ws.id = p_id;
end
$$;
alter function app.admin_transition_workspace(text, uuid, text, timestamptz) owner to app_privileged;
revoke all on function app.admin_transition_workspace(text, uuid, text, timestamptz) from public;
grant execute on function app.admin_transition_workspace(text, uuid, text, timestamptz) to app_runtime;
comment on function app.admin_transition_workspace(text, uuid, text, timestamptz) is
  'Platform administration: approves, rejects, suspends, reinstates and sets trials of any tenant. '
  'Checks: the sealed user is a platform administrator; the transition is one of the state machine''s'
