"""The emulated Entra ID: OIDC discovery, JWKS and the OAuth2 token endpoints (v1 and v2)."""

from emulator.core.http import Route

ROUTES = [
    Route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", "openid_configuration_v2"),
    Route("GET", "/{tenant}/.well-known/openid-configuration", "openid_configuration_v1"),
    Route("GET", "/{tenant}/discovery/v2.0/keys", "keys"),
    Route("GET", "/{tenant}/discovery/keys", "keys"),
    Route("POST", "/{tenant}/oauth2/v2.0/token", "token_v2"),
    Route("POST", "/{tenant}/oauth2/token", "token_v1"),
]
