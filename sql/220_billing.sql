-- =============================================================================================
-- Billing: the billing provider's subscription events (public.billing_events) and the
-- workspaces' billing state (public.workspaces.billing_status, billing_period_ends_at,
-- billing_grace_ends_at)
--
-- The webhook (POST /api/billing/webhook, src/modules/billing) has no user: the service checks
-- the provider's signature over the raw body, then calls app.apply_billing_event with the billing
-- key, a random value the database generated for itself (public.database_secrets, like the
-- outbox worker's key, sql/020 and sql/160) and which the service read once at start-up through
-- the schema owner (src/db/startup.ts). A statement injected as the runtime login has no key: it
-- cannot mark a workspace paid, read the events or record one. The runtime holds no privilege
-- on billing_events, and none to update workspaces (sql/120): only this function, owned by
-- app_privileged, writes either, and the workspaces policy lets it change a workspace only with
-- a billing event for that workspace recorded in the same transaction.
--
-- What a status means for writes is app.billing_keeps_writes (sql/020), shared by every gate:
-- active and trialing keep writes, past_due keeps them until billing_grace_ends_at (7 days from
-- when the subscription first went past_due: set here, cleared when it leaves past_due),
-- canceled and unpaid (and a deleted subscription) bring back the trial's rule.
-- =============================================================================================

-- The billing key: generated once, ON CONFLICT DO NOTHING (sql/020 explains the secrets).
insert into public.database_secrets (name, secret)
select 'billing_webhook', pg_catalog.sha256(pg_catalog.uuid_send(gen_random_uuid()) || pg_catalog.uuid_send(gen_random_uuid()))
on conflict (name) do nothing;

-- ---------------------------------------------------------------------------------------------
-- billing_events: the provider's event ids already received, so a replayed one changes
-- nothing. Append-only: only app.apply_billing_event inserts (app_privileged, in the
-- transaction that applies the event); no role updates, deletes or truncates a row, except the
-- foreign key's own ON DELETE SET NULL (a workspace removed for good: the guard's WHEN clause
-- lets exactly that change through, workspace_id to NULL and nothing else), which only the
-- table's owner could otherwise run. The runtime holds no privilege on the table.
-- ---------------------------------------------------------------------------------------------
alter table public.billing_events enable row level security;
alter table public.billing_events force row level security;
revoke all on public.billing_events from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert on public.billing_events to app_privileged;
drop policy if exists "privileged functions read billing events" on public.billing_events;
create policy "privileged functions read billing events" on public.billing_events
  for select to app_privileged using (true);
-- Recorded as received now: the row that lets app.apply_billing_event change its workspace
-- (app.billing_event_is_being_applied, sql/120) is this transaction's.
drop policy if exists "the billing webhook records events as received now" on public.billing_events;
create policy "the billing webhook records events as received now" on public.billing_events
  for insert to app_privileged with check (received_at = pg_catalog.now());

drop trigger if exists billing_events_are_append_only on public.billing_events;
create trigger billing_events_are_append_only before update on public.billing_events
  for each row
  when (new.workspace_id is not null or new.id is distinct from old.id or new.type is distinct from old.type
        or new.received_at is distinct from old.received_at)
  execute function app.audit_reject();
drop trigger if exists billing_events_are_kept on public.billing_events;
create trigger billing_events_are_kept before delete on public.billing_events
  for each row execute function app.audit_reject();
drop trigger if exists billing_events_cannot_be_truncated on public.billing_events;
create trigger billing_events_cannot_be_truncated before truncate on public.billing_events
  for each statement execute function app.audit_reject();
-- ALWAYS: also under session_replication_role = replica.
alter table public.billing_events enable always trigger billing_events_are_append_only;
alter table public.billing_events enable always trigger billing_events_are_kept;
alter table public.billing_events enable always trigger billing_events_cannot_be_truncated;

-- ---------------------------------------------------------------------------------------------
-- app.apply_billing_event: one subscription event of the billing provider, whose signature the
-- service has verified. Answers what it did:
--   'replayed'           the event id was received before: nothing changes
--   'ignored'            recorded, no effect: not a customer.subscription.created/updated/deleted
--                        event, or one without a status
--   'unknown_workspace'  recorded (without a workspace), no effect: no such workspace
--   'unchanged'          recorded; the workspace's billing state already was what it says
--   'applied'            the workspace's billing state changed, audited in its chain
--                        ('billing.subscription_created|updated|deleted', before and after)
-- The status: active, trialing, past_due, canceled and unpaid as they are; a deleted
-- subscription is canceled; any other (incomplete, incomplete_expired, paused, one the provider
-- adds later) is unpaid, so no unknown status ever keeps writes. A past_due subscription's grace
-- ends 7 days after it first went past_due (kept while it stays past_due, cleared when it
-- leaves). The audit event has no actor (p_anonymous): no user acted, and the function refuses
-- to run in a context naming one (the row would be attributed to them); the request's metadata
-- (the provider's IP, the request id) is the webhook's.
-- Events are applied in the order they arrive (the provider's own order is not checked).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.apply_billing_event(bytea, text, text, uuid, text, timestamptz);
create function app.apply_billing_event(
    p_key bytea, p_event_id text, p_type text, p_workspace_id uuid, p_status text, p_period_end timestamptz)
  returns text
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_known boolean := p_type in ('customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted');
  v_workspace uuid;
  w record;
  v_status text;
  v_period timestamptz;
  v_grace timestamptz;
begin
  if p_key is null or not exists (select 1 from public.database_secrets s where s.name = 'billing_webhook' and s.secret = p_key) then
    raise exception 'only the billing webhook may apply billing events' using errcode = 'GHFBD';
  end if;
  -- No user acts here: an event applied in a signed-in user's request would be theirs in the log.
  if app.current_user_id() is not null then
    raise exception 'billing events are applied for no user' using errcode = 'GHFBD';
  end if;
  if p_event_id is null or pg_catalog.length(p_event_id) not between 1 and 255
     or p_type is null or pg_catalog.length(p_type) not between 1 and 255 then
    raise exception 'a billing event needs an id and a type of 1 to 255 characters' using errcode = 'GHINV';
  end if;

  select ws.id into v_workspace from public.workspaces ws where ws.id = p_workspace_id;
  insert into public.billing_events (id, type, workspace_id, received_at)
  values (p_event_id, p_type, v_workspace, pg_catalog.now())
  on conflict (id) do nothing;
  if not found then
    return 'replayed';
  end if;
  if not v_known or (p_status is null and p_type <> 'customer.subscription.deleted') then
    return 'ignored';
  end if;
  if v_workspace is null then
    return 'unknown_workspace';
  end if;

  -- Locked now (the workspaces policy admits it only once this transaction recorded the event):
  -- events for one workspace apply one after the other, each reading what the last one wrote.
  select ws.billing_status, ws.billing_period_ends_at, ws.billing_grace_ends_at into w
    from public.workspaces ws where ws.id = v_workspace for update;
  v_status := case
    when p_type = 'customer.subscription.deleted' then 'canceled'
    when p_status in ('active', 'trialing', 'past_due', 'canceled', 'unpaid') then p_status
    else 'unpaid'
  end;
  v_period := coalesce(p_period_end, w.billing_period_ends_at);
  v_grace := case
    when v_status <> 'past_due' then null
    when w.billing_status = 'past_due' and w.billing_grace_ends_at is not null then w.billing_grace_ends_at
    else pg_catalog.now() + interval '7 days'
  end;
  if v_status = w.billing_status and v_period is not distinct from w.billing_period_ends_at
     and v_grace is not distinct from w.billing_grace_ends_at then
    return 'unchanged';
  end if;

  update public.workspaces ws
     set billing_status = v_status, billing_period_ends_at = v_period, billing_grace_ends_at = v_grace
   where ws.id = v_workspace;
  perform app.audit_append(v_workspace, 'event', 'billing.subscription_' || pg_catalog.split_part(p_type, '.', 3),
    'workspace', v_workspace::text,
    pg_catalog.jsonb_build_object('status', w.billing_status, 'currentPeriodEnd', w.billing_period_ends_at,
                                  'graceEndsAt', w.billing_grace_ends_at),
    pg_catalog.jsonb_build_object('status', v_status, 'currentPeriodEnd', v_period, 'graceEndsAt', v_grace,
                                  'eventId', p_event_id, 'providerStatus', p_status),
    p_anonymous => true);
  return 'applied';
end
$$;
alter function app.apply_billing_event(bytea, text, text, uuid, text, timestamptz) owner to app_privileged;
revoke all on function app.apply_billing_event(bytea, text, text, uuid, text, timestamptz) from public;
grant execute on function app.apply_billing_event(bytea, text, text, uuid, text, timestamptz) to app_runtime;
comment on function app.apply_billing_event(bytea, text, text, uuid, text, timestamptz) is
  'Billing webhook: records a provider event and sets the billing state of any workspace it names, with no user. '
  'Checks: the caller presents the billing key the database issued, in a context naming no user; an event id is applied once';
