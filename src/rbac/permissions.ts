// The permission catalogue and the built-in roles. A route names the permission it needs in its
// config; the gate chain checks it against the caller's role (plugins/gates.ts).
export const PERMISSIONS = {
  'workspace:read': 'See the workspace, its state and trial',
  'contacts:read': 'List and read contacts and their history (within the member\'s contacts scope)',
  'contacts:create': 'Add contacts (within the member\'s contacts scope)',
  'contacts:update': 'Edit contacts (within the member\'s contacts scope)',
  'contacts:update_own': 'Edit the contacts the member owns (and keep them theirs)',
  'contacts:delete': 'Delete (soft-delete) contacts (within the member\'s contacts scope)',
  'contacts:delete_own': 'Delete (soft-delete) the contacts the member owns',
  'contacts:restore': 'Restore deleted contacts',
  'audit:read': "Read the workspace's audit log (every change and sensitive action, with who, when and from where)",
  'members:read': "List the workspace's members, their roles, departments and whether they use MFA",
  'members:manage': "Invite members, change their roles, departments and scopes, remove them (never beyond the changer's own permissions)",
  'departments:manage': "Create, rename, move and delete the workspace's departments",
  'roles:manage': 'Create, edit and delete custom roles (never with a permission the editor lacks)',
  'channels:manage': "Connect, replace and remove the workspace's channel credentials (Telegram, WhatsApp, Resend); their secrets are never shown back",
  'api_tokens:manage': "Create, list and revoke the workspace's API tokens (never with a scope the creator lacks)",
  'billing:read': "See the workspace's billing and subscription (owners only: it is what sets an owner above an admin)",
  'security:read': 'See refused attempts against the workspace (wrong guesses, forbidden or cross-tenant requests, rate limits) and where they came from (owners only)',
  'workspace:delete': 'Delete the workspace: its secrets are destroyed for good and its records soft-deleted (owners only)',
} as const

export type Permission = keyof typeof PERMISSIONS

export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[]

export function isPermission(name: string): name is Permission {
  return Object.hasOwn(PERMISSIONS, name)
}

// The four built-in roles, most to least. The audit log shows every member's actions, IP
// addresses and user agents: owners and admins only. Billing and the security events are the
// owners' alone, as is deleting the workspace, which is also why an admin can neither make an
// owner nor change one: nobody
// grants what they lack (and only an owner makes an owner, whatever a custom role holds).
// Managers run their departments' contacts; agents (the product's "User") work their own. An
// agent may edit and delete every contact they see: their default scope is their own contacts
// (sql/130, app.default_contacts_scope), and the members migrated from the former "member"
// role keep seeing, and editing, every contact.
export const BUILT_IN_ROLES = {
  owner: PERMISSION_NAMES,
  admin: PERMISSION_NAMES.filter((p) => p !== 'billing:read' && p !== 'security:read' && p !== 'workspace:delete'),
  manager: ['workspace:read', 'members:read', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete', 'contacts:restore'],
  agent: ['workspace:read', 'members:read', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete'],
} as const satisfies Record<string, readonly Permission[]>

export type BuiltInRole = keyof typeof BUILT_IN_ROLES

export const BUILT_IN_ROLE_NAMES = Object.keys(BUILT_IN_ROLES) as BuiltInRole[]

export function isBuiltInRole(name: string): name is BuiltInRole {
  return Object.hasOwn(BUILT_IN_ROLES, name)
}
