// Runs a WASI preview 1 module once, as the command line does: its arguments, its stdin, its
// stdout, stderr and exit code. Every run is a fresh instance with no files, no environment and
// no preopened directory; the compiled module is kept between runs.
import { WASI, File, OpenFile, ConsoleStdout } from "./vendor/browser_wasi_shim/index.js";

const compiled = new Map();

/** The module at `url`, fetched and compiled once. */
export function compile(url) {
  if (!compiled.has(url)) {
    const module = fetch(url).then((response) => {
      if (!response.ok) {
        throw new Error(`cannot fetch ${url}: HTTP ${response.status} (run cargo xtask wasm, then serve the page again)`);
      }
      return WebAssembly.compileStreaming(response);
    });
    // A failed fetch is not cached: the next run tries again.
    module.catch(() => compiled.delete(url));
    compiled.set(url, module);
  }
  return compiled.get(url);
}

/** Lowercase hex SHA-256 of the module file at `url`, as `cargo xtask wasm` prints it. */
export async function fileSha256(url) {
  const bytes = await (await fetch(url)).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return { sha256: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""), size: bytes.byteLength };
}

/** Collects a stream's bytes. */
function sink() {
  const chunks = [];
  return {
    stream: new ConsoleStdout((bytes) => chunks.push(bytes.slice())),
    bytes() {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      return all;
    },
  };
}

/**
 * Runs the module at `url` with `args` (after its name) and `stdin` (bytes or a string).
 * Resolves to {code, stdout, stderr} (stdout as bytes and as text); a trap becomes exit code
 * 1 with the trap as its message, as the command-line runtimes report it.
 */
export async function run(url, args, stdin = new Uint8Array()) {
  const module = await compile(url);
  const input = typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
  const out = sink();
  const err = sink();
  const argv = [url.split("/").pop(), ...args];
  const wasi = new WASI(argv, [], [new OpenFile(new File(input)), out.stream, err.stream], { debug: false });
  // The shim counts arguments in UTF-16 code units; WASI counts UTF-8 bytes.
  wasi.wasiImport.args_sizes_get = (argcPtr, sizePtr) => {
    const view = new DataView(wasi.inst.exports.memory.buffer);
    view.setUint32(argcPtr, argv.length, true);
    const size = argv.reduce((n, arg) => n + new TextEncoder().encode(arg).length + 1, 0);
    view.setUint32(sizePtr, size, true);
    return 0;
  };
  let code;
  let trap = "";
  try {
    const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    code = wasi.start(instance);
  } catch (error) {
    code = 1;
    trap = `the module stopped: ${error}\n`;
  }
  const stdout = out.bytes();
  const decoder = new TextDecoder();
  return { code, stdout, text: decoder.decode(stdout), stderr: decoder.decode(err.bytes()) + trap };
}
