// A real OpenID provider for the forum's tests: panva's certified `oidc-provider`, configured from one JSON
// argument and listening on 127.0.0.1 (tests/oidc_provider.py starts and stops it).
//
// Config: {port, keys: [private JWKs], clients: [client metadata], accounts: {id: claims}}.
// Sign-in uses the package's development login page (any account id and password are accepted); the account's
// claims come from `accounts` (defaults: <id>@example.test, verified). Consent is granted without a page for the
// configured clients (first-party), the way a company's own portal would. Test-only control routes:
//   POST /__test/accounts   {id: claims, ...}   sets or replaces accounts' claims
//   GET  /__test/health                          200 once listening
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2]);
const accounts = config.accounts || {};
const issuer = `http://127.0.0.1:${config.port}`;

function claimsOf(id) {
  return { sub: id, email: `${id}@example.test`, email_verified: true, ...(accounts[id] || {}) };
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: config.keys },
  pkce: { required: () => true },
  scopes: ["openid", "email", "profile", "groups"],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: ["test-cookie-key-not-secret"] },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
  // the provider refuses to call special-use addresses (127.0.0.1) for back-channel logout; the tests need them
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  async findAccount(ctx, id) {
    return { accountId: id, claims: async () => claimsOf(id) };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile groups");
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === "/__test/health") {
    ctx.body = { ok: true };
    return;
  }
  if (ctx.path === "/__test/accounts" && ctx.method === "POST") {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    Object.assign(accounts, JSON.parse(Buffer.concat(chunks).toString() || "{}"));
    ctx.body = { ok: true };
    return;
  }
  await next();
});

provider.on("backchannel.error", (err, client) => console.error("backchannel.error", client.clientId, err.message));
provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.listen(config.port, "127.0.0.1", () => console.log(`listening ${issuer}`));
