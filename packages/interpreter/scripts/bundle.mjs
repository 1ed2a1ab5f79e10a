// Builds what the code-interpreter template carries at /opt/cove/interpreter, in
// packages/interpreter/build/runtime/:
//
//   server.js   the execution server and its JS dependencies in one CommonJS file (esbuild)
//   kernels/    the kernel scripts (python; javascript/typescript bundled with acorn)
//   node        a wrapper that runs the node of the envd runtime at /.cove, for the
//               javascript and typescript kernels
//
// The server itself runs on that node too (see the template's start command in
// packages/node/src/templates/code-interpreter.ts).
//
// Usage: node packages/interpreter/scripts/bundle.mjs [--out DIR]
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({ options: { out: { type: "string" } } });
const out = args.out ? resolve(args.out) : join(pkg, "build/runtime");
const require = createRequire(join(pkg, "package.json"));

if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, "server.js"))) {
  process.stderr.write(`bundle: error: ${out} is not empty and holds no earlier bundle; refusing to replace it\n`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const esbuild = await import(require.resolve("esbuild"));
await esbuild.build({
  entryPoints: [join(pkg, "scripts/bundle-entry.ts")],
  outfile: join(out, "server.js"),
  bundle: true,
  platform: "node",
  format: "cjs",
  // config.ts finds kernels/ through import.meta.url; the entry passes --kernels-dir instead.
  define: { "import.meta.url": "__coveModuleUrl", "import.meta.main": "false" },
  target: "node24",
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  banner: { js: 'var __coveModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
writeFileSync(join(out, "package.json"), `${JSON.stringify({ name: "cove-interpreter-runtime", private: true, type: "commonjs" }, null, 2)}\n`);
// The python kernel's files as they are; the javascript kernel with what it imports (acorn) in one file.
cpSync(join(pkg, "kernels"), join(out, "kernels"), { recursive: true, filter: (src) => !src.includes("__pycache__") && !/\.mjs$/.test(src) });
await esbuild.build({
  entryPoints: [join(pkg, "kernels/js_kernel.mjs")],
  outfile: join(out, "kernels/js_kernel.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  legalComments: "none",
  logLevel: "warning",
});
// The envd runtime's node needs its own loader and libraries in roots without glibc.
writeFileSync(join(out, "node"), '#!/bin/sh\nexec /.cove/lib/ld-linux-x86-64.so.2 --library-path /.cove/lib /.cove/node "$@"\n');
chmodSync(join(out, "node"), 0o755);
process.stderr.write(`bundle: ${out}\n`);
