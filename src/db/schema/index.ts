export * from './users.js'
export * from './workspaces.js'
export * from './contacts.js'
export * from './email.js'
