/** The local issuer's sign-in page: pick one of the local users, the way Entra shows its account picker. */
import type { LocalUser } from "./local-identity.ts";

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function describeRoles(roles: readonly string[]): string {
  return roles.length ? roles.join(", ") : "no roles";
}

/** `request` holds the validated authorization request, sent back with the chosen user. */
export function renderSignInPage(options: { action: string; request: Record<string, string>; users: readonly LocalUser[]; tenantId: string }): string {
  const hidden = Object.entries(options.request)
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join("\n      ");
  const users = options.users
    .map(
      (user, index) => `<li><button type="submit" name="user" value="${escape(user.objectId)}"${index === 0 ? " autofocus" : ""}>
        <strong>${escape(user.name)}</strong> <span>${escape(user.username)}</span> <em>${escape(describeRoles(user.roles))}</em>
      </button></li>`,
    )
    .join("\n        ");
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in – secure-export local issuer</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 1rem; background: #f4f5f7; color: #1b1f24; }
    main { max-width: 28rem; margin: 2rem auto; background: #fff; padding: 1.5rem; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
    h1 { font-size: 1.3rem; margin-top: 0; }
    ul { list-style: none; padding: 0; margin: 0; display: grid; gap: .5rem; }
    button { width: 100%; text-align: left; font: inherit; padding: .75rem; border: 1px solid #c5cad1; border-radius: 6px; background: #fff; cursor: pointer; display: grid; }
    button:hover, button:focus-visible { border-color: #0b5cad; outline: 2px solid #0b5cad; outline-offset: 1px; }
    span, em, small { color: #555; font-size: .9rem; }
  </style>
</head>
<body>
  <main>
    <h1>Sign in to secure-export (local)</h1>
    <p>This is the local stack's stand-in for Microsoft Entra ID. Pick who you are:</p>
    <form method="post" action="${escape(options.action)}">
      ${hidden}
      <ul>
        ${users}
      </ul>
    </form>
    <p><small>Tenant ${escape(options.tenantId)}. In Azure, this step is the Microsoft sign-in page, and roles come from the stack's <code>readers</code> and <code>operators</code>.</small></p>
  </main>
</body>
</html>
`;
}
