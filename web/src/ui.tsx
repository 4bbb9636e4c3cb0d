// The console's small set of building blocks: labelled fields with their error tied to the
// input (aria-describedby, aria-invalid), alerts that screen readers announce, a button that
// shows it is busy, a write button that says why writes are closed, and the hook every form
// uses to run an API call and turn its failure into a sentence.
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact'
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { ApiFailure, messageFor } from './api/errors.js'
import { useSession } from './session.js'

/** The input attributes the console's forms use. */
interface InputProps {
  type?: 'text' | 'email' | 'password' | 'search' | 'tel' | 'datetime-local' | 'date'
  autoComplete?: string
  required?: boolean
  maxLength?: number
  inputMode?: 'numeric' | 'text' | 'email' | 'tel'
  autoFocus?: boolean
  placeholder?: string
  disabled?: boolean
  name?: string
}

let fieldCount = 0

export function Field(props: InputProps & {
  label: string
  value: string
  onValue: (value: string) => void
  error?: string | null
  hint?: string
}) {
  const { label, value, onValue, error, hint, ...input } = props
  const [id] = useState(() => `f${++fieldCount}`)
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      <input
        id={id}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described}
        // Preact 11 types each input type's attributes apart; these forms use only the ones all
        // types share. (The linter's type service disagrees with tsc on this assertion.)
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
        type={(input.type ?? 'text') as 'text'}
        autoComplete={input.autoComplete}
        required={input.required}
        maxLength={input.maxLength}
        inputMode={input.inputMode}
        autoFocus={input.autoFocus}
        placeholder={input.placeholder}
        disabled={input.disabled}
        name={input.name}
      />
      {error && <p class="field-error" id={`${id}-error`}>{error}</p>}
    </div>
  )
}

export function Select(props: {
  label: string
  value: string
  onValue: (value: string) => void
  options: { value: string; label: string }[]
  disabled?: boolean
}) {
  const [id] = useState(() => `f${++fieldCount}`)
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} disabled={props.disabled} onChange={(e) => props.onValue(e.currentTarget.value)}>
        {props.options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </div>
  )
}

export function Alert(props: { kind?: 'error' | 'info' | 'success' | 'warning'; children: ComponentChildren }) {
  const kind = props.kind ?? 'error'
  return (
    <div class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  )
}

export function Button(props: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; kind?: 'primary' | 'secondary' | 'danger' | 'link' }) {
  const { busy, kind = 'primary', children, disabled, ...rest } = props
  return (
    <button type="button" class={`btn btn-${kind}`} disabled={disabled || busy} aria-busy={busy ? 'true' : undefined} {...rest}>
      {busy ? 'Working…' : children}
    </button>
  )
}

let noteCount = 0

/** A button that changes data: disabled, with the reason beside it, when writes are closed. */
export function WriteButton(props: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; kind?: 'primary' | 'secondary' | 'danger' | 'link' }) {
  const { writable } = useSession()
  const [id] = useState(() => `w${++noteCount}`)
  if (writable.ok) return <Button {...props} />
  return (
    <span class="write-closed">
      <Button {...props} disabled aria-describedby={id} />
      <span class="hint" id={id}>{writable.reason}</span>
    </span>
  )
}

/** What `run` resolves to: the call's value, or that it failed (its sentence is in `error`). */
export type Outcome<T> = { ok: true; value: T } | { ok: false }

/**
 * Runs API calls for a form: `busy` while one runs, `error` the sentence for its failure and
 * `failure` the failure itself (its `code`), for a screen that says more for one case.
 */
export function useAction() {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [failure, setFailure] = useState<ApiFailure | null>(null)
  const alive = useRef(true)
  useEffect(() => () => void (alive.current = false), [])
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<Outcome<T>> => {
    setBusy(true)
    setError(null)
    setFailure(null)
    try {
      return { ok: true, value: await fn() }
    } catch (err) {
      if (alive.current) {
        setError(messageFor(err))
        setFailure(err instanceof ApiFailure ? err : null)
      }
      return { ok: false }
    } finally {
      if (alive.current) setBusy(false)
    }
  }, [])
  return { busy, error, failure, setError, run }
}

/** Loads data for a screen; `reload` fetches again. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [loading, setLoading] = useState(true)
  const load = useCallback(async () => {
    setLoading(true)
    setError(null)
    try {
      setData(await fn())
    } catch (err) {
      setError(messageFor(err))
    } finally {
      setLoading(false)
    }
  }, deps)
  useEffect(() => void load(), [load])
  return { data, error, loading, reload: load, setData }
}

/** Sets the document title and moves focus to the screen's heading, so a screen reader hears the new screen. */
export function Page(props: { title: string; children: ComponentChildren; narrow?: boolean }) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    document.title = `${props.title} · Gatehouse`
    heading.current?.focus()
  }, [props.title])
  return (
    <section class={props.narrow ? 'page narrow' : 'page'}>
      <h1 tabIndex={-1} ref={heading}>{props.title}</h1>
      {props.children}
    </section>
  )
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}
