// Who is signed in and which workspace they are in, for every screen: `/api/auth/me` once at
// start and after anything that changes it, the chosen workspace (kept in localStorage, only
// ever one of the person's memberships) and its state from `GET /api/workspace`, which answers
// in every approval state so the console can say why something is closed.
import { createContext } from 'preact'
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks'
import type { ComponentChildren } from 'preact'
import { api, call, useWorkspaceHeader } from './api/client.js'
import type { paths } from './api/schema.js'

type Me = paths['/api/auth/me']['get']['responses'][200]['content']['application/json']
export type User = Me['user']
export type Membership = Me['memberships'][number]
export type Workspace = paths['/api/workspace']['get']['responses'][200]['content']['application/json']['workspace']

const STORAGE_KEY = 'gatehouse.workspace'

export interface Session {
  /** undefined while loading; null when nobody is signed in. */
  user: User | null | undefined
  memberships: Membership[]
  workspaceId: string | null
  workspace: Workspace | null
  /** Reloads /me (after sign-in, sign-out, verification, joining or creating a workspace). */
  refresh: () => Promise<void>
  /** Reloads the current workspace's state (after an admin action, a 402, a 403 on its state). */
  refreshWorkspace: () => Promise<void>
  chooseWorkspace: (id: string | null) => void
  /** Whether writes are open in the current workspace, and if not, why (shown beside write buttons). */
  writable: { ok: true } | { ok: false; reason: string }
}

const SessionContext = createContext<Session | null>(null)

export function useSession(): Session {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside SessionProvider')
  return session
}

function stored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

export function SessionProvider(props: { children: ComponentChildren }) {
  const [user, setUser] = useState<User | null | undefined>(undefined)
  const [memberships, setMemberships] = useState<Membership[]>([])
  const [chosen, setChosen] = useState<string | null>(stored())
  const [workspace, setWorkspace] = useState<Workspace | null>(null)

  const refresh = useCallback(async () => {
    try {
      const me = await call(api.GET('/api/auth/me'))
      setUser(me.user)
      setMemberships(me.memberships)
    } catch {
      setUser(null)
      setMemberships([])
    }
  }, [])

  // The workspace in use: the chosen one if the person is still a member, else their first.
  const workspaceId = useMemo(() => {
    if (!user) return null
    if (chosen && memberships.some((m) => m.workspaceId === chosen)) return chosen
    return memberships[0]?.workspaceId ?? null
  }, [user, memberships, chosen])
  useWorkspaceHeader(workspaceId)

  const refreshWorkspace = useCallback(async () => {
    if (!workspaceId) return setWorkspace(null)
    try {
      setWorkspace((await call(api.GET('/api/workspace'))).workspace)
    } catch {
      setWorkspace(null)
    }
  }, [workspaceId])

  useEffect(() => void refresh(), [refresh])
  useEffect(() => void refreshWorkspace(), [refreshWorkspace])

  const chooseWorkspace = useCallback((id: string | null) => {
    try {
      if (id) localStorage.setItem(STORAGE_KEY, id)
      else localStorage.removeItem(STORAGE_KEY)
    } catch {
      // Private browsing without storage: the choice lasts until the page reloads.
    }
    setChosen(id)
  }, [])

  const writable = useMemo<Session['writable']>(() => {
    if (!user?.emailVerified) return { ok: false, reason: 'Verify your email address to make changes.' }
    if (!workspace) return { ok: false, reason: 'Choose a workspace first.' }
    if (workspace.status !== 'active') return { ok: false, reason: stateMessage(workspace.status) }
    if (workspace.trial.expired) {
      return { ok: false, reason: 'The trial has ended: changes are paused until the workspace subscribes (everything stays readable).' }
    }
    return { ok: true }
  }, [user, workspace])

  const value: Session = { user, memberships, workspaceId, workspace, refresh, refreshWorkspace, chooseWorkspace, writable }
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>
}

export function stateMessage(status: string): string {
  switch (status) {
    case 'pending_approval':
      return 'This workspace is waiting for approval by the Gatehouse team; changes open once it is approved.'
    case 'rejected':
      return 'This workspace was not approved.'
    case 'suspended':
      return 'This workspace is suspended.'
    default:
      return 'Changes are closed in this workspace.'
  }
}
