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
} as const

export type Permission = keyof typeof PERMISSIONS

const ALL = Object.keys(PERMISSIONS) as Permission[]

// The audit log shows every member's actions, IP addresses and user agents: owners and admins
// only, so member and viewer do not list it.
export const BUILT_IN_ROLES = {
  owner: ALL,
  admin: ALL,
  member: ['workspace:read', 'contacts:read', 'contacts:create', 'contacts:update', 'contacts:delete'],
  viewer: ['workspace:read', 'contacts:read'],
} as const satisfies Record<string, readonly Permission[]>

export type BuiltInRole = keyof typeof BUILT_IN_ROLES

const grants = new Map<string, ReadonlySet<Permission>>(
  Object.entries(BUILT_IN_ROLES).map(([role, perms]) => [role, new Set<Permission>(perms)]),
)

export function roleHasPermission(role: string | null | undefined, permission: Permission): boolean {
  return !!role && (grants.get(role)?.has(permission) ?? false)
}
