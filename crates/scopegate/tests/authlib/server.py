"""An OAuth 2.0 authorization server built with Authlib and Flask, for scopegate's tests.

It is not ours: the grants, client authentication, PKCE and revocation are Authlib's code; this file
only supplies the in-memory storage Authlib asks for, and counters the tests read.

  python server.py [--grace] [--expires-in N] [--token-delay-ms N]

Binds 127.0.0.1 on an ephemeral port, prints "PORT <n>" on stdout, serves until stdin closes or the
process is killed.

Endpoints:
  GET  /authorize    authorization code (+ PKCE S256), auto-approved: 302 to the redirect URI
  POST /token        authorization_code, refresh_token (rotating), client_credentials;
                     client_secret_basic for client `basic-client`, client_secret_post for `post-client`
  POST /revoke       RFC 7009
  GET  /api/me       a protected resource (Bearer): 200 {"client_id": ...} or 401
  GET  /stats        counters: token requests by grant, refreshes, invalid_grant answers, ...

Refresh-token rotation: each refresh issues a new refresh token and revokes the one used. A refresh
token reused after its successor is used is refused (invalid_grant). With --grace, the previous
refresh token stays accepted until its successor (or an access token issued with it) is first
used: the reuse interval servers such as Okta and Auth0 offer, because a client that dies between
the server's answer and its own write cannot get the new token back. Without --grace, rotation is
strict: a refresh token works exactly once.
"""

import argparse
import json
import sys
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
LOCK = threading.RLock()
STATS = {
    "token_requests": 0,
    "by_grant": {},
    "refreshes": 0,
    "invalid_grant": 0,
    "grace_used": 0,
    "revocations": 0,
    "api_calls": 0,
}


def bump(key, sub=None):
    with LOCK:
        if sub is None:
            STATS[key] += 1
        else:
            STATS[key][sub] = STATS[key].get(sub, 0) + 1


class Client:
    def __init__(self, client_id, secret, auth_method):
        self.client_id = client_id
        self.secret = secret
        self.auth_method = auth_method

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        allowed = {"read", "write"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        # Loopback redirect URIs on any port (RFC 8252 §7.3) at /callback.
        return redirect_uri.startswith("http://127.0.0.1:") and redirect_uri.endswith("/callback")

    def check_client_secret(self, client_secret):
        return client_secret == self.secret

    def check_endpoint_auth_method(self, method, endpoint):
        return method == self.auth_method

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token", "client_credentials")


CLIENTS = {
    "basic-client": Client("basic-client", "basic secret:+/=", "client_secret_basic"),
    "post-client": Client("post-client", "post-secret", "client_secret_post"),
}


class User:
    def get_user_id(self):
        return "user-1"


USER = User()


class Code:
    def __init__(self, code, client_id, redirect_uri, scope, challenge, method):
        self.code = code
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.code_challenge = challenge
        self.code_challenge_method = method

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


class Token:
    def __init__(self, data, client_id, previous=None):
        self.access_token = data["access_token"]
        self.refresh_token = data.get("refresh_token")
        self.scope = data.get("scope", "")
        self.expires_in = data["expires_in"]
        self.issued_at = time.time()
        self.client_id = client_id
        self.revoked = False
        self.used = False  # the refresh token or the access token was used
        self.previous = previous  # the Token whose refresh token was used to get this one

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return USER

    def get_client(self):
        return CLIENTS[self.client_id]

    def mark_used(self):
        """The client holds this token: the previous one stops working for good."""
        self.used = True
        if self.previous is not None:
            self.previous.revoked = True
            self.previous = None


CODES = {}
BY_ACCESS = {}
BY_REFRESH = {}
GRACE = False


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code, req):
        with LOCK:
            CODES[code] = Code(
                code,
                req.client.client_id,
                req.payload.redirect_uri,
                req.scope,
                req.payload.data.get("code_challenge"),
                req.payload.data.get("code_challenge_method"),
            )

    def query_authorization_code(self, code, client):
        with LOCK:
            item = CODES.get(code)
        if item and item.client_id == client.client_id:
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        with LOCK:
            CODES.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return USER


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        with LOCK:
            token = BY_REFRESH.get(refresh_token)
            if token is None:
                return None
            if not token.revoked:
                token.mark_used()
                return token
            # Revoked. Under --grace, a token revoked by rotation stays usable while its successor
            # was never used.
            successor = getattr(token, "successor", None)
            if GRACE and successor is not None and not successor.used:
                bump("grace_used")
                successor.revoked = True
                return token
            return None

    def authenticate_user(self, refresh_token):
        return USER

    def revoke_old_credential(self, refresh_token):
        with LOCK:
            refresh_token.revoked = True


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string, token_type_hint):
        with LOCK:
            if token_type_hint == "access_token":
                return BY_ACCESS.get(token_string)
            if token_type_hint == "refresh_token":
                return BY_REFRESH.get(token_string)
            return BY_ACCESS.get(token_string) or BY_REFRESH.get(token_string)

    def revoke_token(self, token, req):
        bump("revocations")
        with LOCK:
            token.revoked = True


def save_token(data, req):
    previous = getattr(req, "refresh_token", None)
    with LOCK:
        token = Token(data, req.client.client_id, previous=previous)
        if previous is not None:
            previous.successor = token
        BY_ACCESS[token.access_token] = token
        if token.refresh_token:
            BY_REFRESH[token.refresh_token] = token


def query_client(client_id):
    return CLIENTS.get(client_id)


class Validator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        with LOCK:
            token = BY_ACCESS.get(token_string)
            if token is not None and not token.revoked:
                token.mark_used()
            return token


def create_app(expires_in):
    app = Flask(__name__)
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": expires_in,
        "refresh_token": expires_in,
        "client_credentials": expires_in,
    }
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation)
    protect = ResourceProtector()
    protect.register_token_validator(Validator())

    @app.get("/authorize")
    def authorize():
        # Auto-approve: the resource owner always consents.
        try:
            grant = server.get_consent_grant(end_user=USER)
        except OAuth2Error as error:
            return jsonify(error=error.error, error_description=error.description), 400
        return server.create_authorization_response(grant=grant, grant_user=USER)

    @app.post("/token")
    def token():
        grant = request.form.get("grant_type", "?")
        bump("token_requests")
        bump("by_grant", grant)
        if grant == "refresh_token":
            bump("refreshes")
            if TOKEN_DELAY_MS:
                # A slow token endpoint (outside every lock: requests overlap as on a real server).
                time.sleep(TOKEN_DELAY_MS / 1000)
        response = server.create_token_response()
        if response.status_code == 400 and b"invalid_grant" in response.get_data():
            bump("invalid_grant")
        return response

    @app.post("/revoke")
    def revoke():
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.get("/api/me")
    @protect()
    def me():
        bump("api_calls")
        from authlib.integrations.flask_oauth2 import current_token

        return jsonify(client_id=current_token.client_id, scope=current_token.scope)

    @app.get("/stats")
    def stats():
        with LOCK:
            return app.response_class(json.dumps(STATS), mimetype="application/json")

    return app


TOKEN_DELAY_MS = 0


def main():
    global GRACE, TOKEN_DELAY_MS
    parser = argparse.ArgumentParser()
    parser.add_argument("--grace", action="store_true")
    parser.add_argument("--expires-in", type=int, default=3600)
    parser.add_argument("--token-delay-ms", type=int, default=0)
    args = parser.parse_args()
    GRACE = args.grace
    TOKEN_DELAY_MS = args.token_delay_ms
    app = create_app(args.expires_in)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"PORT {httpd.server_port}", flush=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # Serve until the test closes our stdin (or kills us).
    sys.stdin.read()
    httpd.shutdown()


if __name__ == "__main__":
    main()
