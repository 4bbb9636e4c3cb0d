// The permission catalogue and the built-in roles. A route names the permission it needs in its
// config; the gate chain checks it against the caller's role (plugins/gates.ts).
export const PERMISSIONS = {
  'workspace:read': 'See the workspace, its state and trial',
  'contacts:read': 'List and read contacts and their history',
  'contacts:create': 'Add contacts',
  'contacts:update': 'Edit contacts',
  'contacts:delete': 'Delete (soft-delete) contacts',
  'contacts:restore': 'Restore deleted contacts',
  'audit:read': "Read the workspace's audit log (every change and sensitive action, with who, when and from where)",
  'members:read': "List the workspace's members, their roles and whether they use MFA",
  'members:manage': "Change members' roles (never to a role with a permission the changer lacks)",
  'billing:read': "See the workspace's billing and subscription (owners only: it is what sets an owner above an admin)",
  'security:read': 'See refused attempts against the workspace (wrong guesses, forbidden or cross-tenant requests, rate limits) and where they came from (owners only)',
} as const

export type Permission = keyof typeof PERMISSIONS

const ALL = Object.keys(PERMISSIONS) as Permission[]

// The audit log shows every member's actions, IP addresses and user agents: owners and admins
// only, so member and viewer do not list it. Billing is the owners' alone (API.md), which is
// also why an admin can neither make an owner nor change one: nobody grants what they lack.
export const BUILT_IN_ROLES = {
  owner: ALL,
  admin: ALL.filter((p) => p !== 'billing:read' && p !== 'security:read'),
  member: ['workspace:read', 'members:read', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete'],
  viewer: ['workspace:read', 'members:read', 'contacts:read'],
} as const satisfies Record<string, readonly Permission[]>

export const BUILT_IN_ROLE_NAMES = Object.keys(BUILT_IN_ROLES) as BuiltInRole[]

export type BuiltInRole = keyof typeof BUILT_IN_ROLES

const grants = new Map<string, ReadonlySet<Permission>>(
  Object.entries(BUILT_IN_ROLES).map(([role, perms]) => [role, new Set<Permission>(perms)]),
)

export function roleHasPermission(role: string | null | undefined, permission: Permission): boolean {
  return !!role && (grants.get(role)?.has(permission) ?? false)
}

/** Whether `holder` has every permission of `role`: what it takes to grant `role`, or to change
 * the role of a member who holds it. An unknown role is covered by nobody. */
export function roleCovers(holder: string, role: string): boolean {
  const held = grants.get(holder)
  const needed = grants.get(role)
  if (!held || !needed) return false
  for (const p of needed) if (!held.has(p)) return false
  return true
}
