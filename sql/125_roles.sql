-- =============================================================================================
-- Roles (public.permissions, public.role_permissions, public.workspace_roles, migrations/0009)
--
-- What a member may do is the permission set of their role: a built-in role (owner, admin,
-- manager, agent: public.role_permissions) or one of their workspace's custom roles
-- (public.workspace_roles). Both are written from the one catalogue (public.permissions), which
-- every migration rewrites from src/rbac/permissions.ts, as are the built-in roles.
--
-- A membership or an invitation names its role as `role` (a built-in name, or 'custom') and
-- `role_id` (the custom role), and the API as one string: the built-in name or the custom
-- role's id (app.role_ref). app.begin_request resolves the caller's permissions from these
-- tables on every request, so a change to a role holds from its holders' next request.
--
-- Nobody grants what they do not hold: creating, editing or deleting a custom role, inviting
-- with a role or giving one to a member needs every permission of that role (app.role_covers),
-- and only an owner makes, changes or unmakes an owner. The functions below check it in the
-- database; the HTTP layer checks the same first, for a clear answer.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- permissions and role_permissions: the catalogue and the built-in roles. Read by the
-- privileged functions (the service has its own copy, src/rbac); written only by the schema
-- owner, the migrating login (app.sync_role_permissions), named here as it runs: no
-- privileged function can change what a permission or a built-in role is.
-- ---------------------------------------------------------------------------------------------
alter table public.permissions enable row level security;
alter table public.permissions force row level security;
revoke all on public.permissions from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.permissions to app_privileged;
drop policy if exists "everyone reads the permission catalogue" on public.permissions;
drop policy if exists "privileged functions read the permission catalogue" on public.permissions;
create policy "privileged functions read the permission catalogue" on public.permissions
  for select to app_privileged using (true);

alter table public.role_permissions enable row level security;
alter table public.role_permissions force row level security;
revoke all on public.role_permissions from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.role_permissions to app_privileged;
drop policy if exists "privileged functions read the role catalogue" on public.role_permissions;
create policy "privileged functions read the role catalogue" on public.role_permissions
  for select to app_privileged using (true);

drop policy if exists "the migrations write the role catalogue" on public.role_permissions;
drop policy if exists "the migrations rewrite the role catalogue" on public.role_permissions;
drop policy if exists "the migrations write the permission catalogue" on public.permissions;
drop policy if exists "the migrations rewrite the permission catalogue" on public.permissions;
drop policy if exists "the migrations retire permissions" on public.permissions;
do $owner_writes$
begin
  execute pg_catalog.format('create policy "the migrations write the role catalogue" on public.role_permissions
    for insert to %I with check (true)', current_user);
  execute pg_catalog.format('create policy "the migrations rewrite the role catalogue" on public.role_permissions
    for delete to %I using (true)', current_user);
  execute pg_catalog.format('create policy "the migrations write the permission catalogue" on public.permissions
    for insert to %I with check (true)', current_user);
  execute pg_catalog.format('create policy "the migrations rewrite the permission catalogue" on public.permissions
    for update to %I using (true) with check (true)', current_user);
  execute pg_catalog.format('create policy "the migrations retire permissions" on public.permissions
    for delete to %I using (true)', current_user);
end
$owner_writes$;

-- Makes the catalogue exactly `p_permissions` ({"name": "description", …}) and the built-in
-- roles exactly `p_roles` ({"role": ["permission", …], …}). Run by the schema owner when
-- migrating, with its own rights (the policies above); not granted to anyone. A permission
-- retired from the catalogue stops counting in custom roles at once (app.role_permissions_of
-- reads them through the catalogue).
drop function if exists app.sync_role_permissions(jsonb);
drop function if exists app.sync_role_permissions(jsonb, jsonb);
create function app.sync_role_permissions(p_permissions jsonb, p_roles jsonb)
  returns void
  language plpgsql volatile security invoker
  set search_path = pg_catalog, pg_temp
as $$
begin
  insert into public.permissions (name, description)
  select p.key, p.value from pg_catalog.jsonb_each_text(p_permissions) p
  on conflict (name) do update set description = excluded.description
    where public.permissions.description is distinct from excluded.description;
  delete from public.permissions where not (p_permissions ? name);
  delete from public.role_permissions;
  insert into public.role_permissions (role, permission)
  select r.key, p.value from pg_catalog.jsonb_each(p_roles) r, pg_catalog.jsonb_array_elements_text(r.value) p;
end
$$;
revoke all on function app.sync_role_permissions(jsonb, jsonb) from public;
comment on function app.sync_role_permissions(jsonb, jsonb) is
  'Role catalogue: writes the permissions and the built-in roles from the service''s catalogue, as the schema owner';

-- ---------------------------------------------------------------------------------------------
-- workspace_roles: a workspace's custom roles. Members read their workspace's (the standard
-- tenant policy); every change goes through app.create_role / app.update_role /
-- app.delete_role, which check the rules above, and is recorded by the change capture with its
-- permissions before and after.
-- ---------------------------------------------------------------------------------------------
call app.secure_tenant_table('public.workspace_roles', 'roles', array['select']);
revoke all on public.workspace_roles from app_runtime, app_privileged, app_mailer, app_auditor;
grant select on public.workspace_roles to app_runtime;
grant select, insert, delete on public.workspace_roles to app_privileged;
grant update (name, permissions, updated_at) on public.workspace_roles to app_privileged;

drop policy if exists "privileged functions read every custom role" on public.workspace_roles;
create policy "privileged functions read every custom role" on public.workspace_roles
  for select to app_privileged using (true);
drop policy if exists "privileged functions add roles to the request's workspace" on public.workspace_roles;
create policy "privileged functions add roles to the request's workspace" on public.workspace_roles
  for insert to app_privileged with check (workspace_id = (select app.current_workspace_id()));
drop policy if exists "privileged functions change the request workspace's roles" on public.workspace_roles;
create policy "privileged functions change the request workspace's roles" on public.workspace_roles
  for update to app_privileged
  using (workspace_id = (select app.current_workspace_id()))
  with check (workspace_id = (select app.current_workspace_id()));
drop policy if exists "privileged functions delete the request workspace's roles" on public.workspace_roles;
create policy "privileged functions delete the request workspace's roles" on public.workspace_roles
  for delete to app_privileged using (workspace_id = (select app.current_workspace_id()));

call app.capture_changes('public.workspace_roles', 'role');

-- ---------------------------------------------------------------------------------------------
-- The helpers the checks share. Not granted to the runtime: it reads its own permissions from
-- app.begin_request's answer.
-- ---------------------------------------------------------------------------------------------

-- The permissions of a role: a built-in role's, or the custom role `p_role_id` of
-- `p_workspace_id` (only those still in the catalogue). Empty for an unknown role. On every
-- request's path (app.begin_request), so like the context helpers (sql/020): PL/pgSQL, whose
-- plans are kept for the session, without a SET clause (every name is qualified).
drop function if exists app.role_has(text, text);
drop function if exists app.role_covers(text, text);
create or replace function app.role_permissions_of(p_workspace_id uuid, p_role text, p_role_id uuid)
  returns text[]
  language plpgsql stable
as $$
begin
  if p_role = 'custom' then
    return array(select p.name from public.workspace_roles r
                  cross join lateral pg_catalog.unnest(r.permissions) g(name)
                  join public.permissions p on p.name = g.name
                 where r.workspace_id = p_workspace_id and r.id = p_role_id
                 order by 1);
  end if;
  return array(select rp.permission from public.role_permissions rp where rp.role = p_role order by 1);
end
$$;
revoke all on function app.role_permissions_of(uuid, text, uuid) from public;
grant execute on function app.role_permissions_of(uuid, text, uuid) to app_privileged;

-- How the API names a role: a built-in role's name, or the custom role's id.
-- Inlined where it is called (SQL, immutable, no SET clause).
create or replace function app.role_ref(p_role text, p_role_id uuid) returns text
  language sql immutable
as $$ select case when p_role = 'custom' then p_role_id::text else p_role end $$;
revoke all on function app.role_ref(text, uuid) from public;
grant execute on function app.role_ref(text, uuid) to app_privileged;

-- How a message names a role: a built-in role's name, or the custom role's quoted name.
create or replace function app.role_label(p_workspace_id uuid, p_role text, p_role_id uuid) returns text
  language sql stable
  set search_path = pg_catalog, pg_temp
as $$
  select case when p_role = 'custom'
              then coalesce((select pg_catalog.format('"%s"', r.name) from public.workspace_roles r
                              where r.workspace_id = p_workspace_id and r.id = p_role_id), 'a deleted role')
              else p_role end
$$;
revoke all on function app.role_label(uuid, text, uuid) from public;
grant execute on function app.role_label(uuid, text, uuid) to app_privileged;

-- The role the API string `p_ref` names in the request's workspace, as (role, role_id): a
-- built-in name, or the id of one of this workspace's custom roles. Anything else — another
-- workspace's role included — is refused as a malformed argument (GHINV), naming it.
create or replace function app.resolve_role(p_ref text, out role text, out role_id uuid)
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if p_ref in ('owner', 'admin', 'manager', 'agent') then
    role := p_ref;
    return;
  end if;
  if p_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select 'custom', r.id into role, role_id from public.workspace_roles r
     where r.workspace_id = app.current_workspace_id() and r.id = p_ref::uuid;
    if found then
      return;
    end if;
  end if;
  raise exception 'No such role in this workspace: %', p_ref using errcode = 'GHINV';
end
$$;
revoke all on function app.resolve_role(text) from public;
grant execute on function app.resolve_role(text) to app_privileged;

-- Whether a holder of `p_held` (with built-in role `p_holder_role`, or 'custom') may grant,
-- change or take away a role with permissions `p_needed` that is `p_role`: they hold every one
-- of its permissions, and only an owner covers the owner role.
create or replace function app.role_covers(p_holder_role text, p_held text[], p_role text, p_needed text[])
  returns boolean
  language sql immutable
  set search_path = pg_catalog, pg_temp
as $$ select p_needed <@ p_held and (p_role is distinct from 'owner' or p_holder_role = 'owner') $$;
revoke all on function app.role_covers(text, text[], text, text[]) from public;
grant execute on function app.role_covers(text, text[], text, text[]) to app_privileged;

-- The caller's membership of the request's workspace, for a check: their role and its
-- permissions. GHMEM when they are not a member (any more).
create or replace function app.caller_role(out role text, out role_id uuid, out permissions text[])
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
begin
  select m.role, m.role_id into role, role_id from public.memberships m
   where m.workspace_id = v_ws and m.user_id = app.require_user();
  if not found then
    raise exception 'You are not a member of this workspace' using errcode = 'GHMEM';
  end if;
  permissions := app.role_permissions_of(v_ws, role, role_id);
  -- An API token's request (sql/210) holds no more than the token's scopes: its sealed
  -- permissions are the creator's role's cut down to them.
  if exists (select 1 from public.request_contexts ctx
              where ctx.pid = pg_catalog.pg_backend_pid() and ctx.xact = pg_catalog.pg_current_xact_id_if_assigned()
                and ctx.token_id is not null) then
    permissions := array(select p from pg_catalog.unnest(permissions) p where p = any (coalesce(app.current_permissions(), '{}')) order by 1);
  end if;
end
$$;
revoke all on function app.caller_role() from public;
grant execute on function app.caller_role() to app_privileged;

-- Refuses (GHFBD) unless the caller's permissions include `p_permission`.
create or replace function app.require_permission(p_permissions text[], p_permission text) returns void
  language plpgsql immutable
  set search_path = pg_catalog, pg_temp
as $$
begin
  if not (p_permission = any (p_permissions)) then
    raise exception 'Your role lacks the permission %', p_permission using errcode = 'GHFBD';
  end if;
end
$$;
revoke all on function app.require_permission(text[], text) from public;
grant execute on function app.require_permission(text[], text) to app_privileged;

-- Refuses (GHINV) a permission list with an entry not in the catalogue, naming the first.
create or replace function app.require_known_permissions(p_permissions text[]) returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_unknown text;
begin
  if p_permissions is null then
    raise exception 'permissions must be a list' using errcode = 'GHINV';
  end if;
  select g.name into v_unknown from pg_catalog.unnest(p_permissions) g(name)
   where not exists (select 1 from public.permissions p where p.name = g.name) limit 1;
  if found then
    raise exception 'Unknown permission: %', v_unknown using errcode = 'GHINV';
  end if;
end
$$;
revoke all on function app.require_known_permissions(text[]) from public;
grant execute on function app.require_known_permissions(text[]) to app_privileged;

-- ---------------------------------------------------------------------------------------------
-- app.create_role / app.update_role / app.delete_role: a custom role of the request's
-- workspace. Each needs roles:manage and every permission of the role as it is and as it
-- will be (nobody creates or edits a role above themselves, nor deletes one); names are unique
-- per workspace regardless of case (the unique index: 23505, a 409). update and delete answer
-- nothing for an id that is not a custom role here (a built-in's name is not an id).
-- A role still assigned, or offered by an open invitation, is not deleted (GHCFL).
-- ---------------------------------------------------------------------------------------------
drop function if exists app.check_role_change(text[], text[]);
create or replace function app.check_role_change(p_name text, p_before text[], p_after text[]) returns void
  language plpgsql stable
  set search_path = pg_catalog, pg_temp
as $$
declare
  c record;
  v_missing text;
begin
  perform app.assert_current_workspace_writable();
  select * into c from app.caller_role();
  perform app.require_permission(c.permissions, 'roles:manage');
  if pg_catalog.lower(pg_catalog.btrim(p_name)) in ('owner', 'admin', 'manager', 'agent', 'custom') then
    raise exception '"%" is a built-in role''s name', pg_catalog.btrim(p_name) using errcode = 'GHCFL';
  end if;
  if p_after is not null then
    perform app.require_known_permissions(p_after);
  end if;
  select g.name into v_missing
    from pg_catalog.unnest(coalesce(p_before, '{}') || coalesce(p_after, '{}')) g(name)
   where not (g.name = any (c.permissions)) limit 1;
  if found then
    raise exception 'Your role cannot grant the permission %, which it lacks', v_missing using errcode = 'GHFBD';
  end if;
end
$$;
revoke all on function app.check_role_change(text, text[], text[]) from public;
grant execute on function app.check_role_change(text, text[], text[]) to app_privileged;

drop function if exists app.create_role(text, text[]);
create function app.create_role(p_name text, p_permissions text[])
  returns setof public.workspace_roles
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
begin
  perform app.check_role_change(p_name, null, p_permissions);
  return query
    insert into public.workspace_roles (workspace_id, name, permissions)
    values (app.current_workspace_id(), pg_catalog.btrim(p_name),
            array(select distinct g.name from pg_catalog.unnest(p_permissions) g(name) order by 1))
    returning *;
end
$$;
alter function app.create_role(text, text[]) owner to app_privileged;
revoke all on function app.create_role(text, text[]) from public;
grant execute on function app.create_role(text, text[]) to app_runtime;
comment on function app.create_role(text, text[]) is
  'Custom roles: writes a role, which the runtime may only read. '
  'Checks: the sealed member holds roles:manage and every permission of the new role; the permissions are the catalogue''s';

drop function if exists app.update_role(uuid, text, text[]);
create function app.update_role(p_id uuid, p_name text, p_permissions text[])
  returns setof public.workspace_roles
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_before text[];
begin
  perform app.caller_role(); -- a member of the request's workspace, or GHAUT / GHMEM
  select r.permissions into v_before from public.workspace_roles r
   where r.workspace_id = app.current_workspace_id() and r.id = p_id for update;
  if not found then
    return;
  end if;
  perform app.check_role_change(p_name, v_before, coalesce(p_permissions, v_before));
  return query
    update public.workspace_roles r
       set name = coalesce(pg_catalog.btrim(p_name), r.name),
           permissions = case when p_permissions is null then r.permissions
                              else array(select distinct g.name from pg_catalog.unnest(p_permissions) g(name) order by 1) end,
           updated_at = pg_catalog.now()
     where r.workspace_id = app.current_workspace_id() and r.id = p_id
    returning r.*;
end
$$;
alter function app.update_role(uuid, text, text[]) owner to app_privileged;
revoke all on function app.update_role(uuid, text, text[]) from public;
grant execute on function app.update_role(uuid, text, text[]) to app_runtime;
comment on function app.update_role(uuid, text, text[]) is
  'Custom roles: changes a role, which the runtime may only read. '
  'Checks: the sealed member holds roles:manage and every permission of the role before and after; the permissions are the catalogue''s';

drop function if exists app.delete_role(uuid);
create function app.delete_role(p_id uuid)
  returns boolean
  language plpgsql volatile security definer
  set search_path = pg_catalog, pg_temp
as $$
declare
  v_ws uuid := app.current_workspace_id();
  v_before text[];
  v_holders integer;
begin
  perform app.caller_role(); -- a member of the request's workspace, or GHAUT / GHMEM
  select r.permissions into v_before from public.workspace_roles r where r.workspace_id = v_ws and r.id = p_id for update;
  if not found then
    return false;
  end if;
  perform app.check_role_change(null, v_before, null);
  select pg_catalog.count(*) into v_holders from public.memberships m where m.workspace_id = v_ws and m.role_id = p_id;
  if v_holders > 0 then
    raise exception 'The role is still held by % member%; give them another role first',
      v_holders, case when v_holders = 1 then '' else 's' end using errcode = 'GHCFL';
  end if;
  if exists (select 1 from public.workspace_invites i
              where i.workspace_id = v_ws and i.role_id = p_id and i.accepted_at is null and i.revoked_at is null) then
    raise exception 'An open invitation offers the role; revoke it first' using errcode = 'GHCFL';
  end if;
  delete from public.workspace_roles r where r.workspace_id = v_ws and r.id = p_id;
  return true;
end
$$;
alter function app.delete_role(uuid) owner to app_privileged;
revoke all on function app.delete_role(uuid) from public;
grant execute on function app.delete_role(uuid) to app_runtime;
comment on function app.delete_role(uuid) is
  'Custom roles: deletes a role, which the runtime may only read. '
  'Checks: the sealed member holds roles:manage and every permission of the role; nobody holds it and no open invitation offers it';
