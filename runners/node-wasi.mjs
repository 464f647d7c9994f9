// Runs a WASI preview 1 command module under Node.js's built-in WASI (V8), the way the
// wasmtime CLI does: `node node-wasi.mjs [--dir HOST::GUEST]... MODULE.wasm ARGS...`.
// The module gets its arguments, the process's stdin/stdout/stderr, no environment variables
// and no directory unless one is granted with --dir; the exit code is the module's. A trap
// prints one line on stderr and exits 134, as the wasmtime CLI does.
//
// Node.js puts a piped stdin in non-blocking mode, and its WASI then passes EAGAIN to a module
// that reads before the writer has written. So a piped stdin is read whole first and handed to
// the module as a file (a terminal is passed through as it is).
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import process from 'node:process';
import { WASI } from 'node:wasi';

const USAGE = 'usage: node node-wasi.mjs [--dir HOST::GUEST]... MODULE.wasm [ARGS...]';

function parse(argv) {
  const preopens = {};
  let i = 0;
  while (argv[i] === '--dir') {
    const mapping = argv[i + 1] ?? '';
    const [host, guest] = mapping.includes('::') ? mapping.split('::') : [mapping, mapping];
    if (!host) {
      throw new Error(`--dir needs HOST::GUEST; ${USAGE}`);
    }
    preopens[guest] = host;
    i += 2;
  }
  const module = argv[i];
  if (!module) {
    throw new Error(USAGE);
  }
  return { preopens, module, args: argv.slice(i + 1) };
}

async function stdinFd() {
  if (process.stdin.isTTY) {
    return 0;
  }
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const dir = mkdtempSync(join(tmpdir(), 'node-wasi-'));
  try {
    const file = join(dir, 'stdin');
    writeFileSync(file, Buffer.concat(chunks));
    return openSync(file, 'r');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { preopens, module, args } = parse(process.argv.slice(2));
  const wasi = new WASI({
    version: 'preview1',
    args: [basename(module), ...args],
    env: {},
    preopens,
    stdin: await stdinFd(),
    returnOnExit: true,
  });
  const compiled = await WebAssembly.compile(await readFile(module));
  const instance = await WebAssembly.instantiate(compiled, wasi.getImportObject());
  try {
    return wasi.start(instance);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) {
      process.stderr.write(`wasm trap: ${error.message}\n`);
      return 134;
    }
    throw error;
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write(`node-wasi: ${error.message}\n`);
    process.exitCode = 1;
  },
);
