-- =============================================================================================
-- Departments (public.departments, migrations/0009): a tree per workspace, which members and
-- contacts belong to and a manager's contacts scope follows (a department and every one below).
--
-- The database keeps it a tree: a parent is in the same workspace (the composite foreign key),
-- no department is its own ancestor (the trigger below, under a per-workspace lock so two moves
-- cannot together close a loop), and a department with children, members or contacts is not
-- deleted (the foreign keys that point at it; the service answers 409). Members read their
-- workspace's departments; changes go through app.create_department / app.update_department /
-- app.delete_department, which need departments:manage, and are recorded by the change capture.
-- =============================================================================================

call app.secure_tenant_table('public.departments', 'departments', array['select']);
revoke all on public.departments from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.departments to app_runtime;
grant select, insert, delete on public.departments to app_privileged;
grant update (name, parent_id, updated_at) on public.departments to app_privileged;

-- Every workspace's: app.begin_request resolves a manager's departments before any context exists.
drop policy if exists "privileged functions read the request workspace's departments" on public.departments;
drop policy if exists "privileged functions read every department" on public.departments;
create policy "privileged functions read every department" on public.departments
  for select to app_privileged using (true);
drop policy if exists "privileged functions add departments to the request's workspace" on public.departments;
create policy "privileged functions add departments to the request's workspace" on public.departments
  for insert to app_privileged with check (workspace_id = (select app.current_workspace_id()));
drop policy if exists "privileged functions change the request workspace's departments" on public.departments;
create policy "privileged functions change the request workspace's departments" on public.departments
  for update to app_privileged
  using (workspace_id = (select app.current_workspace_id()))
  with check (workspace_id = (select app.current_workspace_id()));
drop policy if exists "privileged functions delete the request workspace's departments" on public.departments;
create policy "privileged functions delete the request workspace's departments" on public.departments
  for delete to app_privileged using (workspace_id = (select app.current_workspace_id()));

call app.capture_changes('public.departments', 'department');

-- ---------------------------------------------------------------------------------------------
-- app.department_subtree: a department and every department below it, in `p_workspace_id`
-- (empty for none): what a manager's 'department' scope covers. The tree has no cycle (below);
-- the depth bound only stops a walk the trigger would have refused.
-- ---------------------------------------------------------------------------------------------
create or replace function app.department_subtree(p_workspace_id uuid, p_department_id uuid) returns uuid[]
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if p_department_id is null then
    return '{}';
  end if;
  return array(
    with recursive down(id, depth) as (
      select d.id, 1 from public.departments d where d.workspace_id = p_workspace_id and d.id = p_department_id
      union all
      select d.id, down.depth + 1 from public.departments d join down on d.parent_id = down.id
       where d.workspace_id = p_workspace_id and down.depth < 1000
    )
    select down.id from down);
end
$$;
revoke all on function app.department_subtree(uuid, uuid) from public;
grant execute on function app.department_subtree(uuid, uuid) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- No cycles. Before a department gets a parent, the workspace's tree is locked (a transaction
-- advisory lock per workspace, so concurrent moves queue) and the new parent's ancestors are
-- walked: meeting the department itself is a cycle (23514, constraint
-- departments_tree_has_no_cycle). SECURITY DEFINER so the walk sees the whole tree whatever
-- the caller's policies; it only refuses.
-- ---------------------------------------------------------------------------------------------
create or replace function app.departments_no_cycle() returns trigger
  language plpgsql security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  if new.parent_id is null then
    return new;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('departments:' || new.workspace_id::text, 0));
  if exists (
    with recursive up(id, parent_id, depth) as (
      select d.id, d.parent_id, 1 from public.departments d where d.workspace_id = new.workspace_id and d.id = new.parent_id
      union all
      select d.id, d.parent_id, up.depth + 1 from public.departments d join up on d.id = up.parent_id
       where d.workspace_id = new.workspace_id and up.depth < 1000
    )
    select 1 from up where up.id = new.id) then
    raise exception 'a department cannot be moved under itself or one of its own sub-departments'
      using errcode = '23514', constraint = 'departments_tree_has_no_cycle';
  end if;
  return new;
end
$$;
alter function app.departments_no_cycle() owner to app_privileged;
revoke all on function app.departments_no_cycle() from public;
comment on function app.departments_no_cycle() is
  'Department tree: walks the new parent''s ancestors, whatever the caller may see. Checks: a trigger; refuses only';

drop trigger if exists departments_tree_has_no_cycle on public.departments;
create trigger departments_tree_has_no_cycle
  before insert or update of parent_id on public.departments
  for each row execute function app.departments_no_cycle();

-- ---------------------------------------------------------------------------------------------
-- app.create_department / app.update_department / app.delete_department: a department of the
-- request's workspace. Each needs departments:manage and a workspace that takes writes. A
-- parent that is not a department of this workspace is refused by the foreign key (23503);
-- update keeps the parent when p_move is false; update and delete answer nothing / false for
-- an id that is not a department here.
-- ---------------------------------------------------------------------------------------------
create or replace function app.require_departments_manage() returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.assert_current_workspace_writable();
  perform app.require_permission((select c.permissions from app.caller_role() c), 'departments:manage');
end
$$;
revoke all on function app.require_departments_manage() from public;
grant execute on function app.require_departments_manage() to app_privileged;

drop function if exists app.create_department(text, uuid);
create function app.create_department(p_name text, p_parent_id uuid)
  returns setof public.departments
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_departments_manage();
  return query
    insert into public.departments (workspace_id, name, parent_id)
    values (app.current_workspace_id(), pg_catalog.btrim(p_name), p_parent_id)
    returning *;
end
$$;
alter function app.create_department(text, uuid) owner to app_privileged;
revoke all on function app.create_department(text, uuid) from public;
grant execute on function app.create_department(text, uuid) to app_runtime;
comment on function app.create_department(text, uuid) is
  'Departments: writes a department, which the runtime may only read. Checks: the sealed member holds departments:manage';

drop function if exists app.update_department(uuid, text, boolean, uuid);
create function app.update_department(p_id uuid, p_name text, p_move boolean, p_parent_id uuid)
  returns setof public.departments
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_departments_manage();
  return query
    update public.departments d
       set name = coalesce(pg_catalog.btrim(p_name), d.name),
           parent_id = case when p_move then p_parent_id else d.parent_id end,
           updated_at = pg_catalog.now()
     where d.workspace_id = app.current_workspace_id() and d.id = p_id
    returning d.*;
end
$$;
alter function app.update_department(uuid, text, boolean, uuid) owner to app_privileged;
revoke all on function app.update_department(uuid, text, boolean, uuid) from public;
grant execute on function app.update_department(uuid, text, boolean, uuid) to app_runtime;
comment on function app.update_department(uuid, text, boolean, uuid) is
  'Departments: renames or moves a department, which the runtime may only read. Checks: the sealed member holds departments:manage';

drop function if exists app.delete_department(uuid);
create function app.delete_department(p_id uuid)
  returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.require_departments_manage();
  delete from public.departments d where d.workspace_id = app.current_workspace_id() and d.id = p_id;
  return found;
end
$$;
alter function app.delete_department(uuid) owner to app_privileged;
revoke all on function app.delete_department(uuid) from public;
grant execute on function app.delete_department(uuid) to app_runtime;
comment on function app.delete_department(uuid) is
  'Departments: deletes a department, which the runtime may only read. '
  'Checks: the sealed member holds departments:manage; the foreign keys keep one with children, members or contacts';
