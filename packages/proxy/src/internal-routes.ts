/** Orchestrator-only envd routes (spec 5.6): reachable only from the node, never through the proxy. */
export const ENVD_INTERNAL_PATHS: readonly string[] = ["/init", "/freeze", "/unfreeze", "/collapse", "/fsfreeze", "/fsthaw", "/upgrade"];

/**
 * True when the request path would reach an internal envd route. envd's Go mux decodes
 * percent-escapes and cleans the path (dot segments, double slashes), so the check normalises
 * the same way; a path that cannot be decoded is treated as internal (refused).
 * Sub-paths (`/init/x`) and case variants are refused too: cheap and safe.
 */
export function isInternalEnvdPath(rawUrl: string): boolean {
  const path = rawUrl.split("?")[0] ?? "";
  let p: string;
  try {
    p = decodeURIComponent(path);
  } catch {
    return true;
  }
  p = clean(p).toLowerCase();
  return ENVD_INTERNAL_PATHS.some((r) => p === r || p.startsWith(`${r}/`));
}

function clean(p: string): string {
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, "/").split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}
