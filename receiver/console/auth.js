// Sign-in with OpenID Connect authorization code + PKCE (a public client, no secret), through
// oauth4webapi: against Microsoft Entra ID in Azure, against the local issuer on one machine.
// Which one is the receiver's to say, in /console/config.json.
import * as oauth from "./vendor/oauth4webapi/index.js";

const SESSION = "secure-export.session";
const PENDING = "secure-export.pending";
/** Tokens are treated as expired this long before they are, so a request never races the expiry. */
const EXPIRY_MARGIN_MS = 60_000;

export const redirectUri = `${location.origin}/console/`;

export async function loadConfig() {
  const response = await fetch("config.json", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return response.json();
}

// oauth4webapi refuses plain http; the local issuer is http on loopback only.
function transport(config) {
  return new URL(config.issuer).protocol === "http:" ? { [oauth.allowInsecureRequests]: true } : {};
}

async function authorizationServer(config) {
  const issuer = new URL(config.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...transport(config) });
  return oauth.processDiscoveryResponse(issuer, response);
}

/** Sends the browser to the sign-in page; `returnTo` is the console view to come back to. */
export async function signIn(config, returnTo) {
  const as = await authorizationServer(config);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: `openid profile offline_access ${config.scope}`,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    response_mode: "query",
  }).toString();
  location.assign(url.toString());
}

/**
 * Finishes a sign-in when the page is the redirect back from the authorization server.
 * Returns the view to show, or null when this page load is not a sign-in callback.
 */
export async function completeSignIn(config) {
  const here = new URL(location.href);
  if (!here.searchParams.has("code") && !here.searchParams.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null");
  sessionStorage.removeItem(PENDING);
  // Whatever happens next, the code must not stay in the address bar or the history.
  history.replaceState(null, "", redirectUri);
  if (!pending) throw new Error("this sign-in was not started from this tab; sign in again");
  const as = await authorizationServer(config);
  const client = { client_id: config.clientId };
  const params = oauth.validateAuthResponse(as, client, here, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, pending.verifier, transport(config));
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
  const claims = oauth.getValidatedIdTokenClaims(result);
  const session = {
    accessToken: result.access_token,
    expiresAt: Date.now() + (result.expires_in ?? 3600) * 1000,
    name: claims.name ?? claims.preferred_username ?? claims.sub,
    username: claims.preferred_username ?? "",
    objectId: claims.oid ?? claims.sub,
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return pending.returnTo || "#/incidents";
}

/** The signed-in user and their access token, or null when signed out or expired. */
export function currentSession() {
  const session = JSON.parse(sessionStorage.getItem(SESSION) ?? "null");
  if (!session || session.expiresAt - EXPIRY_MARGIN_MS < Date.now()) return null;
  return session;
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
}

/** Describes an OAuth or OIDC failure in words a user can act on. */
export function describeSignInError(error) {
  if (error instanceof oauth.AuthorizationResponseError) {
    return `the sign-in page answered ${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  }
  if (error instanceof oauth.ResponseBodyError) return `the token endpoint answered ${error.error}: ${error.error_description ?? ""}`;
  return error?.message ?? String(error);
}
