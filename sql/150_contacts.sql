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
