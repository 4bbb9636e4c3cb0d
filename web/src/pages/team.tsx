// Team: the workspace's members (role, department, contacts visibility, removal), invitations,
// roles (built-in and custom, with the permission catalogue) and the department tree. The
// service refuses anything that would grant what the caller does not hold, or leave the
// workspace without an owner; those refusals are shown as sentences where they happen. A
// section the caller may not read says why, and the rest of the screen still works.
//
// One inline form or confirmation is open at a time on the whole screen (`open`), so the
// buttons they show ("Cancel", "Keep", "Yes, remove"…) are never there twice.
import { Fragment } from 'preact'
import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { api, call } from '../api/client.js'
import { ApiFailure } from '../api/errors.js'
import type { paths } from '../api/schema.js'
import { useSession } from '../session.js'
import { Alert, Button, Field, Page, Select, WriteButton, formatTime, useAction, useLoad } from '../ui.js'
import * as v from '../validate.js'

type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer T } } } } ? T : never
type Member = Ok<'/api/workspace/members', 'get'>['members'][number]
type Invite = Ok<'/api/workspace/invites', 'get'>['invites'][number]
type Role = Ok<'/api/workspace/roles', 'get'>['roles'][number]
type Department = Ok<'/api/workspace/departments', 'get'>['departments'][number]
type Catalogue = Ok<'/api/workspace/permissions', 'get'>
type Permission = Catalogue['permissions'][number]
type MemberChange = paths['/api/workspace/members/{userId}']['patch']['requestBody']['content']['application/json']
type RoleChange = paths['/api/workspace/roles/{id}']['patch']['requestBody']['content']['application/json']
type Scope = Member['scopes']['contacts']
type Option = { value: string; label: string }

const BUILT_IN_ROLES = ['owner', 'admin', 'manager', 'agent'] as const
const BUILT_IN_LABELS: Record<string, string> = { owner: 'Owner', admin: 'Admin', manager: 'Manager', agent: 'Agent' }

const SCOPES: { value: Scope; label: string }[] = [
  { value: 'all', label: 'All contacts' },
  { value: 'department', label: "Their department's contacts" },
  { value: 'own', label: 'Only their own contacts' },
]

/** A list a section loads, remembering whether the caller's role may not read it (403 forbidden). */
function useList<T>(fn: () => Promise<T>) {
  const [forbidden, setForbidden] = useState(false)
  const load = useLoad(async () => {
    try {
      const value = await fn()
      setForbidden(false)
      return value
    } catch (err) {
      setForbidden(err instanceof ApiFailure && err.code === 'forbidden')
      throw err
    }
  }, [])
  return { ...load, forbidden }
}

/** Moves focus into a form or confirmation as it opens (its first control, or the one given). */
function useFocusOnOpen<E extends HTMLElement>(selector = 'input, select, button') {
  const box = useRef<E>(null)
  useEffect(() => {
    box.current?.querySelector<HTMLElement>(selector)?.focus()
  }, [])
  return box
}

/** Gives focus back to the button that opened a form, once it has closed. */
function refocus(id: string) {
  setTimeout(() => document.getElementById(id)?.focus(), 0)
}

/** What every section shares: role and department names, and the one open form or confirmation. */
interface TeamCtx {
  roleLabel: (id: string) => string
  roleOptions: Option[]
  departments: Department[]
  departmentsInOrder: Department[]
  open: string | null
  setOpen: (key: string | null) => void
}

/** The departments in tree order (each one followed by its sub-departments, by name), for the selects. */
function treeOrder(departments: Department[]): Department[] {
  const ids = new Set(departments.map((d) => d.id))
  const out: Department[] = []
  const seen = new Set<string>()
  const visit = (parentId: string | null) => {
    departments
      .filter((d) => !seen.has(d.id) && (parentId === null ? d.parentId === null || !ids.has(d.parentId) : d.parentId === parentId))
      .sort((a, b) => a.name.localeCompare(b.name))
      .forEach((d) => {
        seen.add(d.id)
        out.push(d)
        visit(d.id)
      })
  }
  visit(null)
  return out
}

function departmentOptions(team: TeamCtx): Option[] {
  return team.departmentsInOrder.map((d) => ({ value: d.id, label: d.name }))
}

function Section(props: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section aria-labelledby={props.id} class="card">
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
    </section>
  )
}

/** The small inline "are you sure": the destructive button, and "Keep" (focused first). */
function Confirm(props: { question: string; yes: string; busy: boolean; onYes: () => void; onNo: () => void }) {
  const box = useFocusOnOpen<HTMLDivElement>('.btn-secondary')
  return (
    <div class="actions" role="group" aria-label={props.question} ref={box}>
      <span>{props.question}</span>
      <WriteButton kind="danger" busy={props.busy} onClick={props.onYes}>{props.yes}</WriteButton>
      <Button kind="secondary" onClick={props.onNo}>Keep</Button>
    </div>
  )
}

export function Team() {
  const { workspaceId } = useSession()
  if (!workspaceId) {
    return (
      <Page title="Team">
        <p>You are not in a workspace yet. <a href="/workspaces/new">Create a workspace</a>.</p>
      </Page>
    )
  }
  // A new workspace chosen in the switcher starts the screen afresh.
  return <TeamScreen key={workspaceId} />
}

function TeamScreen() {
  const roles = useList(() => call(api.GET('/api/workspace/roles')))
  const departments = useList(() => call(api.GET('/api/workspace/departments')))
  const catalogue = useList(() => call(api.GET('/api/workspace/permissions')))
  const [open, setOpen] = useState<string | null>(null)

  const custom = (roles.data?.roles ?? []).filter((r) => !r.builtIn)
  const names = new Map(custom.map((r) => [r.id, r.name]))
  const deptList = departments.data?.departments ?? []
  const team: TeamCtx = {
    roleLabel: (id) => BUILT_IN_LABELS[id] ?? names.get(id) ?? 'Custom role',
    roleOptions: [
      ...BUILT_IN_ROLES.map((r) => ({ value: r, label: BUILT_IN_LABELS[r]! })),
      ...custom.map((r) => ({ value: r.id, label: r.name })),
    ],
    departments: deptList,
    departmentsInOrder: treeOrder(deptList),
    open,
    setOpen,
  }
  return (
    <Page title="Team">
      <Members team={team} />
      <Invitations team={team} />
      <Roles team={team} roles={roles} catalogue={catalogue} />
      <Departments team={team} list={departments} />
    </Page>
  )
}

// ---- Members ----

function Members(props: { team: TeamCtx }) {
  const { team } = props
  const session = useSession()
  const { route } = useLocation()
  const list = useList(() => call(api.GET('/api/workspace/members')))
  const action = useAction()
  const [notice, setNotice] = useState<string | null>(null)

  const departmentName = (id: string | null) => (id ? team.departments.find((d) => d.id === id)?.name ?? 'Unknown department' : 'None')
  const scopeLabel = (s: Scope) => SCOPES.find((o) => o.value === s)?.label ?? s

  const openKey = (kind: 'edit' | 'remove', m: Member) => `member-${kind}:${m.userId}`
  const start = (kind: 'edit' | 'remove', m: Member) => {
    setNotice(null)
    action.setError(null)
    team.setOpen(openKey(kind, m))
  }
  const close = (m: Member, kind: 'edit' | 'remove') => {
    team.setOpen(null)
    refocus(`${kind}-member-${m.userId}`)
  }

  const remove = async (m: Member) => {
    const result = await action.run(() => call(api.DELETE('/api/workspace/members/{userId}', { params: { path: { userId: m.userId } } })))
    team.setOpen(null)
    if (!result.ok) return
    if (m.userId === session.user?.id) {
      // Leaving: this workspace is no longer theirs to see.
      await session.refresh()
      route('/')
      return
    }
    setNotice(`${m.name} was removed from the workspace.`)
    await list.reload()
  }

  const saved = async (before: Member, after: Member) => {
    team.setOpen(null)
    setNotice(`${after.name}'s membership was saved.`)
    refocus(`edit-member-${after.userId}`)
    // A change of one's own role changes what the console may offer.
    if (after.userId === session.user?.id && after.role !== before.role) await session.refresh()
    await list.reload()
  }

  const members = list.data?.members ?? []
  return (
    <Section id="members-heading" title="Members">
      {list.forbidden ? (
        <Alert kind="info">Your role does not allow seeing the workspace's members.</Alert>
      ) : (
        list.error && <Alert>{list.error}</Alert>
      )}
      {action.error && <Alert>{action.error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      {list.loading && !list.data && <p role="status">Loading members…</p>}
      {members.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Members of the workspace</caption>
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
              {members.map((m) => {
                const me = m.userId === session.user?.id
                return (
                  <Fragment key={m.userId}>
                    <tr>
                      <td>{m.name}</td>
                      <td>{m.email}</td>
                      <td>{team.roleLabel(m.role)}</td>
                      <td>{departmentName(m.departmentId)}</td>
                      <td>{scopeLabel(m.scopes.contacts)}</td>
                      <td>{m.mfaEnabled ? 'On' : 'Off'}</td>
                      <td>{formatTime(m.joinedAt)}</td>
                      <td>
                        {team.open === openKey('remove', m) ? (
                          <Confirm
                            question={me ? 'Leave this workspace? You will lose access to it.' : `Remove ${m.name} from the workspace?`}
                            yes="Yes, remove"
                            busy={action.busy}
                            onYes={() => void remove(m)}
                            onNo={() => close(m, 'remove')}
                          />
                        ) : (
                          <div class="actions">
                            <WriteButton id={`edit-member-${m.userId}`} kind="secondary" aria-label={`Edit ${m.name}`}
                              aria-expanded={team.open === openKey('edit', m) ? 'true' : 'false'} onClick={() => start('edit', m)}>Edit</WriteButton>
                            <WriteButton id={`remove-member-${m.userId}`} kind="danger" aria-label={`Remove ${m.name}`}
                              onClick={() => start('remove', m)}>Remove</WriteButton>
                          </div>
                        )}
                      </td>
                    </tr>
                    {team.open === openKey('edit', m) && (
                      <tr class="edit-row">
                        <td colSpan={8}>
                          <MemberForm member={m} team={team} onSaved={(after) => void saved(m, after)} onCancel={() => close(m, 'edit')} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  )
}

function MemberForm(props: { member: Member; team: TeamCtx; onSaved: (member: Member) => void; onCancel: () => void }) {
  const { member: m, team } = props
  const [role, setRole] = useState(m.role)
  const [department, setDepartment] = useState(m.departmentId ?? '')
  const [scope, setScope] = useState<Scope>(m.scopes.contacts)
  const action = useAction()
  const box = useFocusOnOpen<HTMLFormElement>('select')

  // The member's current role or department stays choosable even when its list could not be read.
  const roleOptions = team.roleOptions.some((o) => o.value === m.role) ? team.roleOptions : [...team.roleOptions, { value: m.role, label: team.roleLabel(m.role) }]
  const deptOptions = [{ value: '', label: 'None' }, ...departmentOptions(team)]
  if (m.departmentId && !deptOptions.some((o) => o.value === m.departmentId)) deptOptions.push({ value: m.departmentId, label: 'Unknown department' })

  const save = async (e: Event) => {
    e.preventDefault()
    const body: MemberChange = {}
    if (role !== m.role) body.role = role
    if (department !== (m.departmentId ?? '')) body.departmentId = department || null
    if (scope !== m.scopes.contacts) body.scopes = { contacts: scope }
    if (Object.keys(body).length === 0) {
      action.setError('Nothing was changed. Choose a new role, department or visibility, or cancel.')
      return
    }
    const result = await action.run(() => call(api.PATCH('/api/workspace/members/{userId}', { params: { path: { userId: m.userId } }, body })))
    if (result.ok) props.onSaved(result.value.member)
  }

  return (
    <form class="inline-form" ref={box} onSubmit={(e) => void save(e)} noValidate>
      {action.error && <Alert>{action.error}</Alert>}
      <div class="row">
        <Select label="Role" value={role} onValue={setRole} options={roleOptions} />
        <Select label="Department" value={department} onValue={setDepartment} options={deptOptions} />
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

function Invitations(props: { team: TeamCtx }) {
  const { team } = props
  const list = useList(() => call(api.GET('/api/workspace/invites')))
  const [email, setEmail] = useState('')
  const [role, setRole] = useState('agent')
  const [emailError, setEmailError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const send = useAction()
  const revoke = useAction()
  const [revoking, setRevoking] = useState<string | null>(null)

  const invite = async (e: Event) => {
    e.preventDefault()
    setNotice(null)
    revoke.setError(null)
    const problem = v.email(email)
    setEmailError(problem)
    if (problem) return
    const to = email.trim()
    const result = await send.run(() => call(api.POST('/api/workspace/invites', { body: { email: to, role } })))
    if (!result.ok) return
    setNotice(`Invitation sent to ${result.value.invite.email}.`)
    setEmail('')
    await list.reload()
  }

  const revokeInvite = async (i: Invite) => {
    setNotice(null)
    send.setError(null)
    setRevoking(i.id)
    const result = await revoke.run(() => call(api.DELETE('/api/workspace/invites/{id}', { params: { path: { id: i.id } } })))
    setRevoking(null)
    if (!result.ok) return
    setNotice(`The invitation to ${i.email} was revoked.`)
    await list.reload()
  }

  if (list.forbidden) {
    return (
      <Section id="invitations-heading" title="Invitations">
        <Alert kind="info">Your role does not allow seeing or sending invitations.</Alert>
      </Section>
    )
  }
  const invites = list.data?.invites ?? []
  return (
    <Section id="invitations-heading" title="Invitations">
      {list.error && <Alert>{list.error}</Alert>}
      {revoke.error && <Alert>{revoke.error}</Alert>}
      {list.loading && !list.data && <p role="status">Loading invitations…</p>}
      {list.data && invites.length === 0 && <p class="muted">No pending invitations.</p>}
      {invites.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Pending invitations</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {invites.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{team.roleLabel(i.role)}</td>
                  <td>{formatTime(i.expiresAt)}</td>
                  <td>
                    <WriteButton kind="secondary" busy={revoking === i.id} disabled={revoke.busy} aria-label={`Revoke the invitation to ${i.email}`} onClick={() => void revokeInvite(i)}>Revoke</WriteButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Invite someone</h3>
      <form onSubmit={(e) => void invite(e)} noValidate>
        {send.error && <Alert>{send.error}</Alert>}
        {notice && <Alert kind="success">{notice}</Alert>}
        <div class="row">
          <Field label="Email" type="email" value={email} onValue={setEmail} error={emailError} autoComplete="off" maxLength={254} />
          <Select label="Role for the invitation" value={role} onValue={setRole} options={team.roleOptions} />
        </div>
        <WriteButton type="submit" busy={send.busy}>Send invitation</WriteButton>
      </form>
    </Section>
  )
}

// ---- Roles ----

type Loaded<T> = ReturnType<typeof useList<T>>

function Roles(props: { team: TeamCtx; roles: Loaded<{ roles: Role[] }>; catalogue: Loaded<Catalogue> }) {
  const { team, roles, catalogue } = props
  const action = useAction()
  const [notice, setNotice] = useState<string | null>(null)
  const [formKey, setFormKey] = useState(0)

  const custom = (roles.data?.roles ?? []).filter((r) => !r.builtIn)
  // The built-in roles from the catalogue (every member may read it), else from the role list.
  const builtIns = catalogue.data?.builtInRoles ?? (roles.data?.roles ?? []).filter((r) => r.builtIn).map((r) => ({ name: r.name, permissions: r.permissions }))
  const every = catalogue.data?.permissions.map((p) => p.name) ?? []
  const describe = (granted: string[]) => {
    if (granted.length === 0) return 'None'
    if (every.length > 0 && every.every((p) => granted.includes(p))) return 'Every permission'
    return [...granted].sort().join(', ')
  }
  const editingId = team.open?.startsWith('role-edit:') ? team.open.slice('role-edit:'.length) : null
  const editing = editingId ? custom.find((r) => r.id === editingId) ?? null : null

  const start = (key: string) => {
    setNotice(null)
    action.setError(null)
    team.setOpen(key)
  }
  const remove = async (r: Role) => {
    setNotice(null)
    const result = await action.run(() => call(api.DELETE('/api/workspace/roles/{id}', { params: { path: { id: r.id } } })))
    team.setOpen(null)
    if (!result.ok) return
    setNotice(`The role ${r.name} was deleted.`)
    await roles.reload()
  }
  const saved = async (role: Role, created: boolean) => {
    action.setError(null)
    setNotice(created ? `The role ${role.name} was created.` : `The role ${role.name} was saved.`)
    if (!created) {
      team.setOpen(null)
      refocus(`edit-role-${role.id}`)
    }
    setFormKey((k) => k + 1)
    await roles.reload()
  }
  const cancel = (r: Role) => {
    team.setOpen(null)
    refocus(`edit-role-${r.id}`)
  }

  return (
    <Section id="roles-heading" title="Roles">
      <p class="muted">Built-in roles cannot be changed. Custom roles hold the permissions you choose; nobody can grant a permission they do not hold themselves.</p>
      {roles.forbidden ? (
        <Alert kind="info">Your role does not allow seeing the workspace's custom roles.</Alert>
      ) : (
        roles.error && <Alert>{roles.error}</Alert>
      )}
      {catalogue.error && <Alert>{catalogue.error}</Alert>}
      {action.error && <Alert>{action.error}</Alert>}
      {notice && <Alert kind="success">{notice}</Alert>}
      {(roles.loading || catalogue.loading) && !roles.data && !catalogue.data && <p role="status">Loading roles…</p>}
      {(builtIns.length > 0 || custom.length > 0) && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Roles and their permissions</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Permissions</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {builtIns.map((r) => (
                <tr key={r.name}>
                  <td>{BUILT_IN_LABELS[r.name] ?? r.name}</td>
                  <td>{describe(r.permissions)}</td>
                  <td class="muted">Built in</td>
                </tr>
              ))}
              {custom.map((r) => (
                <tr key={r.id}>
                  <td>{r.name}</td>
                  <td>{describe(r.permissions)}</td>
                  <td>
                    {team.open === `role-delete:${r.id}` ? (
                      <Confirm question={`Delete the role ${r.name}?`} yes="Yes, delete" busy={action.busy}
                        onYes={() => void remove(r)} onNo={() => { team.setOpen(null); refocus(`delete-role-${r.id}`) }} />
                    ) : (
                      <div class="actions">
                        <WriteButton id={`edit-role-${r.id}`} kind="secondary" aria-label={`Edit the role ${r.name}`} onClick={() => start(`role-edit:${r.id}`)}>Edit</WriteButton>
                        <WriteButton id={`delete-role-${r.id}`} kind="danger" aria-label={`Delete the role ${r.name}`} onClick={() => start(`role-delete:${r.id}`)}>Delete</WriteButton>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {roles.data && custom.length === 0 && <p class="muted">No custom roles yet.</p>}
      {catalogue.data && !roles.forbidden && (
        <RoleForm
          key={editing ? `edit-${editing.id}` : `new-${formKey}`}
          role={editing}
          catalogue={catalogue.data.permissions}
          onSaved={(role, created) => void saved(role, created)}
          onCancel={editing ? () => cancel(editing) : undefined}
        />
      )}
    </Section>
  )
}

function RoleForm(props: { role: Role | null; catalogue: Permission[]; onSaved: (role: Role, created: boolean) => void; onCancel?: () => void }) {
  const { role } = props
  const [name, setName] = useState(role?.name ?? '')
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(role?.permissions ?? []))
  const [nameError, setNameError] = useState<string | null>(null)
  const action = useAction()
  const box = useRef<HTMLFormElement>(null)
  useEffect(() => {
    if (role) box.current?.querySelector('input')?.focus()
  }, [])

  const toggle = (p: string) => {
    const next = new Set(chosen)
    if (next.has(p)) next.delete(p)
    else next.add(p)
    setChosen(next)
  }

  const save = async (e: Event) => {
    e.preventDefault()
    const problem = v.name(name, 'The role name') ?? v.maxLength(name.trim(), 60, 'The role name')
      ?? (name.trim().toLowerCase() in BUILT_IN_LABELS ? 'That is the name of a built-in role; choose another.' : null)
    setNameError(problem)
    if (problem) return
    const permissions = props.catalogue.map((p) => p.name).filter((p) => chosen.has(p))
    if (!role) {
      const result = await action.run(() => call(api.POST('/api/workspace/roles', { body: { name: name.trim(), permissions } })))
      if (result.ok) props.onSaved(result.value.role, true)
      return
    }
    const body: RoleChange = {}
    if (name.trim() !== role.name) body.name = name.trim()
    const before = new Set(role.permissions)
    if (permissions.length !== before.size || permissions.some((p) => !before.has(p))) body.permissions = permissions
    if (Object.keys(body).length === 0) {
      action.setError('Nothing was changed. Rename the role or change its permissions, or cancel.')
      return
    }
    const result = await action.run(() => call(api.PATCH('/api/workspace/roles/{id}', { params: { path: { id: role.id } }, body })))
    if (result.ok) props.onSaved(result.value.role, false)
  }

  return (
    <form class="inline-form" ref={box} onSubmit={(e) => void save(e)} noValidate>
      <h3>{role ? `Edit the role ${role.name}` : 'Create a role'}</h3>
      {action.error && <Alert>{action.error}</Alert>}
      <Field label="Role name" value={name} onValue={setName} error={nameError} maxLength={60} autoComplete="off" />
      <fieldset>
        <legend>Permissions</legend>
        {props.catalogue.map((p) => {
          const id = `perm-${p.name.replace(/[^a-z0-9]+/gi, '-')}`
          return (
            <div key={p.name} class="check">
              <input type="checkbox" id={id} aria-describedby={`${id}-hint`} checked={chosen.has(p.name)} onChange={() => toggle(p.name)} />
              <div>
                <label for={id}>{p.name}</label>
                <p class="hint" id={`${id}-hint`}>{p.description}</p>
              </div>
            </div>
          )
        })}
      </fieldset>
      <div class="actions">
        <WriteButton type="submit" busy={action.busy}>{role ? 'Save role' : 'Create role'}</WriteButton>
        {props.onCancel && <Button kind="secondary" onClick={props.onCancel}>Cancel</Button>}
      </div>
    </form>
  )
}

// ---- Departments ----

function Departments(props: { team: TeamCtx; list: Loaded<{ departments: Department[] }> }) {
  const { team, list } = props
  const [name, setName] = useState('')
  const [parent, setParent] = useState('')
  const [nameError, setNameError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const add = useAction()
  const change = useAction()

  const start = (key: string) => {
    setNotice(null)
    change.setError(null)
    team.setOpen(key)
  }

  const create = async (e: Event) => {
    e.preventDefault()
    setNotice(null)
    const problem = v.name(name, 'The department name') ?? v.maxLength(name.trim(), 100, 'The department name')
    setNameError(problem)
    if (problem) return
    const result = await add.run(() => call(api.POST('/api/workspace/departments', { body: { name: name.trim(), parentId: parent || null } })))
    if (!result.ok) return
    setNotice(`The department ${result.value.department.name} was added.`)
    setName('')
    await list.reload()
  }

  const remove = async (d: Department) => {
    setNotice(null)
    const result = await change.run(() => call(api.DELETE('/api/workspace/departments/{id}', { params: { path: { id: d.id } } })))
    team.setOpen(null)
    if (!result.ok) return
    if (parent === d.id) setParent('')
    setNotice(`The department ${d.name} was deleted.`)
    await list.reload()
  }

  const renamed = async (d: Department) => {
    team.setOpen(null)
    setNotice(`The department was renamed to ${d.name}.`)
    refocus(`rename-dept-${d.id}`)
    await list.reload()
  }

  const all = team.departments
  const ids = new Set(all.map((d) => d.id))
  const branch = (parentId: string | null, seen: Set<string>): JSX.Element | null => {
    // Roots are the departments with no parent (or one this list does not hold).
    const children = all
      .filter((d) => (parentId === null ? d.parentId === null || !ids.has(d.parentId) : d.parentId === parentId) && !seen.has(d.id))
      .sort((a, b) => a.name.localeCompare(b.name))
    if (children.length === 0) return null
    const inner = new Set([...seen, ...children.map((d) => d.id)])
    return (
      <ul class="tree">
        {children.map((d) => (
          <li key={d.id}>
            {team.open === `dept-rename:${d.id}` ? (
              <RenameDepartment department={d} onRenamed={(after) => void renamed(after)}
                onCancel={() => { team.setOpen(null); refocus(`rename-dept-${d.id}`) }} />
            ) : (
              <div class="row">
                <span class="tree-name">{d.name}</span>
                {team.open === `dept-delete:${d.id}` ? (
                  <Confirm question={`Delete the department ${d.name}?`} yes="Yes, delete" busy={change.busy}
                    onYes={() => void remove(d)} onNo={() => { team.setOpen(null); refocus(`delete-dept-${d.id}`) }} />
                ) : (
                  <span class="actions inline">
                    <WriteButton id={`rename-dept-${d.id}`} kind="link" aria-label={`Rename the department ${d.name}`} onClick={() => start(`dept-rename:${d.id}`)}>Rename</WriteButton>
                    <WriteButton id={`delete-dept-${d.id}`} kind="link" aria-label={`Delete the department ${d.name}`} onClick={() => start(`dept-delete:${d.id}`)}>Delete</WriteButton>
                  </span>
                )}
              </div>
            )}
            {branch(d.id, inner)}
          </li>
        ))}
      </ul>
    )
  }

  return (
    <Section id="departments-heading" title="Departments">
      {list.forbidden ? (
        <Alert kind="info">Your role does not allow seeing the departments.</Alert>
      ) : (
        list.error && <Alert>{list.error}</Alert>
      )}
      {change.error && <Alert>{change.error}</Alert>}
      {list.loading && !list.data && <p role="status">Loading departments…</p>}
      {list.data && all.length === 0 && <p class="muted">No departments yet.</p>}
      {branch(null, new Set())}
      {!list.forbidden && (
        <form onSubmit={(e) => void create(e)} noValidate>
          <h3>Add a department</h3>
          {add.error && <Alert>{add.error}</Alert>}
          {notice && <Alert kind="success">{notice}</Alert>}
          <div class="row">
            <Field label="Department name" value={name} onValue={setName} error={nameError} maxLength={100} autoComplete="off" />
            <Select label="Parent department" value={parent} onValue={setParent} options={[{ value: '', label: 'None (top level)' }, ...departmentOptions(team)]} />
          </div>
          <WriteButton type="submit" busy={add.busy}>Add department</WriteButton>
        </form>
      )}
    </Section>
  )
}

function RenameDepartment(props: { department: Department; onRenamed: (d: Department) => void; onCancel: () => void }) {
  const d = props.department
  const [name, setName] = useState(d.name)
  const [error, setError] = useState<string | null>(null)
  const action = useAction()
  const box = useFocusOnOpen<HTMLFormElement>('input')
  const save = async (e: Event) => {
    e.preventDefault()
    const problem = v.name(name, 'The department name') ?? v.maxLength(name.trim(), 100, 'The department name')
    setError(problem)
    if (problem) return
    if (name.trim() === d.name) return props.onCancel()
    const result = await action.run(() => call(api.PATCH('/api/workspace/departments/{id}', { params: { path: { id: d.id } }, body: { name: name.trim() } })))
    if (result.ok) props.onRenamed(result.value.department)
  }
  return (
    <form class="inline-form" ref={box} onSubmit={(e) => void save(e)} noValidate>
      {action.error && <Alert>{action.error}</Alert>}
      <Field label={`New name for ${d.name}`} value={name} onValue={setName} error={error} maxLength={100} autoComplete="off" />
      <div class="actions">
        <WriteButton type="submit" busy={action.busy}>Save name</WriteButton>
        <Button kind="secondary" onClick={props.onCancel}>Cancel</Button>
      </div>
    </form>
  )
}
