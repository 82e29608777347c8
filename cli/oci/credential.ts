// What pwas authenticates with, and where it came from (named in error messages).

export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker config `identitytoken`, helper username "<token>"). */
  identityToken?: string;
  /** A registry bearer token used as is, without the token exchange. */
  registryToken?: string;
  /** e.g. "PWAS_REGISTRY_USERNAME/PWAS_REGISTRY_PASSWORD", "/home/me/.docker/config.json". */
  source: string;
}

/** A credential lookup: what was found, plus notes on sources that were skipped or failed. */
export interface CredentialLookup {
  credential?: Credential;
  notes: string[];
}

export const describeCredential = (c: Credential): string =>
  c.registryToken !== undefined
    ? `the registry token from ${c.source}`
    : c.identityToken !== undefined
      ? `the identity token from ${c.source}`
      : `user ${JSON.stringify(c.username ?? "")} from ${c.source}`;
