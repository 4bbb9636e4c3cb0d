// Every relative link in the repository's Markdown resolves: to a file or folder of the
// repository (never outside it: a `../shared/…` link works on one machine and nowhere else), and
// for a link to a heading of a Markdown file, to a heading that exists, by GitHub's anchor rules.
// http(s) and mailto links are not followed.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../src/paths.js'

/** The repository as the checker sees it: its files by POSIX path from the root. */
interface Repo {
  files: ReadonlySet<string>
  read(file: string): string
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/
// [text](target) and ![alt](target), with an optional title; the target may be in <…>.
const INLINE = /!?\[((?:[^[\]\\]|\\.|\[[^[\]]*\])*)\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g
// [label]: target (not a footnote, [^1]: …)
const DEFINITION = /^ {0,3}\[([^\]^][^\]]*)\]:\s*(<[^>\n]*>|\S+)/
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/

/** The lines outside fenced code blocks: number, text, and text with inline code blanked. */
function* prose(markdown: string): Generator<[number, string, string]> {
  let fence: string | null = null
  const lines = markdown.split('\n')
  for (const [i, line] of lines.entries()) {
    const open = FENCE.exec(line)
    if (fence !== null) {
      if (open && open[1]![0] === fence[0] && open[1]!.length >= fence.length) fence = null
      continue
    }
    if (open) {
      fence = open[1]!
      continue
    }
    yield [i + 1, line, line.replace(/(`+)(.+?)\1/g, (m) => ' '.repeat(m.length))]
  }
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped (not hyphens), spaces → hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image: its text
    .replace(/<[^>]+>/g, '') // inline HTML tags
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The anchors a Markdown file offers: one per heading (repeats get -1, -2, …), and <a id|name>. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>()
  const occurrences = new Map<string, number>() // as github-slugger counts them
  for (const [, line, text] of prose(markdown)) {
    for (const m of text.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) out.add(m[1]!)
    const h = HEADING.exec(line)
    if (!h) continue
    const base = slug(h[2]!)
    let anchor = base
    while (occurrences.has(anchor)) {
      const n = occurrences.get(base)! + 1
      occurrences.set(base, n)
      anchor = `${base}-${n}`
    }
    occurrences.set(anchor, 0)
    out.add(anchor)
  }
  return out
}

/** The link targets in a Markdown file: inline links, images and reference definitions. */
function links(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = []
  for (const [line, , text] of prose(markdown)) {
    const def = DEFINITION.exec(text)
    if (def) out.push({ line, target: def[2]! })
    for (const m of text.matchAll(INLINE)) out.push({ line, target: m[2]! })
  }
  return out.map(({ line, target }) => ({ line, target: target.replace(/^<(.*)>$/, '$1') }))
}

/** What is wrong with the links of `file` (a path from the repository root), one line each. */
function checkLinks(file: string, markdown: string, repo: Repo): string[] {
  const problems: string[] = []
  const anchorsOf = new Map<string, Set<string>>()
  const offered = (md: string) => {
    let set = anchorsOf.get(md)
    if (!set) anchorsOf.set(md, (set = anchors(md === file ? markdown : repo.read(md))))
    return set
  }
  const isFolder = (p: string) => p === '.' || [...repo.files].some((f) => f.startsWith(`${p}/`))
  for (const { line, target } of links(markdown)) {
    const where = `${file}:${line}: ${target}`
    if (/^(https?|mailto):/i.test(target)) continue
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      problems.push(`${where}: not a link into the repository`)
      continue
    }
    if (target.startsWith('/')) {
      problems.push(`${where}: an absolute path; links are relative to the file`)
      continue
    }
    const hash = target.indexOf('#')
    const fragment = hash < 0 ? '' : target.slice(hash + 1)
    let rel = (hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, '')
    try {
      rel = decodeURI(rel)
    } catch {
      problems.push(`${where}: malformed percent-encoding`)
      continue
    }
    let resolved = file
    if (rel !== '') {
      resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), rel)).replace(/\/$/, '')
      if (resolved === '..' || resolved.startsWith('../')) {
        problems.push(`${where}: points outside the repository`)
        continue
      }
      if (!repo.files.has(resolved) && !isFolder(resolved)) {
        problems.push(`${where}: no such file or folder in the repository`)
        continue
      }
    }
    if (fragment && resolved.endsWith('.md') && repo.files.has(resolved)) {
      let anchor: string
      try {
        anchor = decodeURIComponent(fragment)
      } catch {
        anchor = fragment
      }
      if (!offered(resolved).has(anchor)) problems.push(`${where}: ${resolved} has no heading #${anchor}`)
    }
  }
  return problems
}

/** The repository's files as git sees them: tracked, plus new ones not ignored. */
function gitRepo(root: string): Repo {
  const list = (args: string[]) =>
    execFileSync('git', ['ls-files', '-z', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\0')
      .filter(Boolean)
  const files = new Set([...list(['--cached']), ...list(['--others', '--exclude-standard'])])
  return { files, read: (file) => readFileSync(path.join(root, file), 'utf8') }
}

t.test('the checker reports what it claims to', async (t) => {
  const repo: Repo = {
    files: new Set(['README.md', 'docs/api.md', 'docs/design.md', 'sql/010_roles.sql']),
    read: (file) =>
      ({
        'docs/api.md': '# API\n\n## Errors\n\n## Auth — `/api/auth`\n\n## Errors\n\n```\n# not a heading\n```\n',
        'docs/design.md': '# Design\n',
      })[file] ?? '',
  }
  const readme = [
    '# Gatehouse',
    'The [contract](docs/api.md), its [errors](docs/api.md#errors), [the second](docs/api.md#errors-1),',
    '[auth](docs/api.md#auth--apiauth), [roles](sql/010_roles.sql), [sql/](sql/), [self](#gatehouse),',
    '[site](https://example.com/x), [mail](mailto:a@example.com), [design][d], `[code](nowhere.md)`.',
    '',
    '[d]: docs/design.md',
    '```',
    '[fenced](nowhere.md)',
    '```',
  ].join('\n')
  t.same(checkLinks('README.md', readme, repo), [], 'good links: nothing reported')

  const bad = [
    'See [the shared API](../shared/API.md) and [the missing one](docs/missing.md).',
    '[ref]: ../shared/design.md',
    '[a heading that is not there](docs/api.md#nope), [here neither](#nope), [outside](/etc/passwd)',
    '[through a folder](docs/../../outside.md), [file](file:///etc/passwd)',
  ].join('\n')
  t.same(checkLinks('README.md', bad, repo), [
    'README.md:1: ../shared/API.md: points outside the repository',
    'README.md:1: docs/missing.md: no such file or folder in the repository',
    'README.md:2: ../shared/design.md: points outside the repository',
    'README.md:3: docs/api.md#nope: docs/api.md has no heading #nope',
    'README.md:3: #nope: README.md has no heading #nope',
    'README.md:3: /etc/passwd: an absolute path; links are relative to the file',
    'README.md:4: docs/../../outside.md: points outside the repository',
    'README.md:4: file:///etc/passwd: not a link into the repository',
  ], 'a link outside the repository, a missing file and a missing heading are each reported')
  t.same(checkLinks('docs/design.md', '[up](../README.md), [api](api.md#errors)', repo), [], 'relative to the file\'s folder')
})

t.test('GitHub anchors', async (t) => {
  t.equal(slug('How a request flows'), 'how-a-request-flows')
  t.equal(slug('Auth — /api/auth'), 'auth--apiauth')
  t.equal(slug('`npm run lint` and CI'), 'npm-run-lint-and-ci')
  t.equal(slug('Planned routes (not built yet)'), 'planned-routes-not-built-yet')
  t.equal(slug('snake_case stays'), 'snake_case-stays')
  t.same([...anchors('# A\n## A\n## A\n')], ['a', 'a-1', 'a-2'])
})

t.test('every Markdown file in the repository links only to what is there', async (t) => {
  const repo = gitRepo(ROOT)
  const docs = [...repo.files].filter((f) => f.endsWith('.md')).sort()
  t.ok(docs.includes('README.md'), 'the README is among them')
  for (const file of docs) t.same(checkLinks(file, repo.read(file), repo), [], file)
})
