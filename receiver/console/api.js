// The receiver's read and operator API, called with the signed-in user's token.

/** An answer other than 2xx, with the receiver's stable error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function createApi(getToken) {
  async function call(method, path, body) {
    const token = getToken();
    if (!token) throw new ApiError(401, "signed_out", "your session has ended");
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, json?.error ?? "http_error", json?.message ?? `${response.status} ${response.statusText}`);
    return json;
  }
  return {
    incidents: (query) => call("GET", `/api/incidents?${new URLSearchParams(query)}`),
    incident: (id) => call("GET", `/api/incidents/${encodeURIComponent(id)}`),
    resolve: (id, note) => call("POST", `/api/incidents/${encodeURIComponent(id)}/resolve`, note ? { note } : {}),
    acknowledge: (id, note) => call("POST", `/api/incidents/${encodeURIComponent(id)}/acknowledge`, note ? { note } : {}),
    comment: (id, note) => call("POST", `/api/incidents/${encodeURIComponent(id)}/comment`, { note }),
    deliveries: (query) => call("GET", `/api/deliveries?${new URLSearchParams(query)}`),
    retry: (id) => call("POST", `/api/deliveries/${encodeURIComponent(id)}/retry`),
    cis: (query) => call("GET", `/api/cis?${new URLSearchParams(query)}`),
    silences: (query) => call("GET", `/api/silences?${new URLSearchParams(query)}`),
    addSilence: (silence) => call("POST", "/api/silences", silence),
    status: () => call("GET", "/api/status"),
    expireSilence: (id) => call("DELETE", `/api/silences/${encodeURIComponent(id)}`),
  };
}
