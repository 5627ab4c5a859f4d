/** Read-API calls with a token carrying the reader and operator roles, as an operator's tool would. */
import { LOCAL_OPERATOR_CLIENT_ID } from "../../receiver/local/local-identity.ts";
import type { LocalIssuer } from "../../receiver/local/local-issuer.ts";

/** `person`: a user's token (their object id and name claims) rather than the operator tool's. */
export function operatorClient(issuer: LocalIssuer, baseUrl: string, roles = ["Incidents.Read", "Incidents.Operate"], person?: { objectId: string; claims: Record<string, unknown> }) {
  const headers = async () => ({
    authorization: `Bearer ${await issuer.mint({ version: 2, audience: "5e1ec7ed-0000-4000-8000-0000000a9900", callerId: LOCAL_OPERATOR_CLIENT_ID, roles, ...(person ? { objectId: person.objectId, claims: person.claims } : {}) })}`,
  });
  return {
    async get(path: string): Promise<{ status: number; body: any }> {
      const response = await fetch(`${baseUrl}${path}`, { headers: await headers() });
      return { status: response.status, body: await response.json() };
    },
    async post(path: string, body?: unknown): Promise<{ status: number; body: any }> {
      const response = await fetch(`${baseUrl}${path}`, {
        method: "POST",
        headers: { ...(await headers()), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    },
    async incidentFor(alertId: string): Promise<any> {
      const list = await this.get(`/api/incidents?alertId=${encodeURIComponent(alertId)}`);
      if (list.status !== 200) throw new Error(`GET /api/incidents answered ${list.status}: ${JSON.stringify(list.body)}`);
      if (list.body.items.length !== 1) return list.body.items.length === 0 ? null : Promise.reject(new Error(`${list.body.items.length} incidents for ${alertId}`));
      return (await this.get(`/api/incidents/${list.body.items[0].id}`)).body;
    },
  };
}
