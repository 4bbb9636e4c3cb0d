-- =============================================================================================
-- Contacts (public.contacts): the CRM's business data, and the model of a tenant table
--
-- The standard tenant policies (app.secure_tenant_table, 030_table_security.sql) and the change
-- capture (050_audit.sql) are all a business table needs: no privileged function writes one.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- contacts: business data, written by members directly under the tenant policies.
-- ---------------------------------------------------------------------------------------------
call app.secure_tenant_table('public.contacts', 'contacts');
revoke all on public.contacts from app_runtime, app_privileged, app_mailer, app_auditor;
grant select, insert, update, delete on public.contacts to app_runtime;
grant select (workspace_id, owner_id) on public.contacts to app_privileged;

-- Removing a member first counts the contacts they still own in the request's workspace.
drop policy if exists "privileged functions read who owns the request workspace's contacts" on public.contacts;
drop policy if exists "privileged functions read the request workspace's contacts" on public.contacts;
create policy "privileged functions read the request workspace's contacts" on public.contacts
  for select to app_privileged using (workspace_id = (select app.current_workspace_id()));

-- Every change is recorded in the audit log (the change capture of 050_audit.sql).
call app.capture_changes('public.contacts', 'contact');

-- ---------------------------------------------------------------------------------------------
-- What a member may do with contacts, beyond their workspace: restrictive policies for the
-- runtime, from what app.begin_request sealed for the request (sql/020, sql/110), so a record
-- outside the caller's scope is invisible to every statement — a list, a lookup, an update, a
-- delete, a history (the audit log's policy asks the same, sql/050), and any query a future
-- handler forgets to filter — and no write puts one outside it:
--   * scope 'all': every contact of the workspace; 'own': the contacts they own;
--     'department': the contacts of their department and every department below it, and their own;
--   * reading needs contacts:read, adding contacts:create, hard-deleting contacts:delete;
--   * an update is checked row by row by app.contacts_check_change below (the _own variants).
-- Without a member's context the helpers answer NULL, which admits nothing.
-- ---------------------------------------------------------------------------------------------
-- What the current member may do with contacts, read from the sealed context in one lookup (the
-- policies' one InitPlan): whether they hold `p_permission` (NULL: none needed), their scope,
-- who they are and, for 'department', the departments it covers. All NULL without a member's
-- request context (fail closed). PL/pgSQL without a SET clause, like the helpers of sql/020.
do $type$
begin
  if pg_catalog.to_regtype('app.contacts_access') is null then
    create type app.contacts_access as (allowed boolean, scope text, user_id uuid, department_ids uuid[]);
  end if;
end
$type$;

create or replace function app.current_contacts_access(p_permission text) returns app.contacts_access
  language plpgsql stable
as $$
declare
  r app.contacts_access;
begin
  select p_permission is null or p_permission = any (c.permissions), c.contacts_scope, c.user_id, c.department_ids
    into r
    from public.request_contexts c
   where c.pid = pg_catalog.pg_backend_pid() and c.xact = pg_catalog.pg_current_xact_id_if_assigned();
  return r;
end
$$;
revoke all on function app.current_contacts_access(text) from public;
grant execute on function app.current_contacts_access(text) to app_runtime, app_privileged;

-- Whether a contact (its owner and department) is within what `p_access` allows. One opaque call
-- per row on purpose: written out as an OR in the policy, the planner takes the scope condition
-- for a highly selective filter and sorts a large workspace's matches instead of reading its
-- list index in order; an opaque boolean function gets the default estimate (a third of the
-- rows). PL/pgSQL without a SET clause (a per-call cost); its body names no table.
create or replace function app.contact_in_scope(p_access app.contacts_access, p_owner uuid, p_department uuid)
  returns boolean
  language plpgsql immutable parallel safe
as $$
begin
  return coalesce((p_access).allowed
                  and ((p_access).scope = 'all' or p_owner = (p_access).user_id
                       or ((p_access).scope = 'department' and p_department = any ((p_access).department_ids))), false);
end
$$;
revoke all on function app.contact_in_scope(app.contacts_access, uuid, uuid) from public;
grant execute on function app.contact_in_scope(app.contacts_access, uuid, uuid) to app_runtime, app_privileged;

drop function if exists app.contacts_scope_sql(text);
create or replace function app.contacts_scope_sql(p_permission text) returns text
  language sql immutable
  set search_path = pg_catalog, pg_temp
as $$
  select pg_catalog.format('app.contact_in_scope((select app.current_contacts_access(%L)), owner_id, department_id)', p_permission)
$$;
revoke all on function app.contacts_scope_sql(text) from public;

do $scoped$
begin
  drop policy if exists "contacts are read within the member's scope" on public.contacts;
  drop policy if exists "contacts are added within the member's scope" on public.contacts;
  drop policy if exists "contacts are changed within the member's scope" on public.contacts;
  drop policy if exists "contacts are deleted within the member's scope" on public.contacts;
  execute pg_catalog.format('create policy "contacts are read within the member''s scope" on public.contacts
    as restrictive for select to app_runtime using (%s)', app.contacts_scope_sql('contacts:read'));
  execute pg_catalog.format('create policy "contacts are added within the member''s scope" on public.contacts
    as restrictive for insert to app_runtime with check (%s)', app.contacts_scope_sql('contacts:create'));
  execute pg_catalog.format('create policy "contacts are changed within the member''s scope" on public.contacts
    as restrictive for update to app_runtime using (%1$s) with check (%1$s)', app.contacts_scope_sql(null));
  execute pg_catalog.format('create policy "contacts are deleted within the member''s scope" on public.contacts
    as restrictive for delete to app_runtime using (%s)', app.contacts_scope_sql('contacts:delete'));
end
$scoped$;
-- Retired with the one-lookup app.current_contacts_access (no policy uses them any more).
drop function if exists app.contact_in_scope(boolean, text, uuid, uuid[], uuid, uuid);
drop function if exists app.current_contacts_scope();
drop function if exists app.current_department_ids();

-- ---------------------------------------------------------------------------------------------
-- app.contacts_check_change: what kind of change an update is decides the permission it needs,
-- checked against the record as it was: a soft delete (deleted_at set) contacts:delete, or
-- contacts:delete_own on a contact the member owns; a restore (deleted_at cleared)
-- contacts:restore; any other change contacts:update, or contacts:update_own on a contact the
-- member owns and keeps. Refuses with GHFBD (403 forbidden). Only inside a member's request
-- context: the schema owner's or a superuser's maintenance is not a member's action.
-- ---------------------------------------------------------------------------------------------
create or replace function app.contacts_check_change() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_perms text[] := app.current_permissions();
  v_me uuid;
  v_needed text;
begin
  if v_perms is null then
    return new;
  end if;
  v_me := app.current_user_id();
  if old.deleted_at is null and new.deleted_at is not null then
    if 'contacts:delete' = any (v_perms) or ('contacts:delete_own' = any (v_perms) and old.owner_id = v_me) then
      return new;
    end if;
    v_needed := case when 'contacts:delete_own' = any (v_perms) then 'contacts:delete (this contact is not yours)' else 'contacts:delete' end;
  elsif old.deleted_at is not null and new.deleted_at is null then
    if 'contacts:restore' = any (v_perms) then
      return new;
    end if;
    v_needed := 'contacts:restore';
  else
    if 'contacts:update' = any (v_perms)
       or ('contacts:update_own' = any (v_perms) and old.owner_id = v_me and new.owner_id is not distinct from v_me) then
      return new;
    end if;
    v_needed := case when 'contacts:update_own' = any (v_perms) then 'contacts:update (this contact is not yours, or would not stay yours)'
                     else 'contacts:update' end;
  end if;
  raise exception 'Your role lacks the permission %', v_needed using errcode = 'GHFBD';
end
$$;
revoke all on function app.contacts_check_change() from public;
comment on function app.contacts_check_change() is
  'Contacts: the permission an update needs, by what it changes and whose the contact is (the _own permissions)';

drop trigger if exists contacts_check_change on public.contacts;
create trigger contacts_check_change
  before update on public.contacts
  for each row execute function app.contacts_check_change();
