// `npm run api:types`: regenerates web/src/api/schema.d.ts from the routes' schemas (src/api-types.ts).
import { writeFile } from 'node:fs/promises'
import { API_TYPES_FILE, generateApiTypes } from '../src/api-types.js'

await writeFile(API_TYPES_FILE, await generateApiTypes())
console.log(`wrote ${API_TYPES_FILE}`)
