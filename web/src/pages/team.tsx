// Team: the workspace's members (role, department, contacts visibility, removal), invitations,
// roles (built-in and custom, with the permission catalogue) and the department tree. The
// service refuses anything that would grant what the caller does not hold, or leave the
// workspace without an owner; those refusals are shown as sentences where they happen. A
// section the caller may not read shows why, and the rest of the screen still works.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import type { ComponentChildren, JSX } from 'preact'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import type { paths } from '../api/schema.js'
import { ApiFailure, messageFor } from '../api/errors.js'
import { useSession } from '../session.js'
import { Alert, Button, Field, Page, Select, WriteButton, formatTime, useAction } from '../ui.js'
import * as v from '../validate.js'

type Json<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer T } } } } ? T : never
type Member = Json<'/api/workspace/members', 'get'>['members'][number]
type Role = Json<'/api/workspace/roles', 'get'>['roles'][number]
type Department = Json<'/api/workspace/departments', 'get'>['departments'][number]
type Catalogue = Json<'/api/workspace/permissions', 'get'>
type Scope = 'all' | 'department' | 'own'

const BUILT_IN_ROLES = ['owner', 'admin', 'manager', 'agent'] as const

const SCOPES: { value: Scope; label: string }[] = [
  { value: 'all', label: 'All contacts' },
  { value: 'department', label: 'Their department' },
  { value: 'own', label: 'Only their own' },
]

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** A role as people read it: a built-in's name capitalised, a custom role's name (never its id). */
function roleName(roles: Role[], id: string): string {
  if ((BUILT_IN_ROLES as readonly string[]).includes(id)) return capitalise(id)
  return roles.find((r) => r.id === id)?.name ?? 'A role that no longer exists'
}

/** The roles to choose from: the built-ins, then the workspace's custom roles. */
function roleOptions(roles: Role[]): { value: string; label: string }[] {
  const custom = roles.filter((r) => !r.builtIn)
  return [
    ...BUILT_IN_ROLES.map((name) => ({ value: name, label: capitalise(name) })),
    ...custom.map((r) => ({ value: r.id, label: r.name })),
  ]
}

/** Loads a section's data; a refusal (403) becomes the section's own sentence. */
function useSection<T>(fn: () => Promise<T>, forbidden: string) {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [loading, setLoading] = useState(true)
  const loader = useRef(fn)
  loader.current = fn
  const alive = useRef(true)
  useEffect(() => () => void (alive.current = false), [])
  const reload = useCallback(async () => {
    setLoading(true)
    setError(null)
    try {
      const value = await loader.current()
      if (alive.current) setData(value)
    } catch (err) {
      if (alive.current) setError(err instanceof ApiFailure && err.code === 'forbidden' ? forbidden : messageFor(err))
    } finally {
      if (alive.current) setLoading(false)
    }
  }, [forbidden])
  useEffect(() => void reload(), [reload])
  return { data, error, loading, reload }
}

function Section(props: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section aria-labelledby={props.id} class="card">
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
    </section>
  )
}

function Loading() {
  return <p class="muted" role="status">Loading…</p>
}

export function Team() {
  const roles = useSection(() => call(api.GET('/api/workspace/roles')), 'Your role does not allow seeing the roles of this workspace.')
  const departments = useSection(() => call(api.GET('/api/workspace/departments')), 'Your role does not allow seeing the departments of this workspace.')
  const roleList = roles.data?.roles ?? []
  const deptList = departments.data?.departments ?? []
  return (
    <Page title="Team">
      <Members roles={roleList} departments={deptList} />
      <Invitations roles={roleList} />
      <Roles roles={roleList} loading={roles.loading} error={roles.error} reload={roles.reload} />
      <Departments departments={deptList} loading={departments.loading} error={departments.error} reload={departments.reload} />
    </Page>
  )
}

// ---- Members ----

function Members(props: { roles: Role[]; departments: Department[] }) {
  const session = useSession()
  const { route } = useLocation()
  const list = useSection(() => call(api.GET('/api/workspace/members')), 'Your role does not allow seeing the members of this workspace.')
  const [editing, setEditing] = useState<string | null>(null)
  const [removing, setRemoving] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const action = useAction()
  const deptName = (id: string | null) => (id ? props.departments.find((d) => d.id === id)?.name ?? '—' : 'None')

  const remove = async (m: Member) => {
    setNotice(null)
    const result = await action.run(() => call(api.DELETE('/api/workspace/members/{userId}', { params: { path: { userId: m.userId } } })))
    setRemoving(null)
    if (!result.ok) return
    if (m.userId === session.user?.id) {
      // Leaving the workspace: it is no longer one of this person's.
      await session.refresh()
      route('/')
      return
    }
    setNotice(`${m.name} was removed from the workspace.`)
    await list.reload()
  }

  const saved = async (m: Member) => {
    setEditing(null)
    setNotice(`${m.name}'s membership was saved.`)
    if (m.userId === session.user?.id) await session.refresh()
    await list.reload()
  }

  return (
    <Section id="members" title="Members">
      {list.error && <Alert>{list.error}</Alert>}
      {action.error && <Alert>{action.error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Department</th>
                <th scope="col">Contacts visibility</th>
                <th scope="col">Two-factor</th>
                <th scope="col">Joined</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.data.members.map((m) => [
                <tr key={m.userId}>
                  <td>{m.name}{m.userId === session.user?.id && <span class="muted"> (you)</span>}</td>
                  <td>{m.email}</td>
                  <td>{roleName(props.roles, m.role)}</td>
                  <td>{deptName(m.departmentId)}</td>
                  <td>{SCOPES.find((s) => s.value === m.scopes.contacts)?.label ?? m.scopes.contacts}</td>
                  <td>{m.mfaEnabled ? 'On' : 'Off'}</td>
                  <td>{formatTime(m.joinedAt)}</td>
                  <td>
                    {removing === m.userId ? (
                      <div class="actions">
                        <span>{m.userId === session.user?.id ? 'Leave this workspace?' : `Remove ${m.name} from the workspace?`}</span>
                        <WriteButton kind="danger" busy={action.busy} onClick={() => void remove(m)}>Yes, remove</WriteButton>
                        <Button kind="secondary" onClick={() => setRemoving(null)}>Keep</Button>
                      </div>
                    ) : (
                      <div class="actions">
                        <WriteButton kind="secondary" aria-label={`Edit ${m.name}`} aria-expanded={editing === m.userId ? 'true' : 'false'}
                          onClick={() => { setNotice(null); setEditing(editing === m.userId ? null : m.userId) }}>Edit</WriteButton>
                        <WriteButton kind="danger" aria-label={`Remove ${m.name}`} onClick={() => { setNotice(null); setRemoving(m.userId) }}>Remove</WriteButton>
                      </div>
                    )}
                  </td>
                </tr>,
                editing === m.userId && (
                  <tr key={`${m.userId}-edit`}>
                    <td colSpan={8}>
                      <MemberForm member={m} roles={props.roles} departments={props.departments}
                        onSaved={() => void saved(m)} onCancel={() => setEditing(null)} />
                    </td>
                  </tr>
                ),
              ])}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  )
}

function MemberForm(props: { member: Member; roles: Role[]; departments: Department[]; onSaved: () => void; onCancel: () => void }) {
  const m = props.member
  const [role, setRole] = useState(m.role)
  const [department, setDepartment] = useState(m.departmentId ?? '')
  const [scope, setScope] = useState<Scope>(m.scopes.contacts)
  const action = useAction()
  const options = roleOptions(props.roles)
  // A custom role the list no longer holds still shows as the current choice.
  if (!options.some((o) => o.value === m.role)) options.push({ value: m.role, label: roleName(props.roles, m.role) })

  const save = async (e: Event) => {
    e.preventDefault()
    const body: { role?: string; departmentId?: string | null; scopes?: { contacts: Scope } } = {}
    if (role !== m.role) body.role = role
    if (department !== (m.departmentId ?? '')) body.departmentId = department || null
    if (scope !== m.scopes.contacts) body.scopes = { contacts: scope }
    if (Object.keys(body).length === 0) return props.onCancel()
    const result = await action.run(() => call(api.PATCH('/api/workspace/members/{userId}', { params: { path: { userId: m.userId } }, body })))
    if (result.ok) props.onSaved()
  }

  return (
    <form class="inline-form" aria-label={`Edit ${m.name}'s membership`} onSubmit={(e) => void save(e)}>
      {action.error && <Alert>{action.error}</Alert>}
      <div class="row">
        <Select label="Role" value={role} onValue={setRole} options={options} />
        <Select label="Department" value={department} onValue={setDepartment}
          options={[{ value: '', label: 'None' }, ...props.departments.map((d) => ({ value: d.id, label: d.name }))]} />
        <Select label="Contacts visibility" value={scope} onValue={(s) => setScope(s as Scope)} options={SCOPES} />
      </div>
      <div class="actions">
        <WriteButton type="submit" busy={action.busy}>Save member</WriteButton>
        <Button kind="secondary" onClick={props.onCancel}>Cancel</Button>
      </div>
    </form>
  )
}

// ---- Invitations ----

function Invitations(props: { roles: Role[] }) {
  const list = useSection(() => call(api.GET('/api/workspace/invites')), 'Your role does not allow seeing or sending invitations.')
  const [email, setEmail] = useState('')
  const [role, setRole] = useState('agent')
  const [error, setError] = useState<string | null>(null)
  const [sent, setSent] = useState<string | null>(null)
  const [revoked, setRevoked] = useState<string | null>(null)
  const action = useAction()

  const send = async (e: Event) => {
    e.preventDefault()
    const problem = v.email(email)
    setError(problem)
    setSent(null)
    setRevoked(null)
    if (problem) return
    const to = email.trim()
    const result = await action.run(() => call(api.POST('/api/workspace/invites', { body: { email: to, role } })))
    if (!result.ok) return
    setSent(result.value.invite.email || to)
    setEmail('')
    await list.reload()
  }
  const revoke = async (id: string, to: string) => {
    setSent(null)
    setRevoked(null)
    const result = await action.run(() => call(api.DELETE('/api/workspace/invites/{id}', { params: { path: { id } } })))
    if (!result.ok) return
    setRevoked(to)
    await list.reload()
  }

  return (
    <Section id="invitations" title="Invitations">
      {list.error && <Alert>{list.error}</Alert>}
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.invites.length === 0 && <p class="muted">No pending invitations.</p>}
      {list.data && list.data.invites.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Pending invitations</caption>
            <thead>
              <tr>
                <th scope="col">Invited address</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.data.invites.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{roleName(props.roles, i.role)}</td>
                  <td>{formatTime(i.expiresAt)}</td>
                  <td>
                    <WriteButton kind="secondary" aria-label={`Revoke the invitation to ${i.email}`} onClick={() => void revoke(i.id, i.email)}>Revoke</WriteButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoked && <Alert kind="success">The invitation to {revoked} was revoked.</Alert>}
      <h3>Invite someone</h3>
      <form onSubmit={(e) => void send(e)} noValidate>
        {action.error && <Alert>{action.error}</Alert>}
        {sent && <Alert kind="success">Invitation sent to {sent}.</Alert>}
        <div class="row">
          <Field label="Email" type="email" value={email} onValue={setEmail} error={error} autoComplete="off" maxLength={254} />
          <Select label="Role for the invitation" value={role} onValue={setRole} options={roleOptions(props.roles)} />
        </div>
        <WriteButton type="submit" busy={action.busy}>Send invitation</WriteButton>
      </form>
    </Section>
  )
}

// ---- Roles ----

function Roles(props: { roles: Role[]; loading: boolean; error: string | null; reload: () => Promise<void> }) {
  const catalogue = useSection<Catalogue>(() => call(api.GET('/api/workspace/permissions')), 'Your role does not allow seeing the permission catalogue.')
  const [editing, setEditing] = useState<Role | null>(null)
  const [deleting, setDeleting] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const action = useAction()
  const permissions = catalogue.data?.permissions ?? []
  const builtIns = catalogue.data?.builtInRoles ?? props.roles.filter((r) => r.builtIn).map((r) => ({ name: r.name, permissions: r.permissions }))
  const custom = props.roles.filter((r) => !r.builtIn)

  const describe = (granted: string[]) => {
    if (!granted.length) return 'No permissions.'
    if (permissions.length && permissions.every((p) => granted.includes(p.name))) return 'Every permission.'
    return [...granted].sort().join(', ')
  }
  const remove = async (r: Role) => {
    setNotice(null)
    const result = await action.run(() => call(api.DELETE('/api/workspace/roles/{id}', { params: { path: { id: r.id } } })))
    setDeleting(null)
    if (!result.ok) return
    if (editing?.id === r.id) setEditing(null)
    setNotice(`The role ${r.name} was deleted.`)
    await props.reload()
  }
  const saved = async (name: string, created: boolean) => {
    setEditing(null)
    setNotice(created ? `The role ${name} was created.` : `The role ${name} was saved.`)
    await props.reload()
  }

  return (
    <Section id="roles" title="Roles">
      {catalogue.error && <Alert>{catalogue.error}</Alert>}
      {action.error && <Alert>{action.error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      <h3>Built-in roles</h3>
      {catalogue.loading && !catalogue.data && <Loading />}
      <ul>
        {builtIns.map((r) => (
          <li key={r.name}>
            <strong>{capitalise(r.name)}</strong>: <span class="muted">{describe(r.permissions)}</span>
          </li>
        ))}
      </ul>
      <h3>Custom roles</h3>
      {props.error && <Alert>{props.error}</Alert>}
      {props.loading && !props.roles.length && <Loading />}
      {!props.error && !props.loading && custom.length === 0 && <p class="muted">No custom roles yet.</p>}
      {custom.length > 0 && (
        <ul>
          {custom.map((r) => (
            <li key={r.id}>
              <strong>{r.name}</strong>: <span class="muted">{describe(r.permissions)}</span>
              {deleting === r.id ? (
                <div class="actions">
                  <span>Delete the role {r.name}?</span>
                  <WriteButton kind="danger" busy={action.busy} onClick={() => void remove(r)}>Yes, delete</WriteButton>
                  <Button kind="secondary" onClick={() => setDeleting(null)}>Keep</Button>
                </div>
              ) : (
                <div class="actions">
                  <WriteButton kind="link" aria-label={`Edit the role ${r.name}`} onClick={() => { setNotice(null); setEditing(r) }}>Edit</WriteButton>
                  <WriteButton kind="link" aria-label={`Delete the role ${r.name}`} onClick={() => { setNotice(null); setDeleting(r.id) }}>Delete</WriteButton>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {!props.error && (
        <RoleForm key={editing?.id ?? 'new'} role={editing} catalogue={permissions}
          onSaved={(name, created) => void saved(name, created)} onCancel={() => setEditing(null)} />
      )}
    </Section>
  )
}

function RoleForm(props: { role: Role | null; catalogue: { name: string; description: string }[]; onSaved: (name: string, created: boolean) => void; onCancel: () => void }) {
  const [name, setName] = useState(props.role?.name ?? '')
  const [chosen, setChosen] = useState<string[]>(props.role?.permissions ?? [])
  const [error, setError] = useState<string | null>(null)
  const action = useAction()
  const toggle = (p: string) => setChosen(chosen.includes(p) ? chosen.filter((c) => c !== p) : [...chosen, p])

  const save = async (e: Event) => {
    e.preventDefault()
    const problem = v.name(name, 'The role name') ?? (name.trim().length > 60 ? 'The role name must be at most 60 characters.' : null)
      ?? ((BUILT_IN_ROLES as readonly string[]).includes(name.trim().toLowerCase()) ? 'That is the name of a built-in role; choose another.' : null)
    setError(problem)
    if (problem) return
    const body = { name: name.trim(), permissions: [...chosen].sort() }
    const role = props.role
    const result = await action.run(() => role
      ? call(api.PATCH('/api/workspace/roles/{id}', { params: { path: { id: role.id } }, body }))
      : call(api.POST('/api/workspace/roles', { body })))
    if (!result.ok) return
    if (!role) {
      setName('')
      setChosen([])
    }
    props.onSaved(result.value.role.name, !role)
  }

  return (
    <form class="inline-form" onSubmit={(e) => void save(e)} noValidate>
      <h3>{props.role ? `Edit the role ${props.role.name}` : 'Create a role'}</h3>
      {action.error && <Alert>{action.error}</Alert>}
      <Field label="Role name" value={name} onValue={setName} error={error} maxLength={60} />
      <fieldset>
        <legend>Permissions</legend>
        {props.catalogue.length === 0 && <p class="muted">The list of permissions is not available.</p>}
        {props.catalogue.map((p) => {
          const id = `perm-${p.name.replace(/[^A-Za-z0-9_-]/g, '-')}`
          return (
            <div key={p.name} class="check">
              <input type="checkbox" id={id} checked={chosen.includes(p.name)} onChange={() => toggle(p.name)} aria-describedby={`${id}-about`} />
              <label for={id}>{p.name}</label>
              <span class="muted" id={`${id}-about`}>{p.description}</span>
            </div>
          )
        })}
      </fieldset>
      <div class="actions">
        <WriteButton type="submit" busy={action.busy}>{props.role ? 'Save role' : 'Create role'}</WriteButton>
        {props.role && <Button kind="secondary" onClick={props.onCancel}>Cancel</Button>}
      </div>
    </form>
  )
}

// ---- Departments ----

const DEPARTMENT_NAME = 'The department name'

function departmentProblem(name: string): string | null {
  return v.name(name, DEPARTMENT_NAME) ?? (name.trim().length > 100 ? `${DEPARTMENT_NAME} must be at most 100 characters.` : null)
}

function Departments(props: { departments: Department[]; loading: boolean; error: string | null; reload: () => Promise<void> }) {
  const [name, setName] = useState('')
  const [parent, setParent] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [renaming, setRenaming] = useState<string | null>(null)
  const [deleting, setDeleting] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const action = useAction()
  const all = props.departments
  const ids = new Set(all.map((d) => d.id))

  const add = async (e: Event) => {
    e.preventDefault()
    const problem = departmentProblem(name)
    setError(problem)
    setNotice(null)
    if (problem) return
    const result = await action.run(() => call(api.POST('/api/workspace/departments', { body: { name: name.trim(), parentId: parent || null } })))
    if (!result.ok) return
    setName('')
    setNotice(`The department ${result.value.department.name} was added.`)
    await props.reload()
  }
  const remove = async (d: Department) => {
    setNotice(null)
    const result = await action.run(() => call(api.DELETE('/api/workspace/departments/{id}', { params: { path: { id: d.id } } })))
    setDeleting(null)
    if (!result.ok) return
    if (parent === d.id) setParent('')
    setNotice(`The department ${d.name} was deleted.`)
    await props.reload()
  }

  // Departments whose parent is unknown show at the top level; `seen` stops a malformed loop.
  const tree = (parentId: string | null, seen: Set<string>): JSX.Element | null => {
    const children = all.filter((d) => !seen.has(d.id) && (parentId === null ? d.parentId === null || !ids.has(d.parentId) : d.parentId === parentId))
    if (!children.length) return null
    const next = new Set([...seen, ...children.map((d) => d.id)])
    return (
      <ul class="tree">
        {children.map((d) => (
          <li key={d.id}>
            <span class="tree-name">{d.name}</span>{' '}
            {renaming === d.id ? (
              <RenameDepartment department={d}
                onSaved={(newName) => { setRenaming(null); setNotice(`The department was renamed ${newName}.`); void props.reload() }}
                onCancel={() => setRenaming(null)} />
            ) : deleting === d.id ? (
              <div class="actions">
                <span>Delete the department {d.name}?</span>
                <WriteButton kind="danger" busy={action.busy} onClick={() => void remove(d)}>Yes, delete</WriteButton>
                <Button kind="secondary" onClick={() => setDeleting(null)}>Keep</Button>
              </div>
            ) : (
              <span class="actions inline">
                <WriteButton kind="link" aria-label={`Rename the department ${d.name}`} onClick={() => { setNotice(null); setDeleting(null); setRenaming(d.id) }}>Rename</WriteButton>
                <WriteButton kind="link" aria-label={`Delete the department ${d.name}`} onClick={() => { setNotice(null); setRenaming(null); setDeleting(d.id) }}>Delete</WriteButton>
              </span>
            )}
            {tree(d.id, next)}
          </li>
        ))}
      </ul>
    )
  }

  return (
    <Section id="departments" title="Departments">
      {props.error && <Alert>{props.error}</Alert>}
      {action.error && <Alert>{action.error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      {props.loading && !all.length && <Loading />}
      {!props.loading && !props.error && all.length === 0 && <p class="muted">No departments yet.</p>}
      {tree(null, new Set())}
      {!props.error && (
        <form onSubmit={(e) => void add(e)} noValidate>
          <h3>Add a department</h3>
          <div class="row">
            <Field label="Department name" value={name} onValue={setName} error={error} maxLength={100} />
            <Select label="Parent department" value={parent} onValue={setParent}
              options={[{ value: '', label: 'None' }, ...all.map((d) => ({ value: d.id, label: d.name }))]} />
          </div>
          <WriteButton type="submit" busy={action.busy}>Add department</WriteButton>
        </form>
      )}
    </Section>
  )
}

function RenameDepartment(props: { department: Department; onSaved: (name: string) => void; onCancel: () => void }) {
  const [name, setName] = useState(props.department.name)
  const [error, setError] = useState<string | null>(null)
  const action = useAction()
  const save = async (e: Event) => {
    e.preventDefault()
    const problem = departmentProblem(name)
    setError(problem)
    if (problem) return
    if (name.trim() === props.department.name) return props.onCancel()
    const result = await action.run(() => call(api.PATCH('/api/workspace/departments/{id}', { params: { path: { id: props.department.id } }, body: { name: name.trim() } })))
    if (result.ok) props.onSaved(result.value.department.name)
  }
  return (
    <form class="inline-form" onSubmit={(e) => void save(e)} noValidate>
      {action.error && <Alert>{action.error}</Alert>}
      <Field label={`New name for ${props.department.name}`} value={name} onValue={setName} error={error} maxLength={100} autoFocus />
      <div class="actions">
        <WriteButton type="submit" busy={action.busy}>Save name</WriteButton>
        <Button kind="secondary" onClick={props.onCancel}>Cancel</Button>
      </div>
    </form>
  )
}
