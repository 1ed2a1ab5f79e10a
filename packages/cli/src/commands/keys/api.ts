/** The native API's key records (`/v1/keys`), as JSON sends them. */
export interface KeyRecord {
  id: string;
  name: string;
  kind: "api_key" | "access_token";
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedKeyRecord extends KeyRecord {
  /** Returned once by the server; only its hash is stored. */
  secret: string;
}

export const KIND_LABEL: Record<KeyRecord["kind"], string> = { api_key: "API key", access_token: "access token" };
