// The API's input rules, checked before sending so a form says what is wrong at once (the
// service checks again; these only save a round trip). Each returns an error sentence or null.
// The API's rule for names: no control character (a line break in an email subject, an escape in a log).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

export function email(value: string): string | null {
  const v = value.trim()
  if (!v) return 'Enter an email address.'
  if (v.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return 'Enter an email address like name@example.com.'
  return null
}

/** A new password: 10 to 256 characters (the service also refuses common and guessable ones). */
export function newPassword(value: string): string | null {
  if (value.length < 10) return 'Use at least 10 characters; a few words make a strong, memorable password.'
  if (value.length > 256) return 'Use at most 256 characters.'
  return null
}

export function required(value: string, what = 'This'): string | null {
  return value.trim() ? null : `${what} is required.`
}

/** A person's, workspace's or contact's name: 1 to 200 characters, not blank, no control characters. */
export function name(value: string, what = 'Name'): string | null {
  if (!value.trim()) return `${what} is required.`
  if (value.length > 200) return `${what} must be at most 200 characters.`
  if (CONTROL.test(value)) return `${what} cannot contain line breaks or control characters.`
  return null
}

export function maxLength(value: string, max: number, what = 'This'): string | null {
  return value.length > max ? `${what} must be at most ${max} characters.` : null
}

/** A phone number as the API takes it: 3 to 40 of digits, spaces, + ( ) . / - */
export function phone(value: string): string | null {
  const v = value.trim()
  if (!v) return null
  return /^[+0-9 ()./-]{3,40}$/.test(v) ? null : 'Enter a phone number of digits, spaces and + ( ) . / - (3 to 40 characters).'
}

/** A six-digit authenticator code. */
export function totp(value: string): string | null {
  return /^\d{6}$/.test(value.replace(/\s/g, '')) ? null : 'Enter the 6-digit code from your authenticator app.'
}

// The single-use token of an emailed link (`/verify-email#token=…`, reset, invitation), read once
// as the console loads and taken out of the address bar and history at once, before any screen
// renders or any request goes out: it is not left for a screenshot, a bookmark or a shared URL.
const fragmentToken = (() => {
  const token = new URLSearchParams(location.hash.replace(/^#/, '')).get('token')
  if (token) history.replaceState(history.state, '', location.pathname + location.search)
  return token
})()

/** The emailed link's token, if the console was opened from one. */
export function takeFragmentToken(): string | null {
  return fragmentToken
}

/**
 * The emailed link's token for one kind of link (`verification`, `invite`), kept in this tab's
 * sessionStorage while the person signs in or signs up on the way, so the page can still use it
 * when they come back. `done()` forgets it once used.
 */
export function pendingToken(kind: string): { token: string | null; done: () => void } {
  const key = `gatehouse.pending-${kind}`
  const fromLink = fragmentToken
  let token = fromLink
  try {
    if (fromLink) sessionStorage.setItem(key, fromLink)
    token = fromLink ?? sessionStorage.getItem(key)
  } catch {
    // No storage (private browsing): the token lasts while the page is open.
  }
  const done = () => {
    try {
      sessionStorage.removeItem(key)
    } catch {
      // nothing kept
    }
  }
  return { token, done }
}
