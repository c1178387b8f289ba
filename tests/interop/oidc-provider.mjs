// A real OpenID Connect provider (the certified oidc-provider) for the web sign-in tests, over HTTPS on 127.0.0.1.
// Its built-in development login form accepts any password; a person's groups come from USERS below.
// Usage: node oidc-provider.mjs PORT CERT.pem KEY.pem REDIRECT_URI CLIENT_SECRET_FILE
import fs from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const [port, certFile, keyFile, redirectUri, secretFile] = process.argv.slice(2);
const USERS = { vera: ['hawser-viewers', 'staff'], ada: ['hawser-admins'], nobody: ['staff'] };

const provider = new Provider(`https://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'hawser',
    client_secret: fs.readFileSync(secretFile, 'utf8').trim(),
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  findAccount: async (ctx, id) => ({
    accountId: id,
    async claims() {
      return { sub: id, email: `${id}@example.org`, email_verified: true, name: id, groups: USERS[id] ?? [] };
    },
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['hawser-test-provider-cookie-key'] },
});

https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, provider.callback())
  .listen(Number(port), '127.0.0.1', () => console.log(`LISTENING ${port}`));
