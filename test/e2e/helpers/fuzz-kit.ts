// Inputs and transport for the fuzz suite (fuzz.test.ts): a seeded generator of
// malformed ids, bodies, queries and headers, and raw HTTP that sends them as given.
import http from "node:http";
import net from "node:net";
import { readFileSync } from "node:fs";
import { UNSUPPORTED_ROUTES } from "../../../packages/api/src/http/e2b-routes.js";
import { repoRoot } from "./cove-up.js";

/** How many requests are in flight at once. */
export const CONCURRENCY = 8;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!, chance: (p: number) => next() < p };
}
export type Rng = ReturnType<typeof prng>;

/** `[METHOD, /path/{param}]` for every operation in openapi.yaml (kept equal to the route table by api/test/openapi.test.ts) and every 501 route. */
export function routeTable(): [string, string][] {
  const text = readFileSync(`${repoRoot}/packages/api/openapi.yaml`, "utf8");
  const paths = text.slice(text.indexOf("\npaths:\n"), text.indexOf("\ncomponents:\n"));
  const out: [string, string][] = [];
  let path = "";
  for (const line of paths.split("\n")) {
    const p = /^ {2}(\/\S*):\s*$/.exec(line);
    if (p) path = p[1]!;
    const m = /^ {4}(get|post|put|delete|patch):\s*$/.exec(line);
    if (m && path) out.push([m[1]!.toUpperCase(), path]);
  }
  for (const [method, url] of UNSUPPORTED_ROUTES) out.push([method, url.replace(/:(\w+)/g, "{$1}")]);
  return out;
}

export interface Res {
  status: number;
  type: string;
  body: string;
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** One request through node:http (it sends the path and latin1 header bytes as given); status 0 when the server cut the connection. */
export function send(base: URL, method: string, path: string, headers: Record<string, string>, body?: Buffer, fresh = false): Promise<Res> {
  // node:http frames a body of GET or DELETE without a Content-Length; the server would read it as the next request.
  if (body !== undefined) headers = { ...headers, "content-length": String(body.length) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method, path, headers, agent: fresh ? false : agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", () => resolve({ status: 0, type: "", body: "" }));
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed meanwhile: the request never reached it; once more on a new one.
      if (req.reusedSocket && !fresh) return void send(base, method, path, headers, body, true).then(resolve, reject);
      if (["ECONNRESET", "EPIPE"].includes(err.code ?? "")) return resolve({ status: 0, type: "", body: "" });
      reject(err);
    });
    req.end(body);
  });
}

/** Raw bytes on a fresh connection, for what node:http refuses to send (NUL, CR in values, broken framing). */
export function sendRaw(base: URL, bytes: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(base.port), base.hostname);
    let text = "";
    socket.setEncoding("latin1").on("data", (d: string) => {
      text += d;
      if (text.includes("\r\n\r\n")) socket.end();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? undefined : reject(err)));
    socket.on("close", () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.end(Buffer.from(bytes, "latin1"));
  });
}

/** Runs fn over items, CONCURRENCY at a time; the first failure stops every worker (no traffic leaks into the next test). */
/**
 * A request refused before its body is read (a bad key, a malformed id, past the 1 MiB limit or
 * Node's 16 KiB limit on the head) is answered and the connection closed; a client still sending
 * a body larger than the socket buffers may then see only the reset. Crashes are caught apart:
 * the last test checks the process.
 */
export function mayBeCut(c: { method: string; path: string; headers: Record<string, string>; body?: Buffer | undefined }): boolean {
  const head = c.method.length + c.path.length + Object.entries(c.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  return (c.body?.length ?? 0) > 64 << 10 || head > 16_000;
}

export async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!failed && i < items.length) {
        try {
          await fn(items[i++]!);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }),
  );
}

// ---- inputs -------------------------------------------------------------------------------

/** Percent-encodes the UTF-8 bytes of any string (encodeURIComponent throws on lone surrogates). */
export const enc = (s: string) =>
  [...Buffer.from(s, "utf8")]
    .map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");
export const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
export const HOSTILE_TEXT = [
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff",
  "😀",
  "é",
  "../../etc/passwd",
  "%00",
  "%",
  "' OR 1=1 --",
  "<script>",
  "\r\n",
  " ",
  "",
  "null",
  "{}",
  "[]",
];

export function malformedId(r: Rng, real: string): string {
  const base = r.pick([real, "abc", "i8k2x3v0m1q9abcdefgh", "base"]);
  switch (r.int(14)) {
    case 0:
      return `${base}%00`;
    case 1:
      return `abc%00def`;
    case 2:
      return base.toUpperCase();
    case 3:
      return `${base}-6532622b`;
    case 4:
      return "a".repeat(r.pick([63, 64, 199, 200, 201, 5000]));
    case 5:
      return r.pick(["%E0%A4%A", "%", "%zz", "%C0%AF", "%ED%A0%80", "%FF"]);
    case 6:
      return r.pick(["..", ".", "%2e%2e", "%2F", "a%2Fb", "%252e"]);
    case 7:
      return enc(r.pick(HOSTILE_TEXT)) || "x";
    case 8:
      return enc(`${base}${r.pick(HOSTILE_TEXT)}`);
    case 9:
      return r.pick(["-", "_", "a-", "-a", "0", "00000000-0000-0000-0000-000000000000"]);
    case 10:
      return `${base}%20`;
    case 11:
      return Array.from({ length: 1 + r.int(40) }, () => String.fromCharCode(0x61 + r.int(26))).join("");
    case 12:
      return "\u00e9\u00ff"; // latin1 bytes in the raw path
    default:
      return base;
  }
}

export const FIELDS = [
  "templateID",
  "template",
  "timeout",
  "metadata",
  "envVars",
  "envs",
  "network",
  "autoResume",
  "autoPause",
  "cmd",
  "cwd",
  "user",
  "stdin",
  "name",
  "kind",
  "sandboxLimit",
  "duration",
  "secure",
  "allow_internet_access",
  "internet",
  "public",
  "volumeMounts",
  "state",
  "__proto__",
  "constructor",
];
export const QUERY = [
  "state",
  "limit",
  "nextToken",
  "metadata",
  "template",
  "startedAfter",
  "order",
  "path",
  "user",
  "sandbox_ids",
  "cmd",
  "timeout",
  "signature",
];

export function wrongValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 9 : 12)) {
    case 0:
      return r.pick([-1, 0, 1.5, 1e300, -1e300, 2 ** 53, 2 ** 31, 99999999999]);
    case 1:
      return r.pick(HOSTILE_TEXT);
    case 2:
      return "x".repeat(r.pick([256, 5000, 70_000]));
    case 3:
      return r.pick([null, true, false]);
    case 4:
      return r.pick(["300", "-5", "1e3", "0x10", " 60", "NaN", "Infinity"]);
    case 5:
      return { "": r.pick(HOSTILE_TEXT), "a\u0000": "b", "A=B": "c", k: 1 };
    case 6:
      return r.pick(["base", "nope", "base\u0000", "x".repeat(300), "Team/Name:Tag"]);
    case 7:
      return [r.pick(HOSTILE_TEXT), 1, null];
    case 8:
      return { enabled: r.pick(["yes", 1, null, {}]) };
    default:
      return Object.fromEntries(Array.from({ length: 1 + r.int(3) }, () => [r.pick(FIELDS), wrongValue(r, depth + 1)]));
  }
}

export function fuzzBody(r: Rng): { body?: Buffer; type?: string } {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  switch (r.int(12)) {
    case 0:
      return {};
    case 1:
      return { body: Buffer.from(r.pick(["{", '{"a":', "nul", "'x'", '{"a":1}}', "\u0000", "\ufeff{}", "[1,]"])), type: "application/json" };
    case 2:
      return { body: Buffer.from("[".repeat(50_000) + "]".repeat(50_000)), type: "application/json" };
    case 3:
      return { body: json(r.pick([[], 1, "x", null, true])), type: "application/json" };
    case 4:
      return {
        body: Buffer.from("timeout=5&name=x"),
        type: r.pick(["application/x-www-form-urlencoded", "text/plain", "application/octet-stream", "multipart/form-data; boundary=x"]),
      };
    case 5:
      return {
        body: json({ a: 1 }),
        type: r.pick(["application/json; charset=utf-16", "application/json; charset=latin1", "application/JSON", "application/json;;", "x/y", ""]),
      };
    case 6:
      return { body: Buffer.from(`{"metadata":{"k":"${"v".repeat(1_100_000)}"}}`), type: "application/json" };
    case 7:
      return { body: Buffer.from('{"__proto__":{"admin":true},"constructor":{"prototype":{}}}'), type: "application/json" };
    case 8:
      return { body: Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), type: "application/json" };
    default:
      return { body: json(Object.fromEntries(Array.from({ length: 1 + r.int(5) }, () => [r.pick(FIELDS), wrongValue(r)]))), type: "application/json" };
  }
}

export function fuzzQuery(r: Rng): string {
  if (r.chance(0.4)) return "";
  const parts = Array.from({ length: 1 + r.int(4) }, () => {
    const v = r.chance(0.3)
      ? r.pick(["%00", "%", "%E0%A4%A", "%ED%A0%80", "a%2500", "x".repeat(3000), "%26%3D", "running,paused,nope"])
      : enc(String(wrongValue(r)));
    return `${r.chance(0.1) ? enc(r.pick(HOSTILE_TEXT)) : r.pick(QUERY)}${r.chance(0.1) ? "[]" : ""}=${v}`;
  });
  return `?${parts.join("&")}`;
}

// ---- the run ------------------------------------------------------------------------------
