/**
 * Per-daemon settings that /init can change at run time. One instance per
 * server, passed to every handler; never a module-level singleton.
 */
export interface EnvdState {
  /** envd's access token; undefined means envd is open (as upstream). */
  accessToken: string | undefined;
  /** User for requests that name none. */
  defaultUser: string;
  /** Working directory for processes that name none; undefined means the user's home. */
  defaultWorkdir: string | undefined;
  /** Sandbox-wide environment variables, applied to every process after the login env. */
  envVars: Record<string, string>;
  /** Last /init timestamp applied (ms since epoch), so stale inits do not roll settings back. */
  lastInitAt: number;
}

export interface EnvdStateOptions {
  accessToken?: string | undefined;
  defaultUser?: string | undefined;
  defaultWorkdir?: string | undefined;
  envVars?: Record<string, string> | undefined;
}

export function createEnvdState(options: EnvdStateOptions = {}): EnvdState {
  return {
    accessToken: options.accessToken || undefined,
    defaultUser: options.defaultUser ?? "root",
    defaultWorkdir: options.defaultWorkdir,
    envVars: { ...(options.envVars ?? {}) },
    lastInitAt: 0,
  };
}
