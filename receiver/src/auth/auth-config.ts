/** What token checks are configured with (the ENTRA_* variables; config.ts reads them). */
export interface AuthConfig {
  tenantId: string;
  audiences: string[];
  allowedCallers: string[];
  requiredRole: string;
  readerRole: string;
  operatorRole: string;
  /** The app role an ITSM's sync client needs to push ticket changes (ENTRA_SYNC_ROLE, `Itsm.Sync`). */
  syncRole: string;
  /** The application's client id (ENTRA_CLIENT_ID): the web console signs users in as this client; unset = no console sign-in. */
  clientId: string | undefined;
  /** Authority host without a trailing slash, e.g. https://login.microsoftonline.com. */
  authority: string;
  clockToleranceSeconds: number;
  keysRefreshSeconds: number;
  keysMinRefetchSeconds: number;
}
