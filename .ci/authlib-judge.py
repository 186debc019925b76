#!/usr/bin/env python3
"""A second, independent client as judge: Python's Authlib against the example server.

    python3 .ci/authlib-judge.py --write-clients FILE      # the clients file the server loads
    python3 .ci/authlib-judge.py ISSUER                     # every check must pass
    python3 .ci/authlib-judge.py --list                     # the checks' names
    python3 .ci/authlib-judge.py ISSUER --invert NAME       # that check's expectation flipped

Authlib (pinned in .ci/run) runs the flows through its own OAuth 2 client: code + PKCE for a
public and a confidential client (client_secret_basic and client_secret_post), refresh rotation
and reuse detection, client credentials with Basic and in the body, revocation, introspection,
and private_key_jwt (an ES256 key this script makes, registered through the clients file). Only
the browser's part (the login and consent form) is plain HTTP.

Every check is proven able to fail: `.ci/run` runs the judge once per check with `--invert
NAME`, which negates that one expectation, and requires each such run to fail. A check that
still passes when inverted would assert nothing, and fails CI.
"""
import argparse
import html.parser
import json
import sys
import time
import urllib.parse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

REDIRECT = "http://127.0.0.1:8765/callback"
WEB_SECRET = "demo-web-secret-for-the-judge"
SERVICE_SECRET = "demo-service-secret-for-the-judge"
JWT_CLIENT = "judge-jwt"
KEY_FILE_SUFFIX = ".judge-key.pem"

CHECKS = []
INVERTED = None


class CheckFailed(Exception):
    pass


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's assertion, living one minute: its default hour is over the server's 5-minute
    cap (CA-03), and fresh claims each time (a `claims` dict given to PrivateKeyJWT is reused,
    `jti` included, so a second request would replay the first assertion)."""

    def sign(self, auth, token_endpoint):
        claims = {"exp": int(time.time()) + 60}
        return private_key_jwt_sign(
            auth.client_secret, auth.client_id, token_endpoint, claims=claims, header=self.headers, alg=self.alg
        )


def expect(name, condition, detail=""):
    """One named expectation; `--invert NAME` negates it, to show that it can fail."""
    if name not in CHECKS:
        CHECKS.append(name)
    if name == INVERTED:
        condition = not condition
    if not condition:
        raise CheckFailed(f"{name}: {detail}")
    print(f"ok   {name}")


class HiddenInputs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields.append((attrs["name"], attrs.get("value", "")))


def consent(authorization_url):
    """A browser: opens the consent page, signs in as alice and approves; the redirect."""
    browser = requests.Session()
    page = browser.get(authorization_url, allow_redirects=False)
    if page.status_code != 200:
        raise CheckFailed(f"consent page: {page.status_code} {page.text[:200]}")
    form = HiddenInputs()
    form.feed(page.text)
    fields = form.fields + [("username", "alice"), ("password", "alice-password"), ("decision", "approve")]
    action = urllib.parse.urljoin(authorization_url, "/authorize")
    answer = browser.post(action, data=fields, allow_redirects=False)
    if answer.status_code != 303:
        raise CheckFailed(f"consent form: {answer.status_code} {answer.text[:200]}")
    return answer.headers["Location"]


def metadata(issuer):
    return requests.get(f"{issuer}/.well-known/oauth-authorization-server").json()


def code_flow(meta, session):
    url, _state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=session.verifier)
    location = consent(url)
    return session.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=session.verifier)


def session_for(client_id, secret=None, method="none", scope="read write"):
    from authlib.common.security import generate_token

    session = OAuth2Session(
        client_id,
        secret,
        scope=scope,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
    )
    session.verifier = generate_token(48)
    return session


def refused(call):
    """The OAuth error code a call was refused with, or None if it succeeded."""
    try:
        call()
    except Exception as error:  # Authlib raises OAuthError (with .error) for error answers
        return getattr(error, "error", type(error).__name__)
    return None


def run(issuer, key_pem):
    meta = metadata(issuer)
    expect("metadata_lists_s256_only", meta.get("code_challenge_methods_supported") == ["S256"], str(meta))

    # Public client: code + PKCE, then rotation and reuse detection.
    app = session_for("demo-app")
    token = code_flow(meta, app)
    expect("public_code_flow_issues_tokens", bool(token.get("access_token")) and bool(token.get("refresh_token")))
    first_refresh = token["refresh_token"]
    rotated = app.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
    expect("refresh_rotates", rotated.get("refresh_token") not in (None, first_refresh), str(rotated))
    replay = refused(lambda: app.refresh_token(meta["token_endpoint"], refresh_token=first_refresh))
    expect("rotated_out_refresh_token_is_refused", replay == "invalid_grant", str(replay))
    family = refused(lambda: app.refresh_token(meta["token_endpoint"], refresh_token=rotated["refresh_token"]))
    expect("reuse_revokes_the_whole_family", family == "invalid_grant", str(family))

    # Confidential client: both secret methods.
    for method in ("client_secret_basic", "client_secret_post"):
        web = session_for("demo-web", WEB_SECRET, method)
        token = code_flow(meta, web)
        expect(f"confidential_code_flow_with_{method}", bool(token.get("access_token")), str(token))
    wrong = session_for("demo-web", "not-the-secret", "client_secret_basic")
    expect(
        "wrong_secret_is_invalid_client",
        refused(lambda: code_flow(meta, wrong)) == "invalid_client",
    )

    # Client credentials, Basic and body.
    tokens = {}
    for method in ("client_secret_basic", "client_secret_post"):
        service = session_for("demo-service", SERVICE_SECRET, method, scope="read")
        token = service.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        tokens[method] = token
        expect(f"client_credentials_with_{method}", token.get("token_type") == "Bearer" and "refresh_token" not in token)

    # Introspection (demo-service may introspect every token) and revocation.
    service = session_for("demo-service", SERVICE_SECRET, "client_secret_basic", scope="read")
    access = tokens["client_secret_post"]["access_token"]
    answer = service.introspect_token(meta["introspection_endpoint"], token=access).json()
    expect("introspection_of_a_live_token", answer.get("active") is True and answer.get("client_id") == "demo-service", json.dumps(answer))
    revoked = service.revoke_token(meta["revocation_endpoint"], token=access)
    expect("revocation_answers_200", revoked.status_code == 200, str(revoked.status_code))
    answer = service.introspect_token(meta["introspection_endpoint"], token=access).json()
    expect("revoked_token_is_inactive", answer == {"active": False}, json.dumps(answer))

    # private_key_jwt: the assertion's audience is the issuer (the server's strict default).
    signer = ShortLivedPrivateKeyJWT(token_endpoint=issuer, alg="ES256")
    jwt_client = OAuth2Session(JWT_CLIENT, key_pem, scope="read", token_endpoint_auth_method=signer)
    for attempt in ("first", "second"):
        token = jwt_client.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        expect(f"private_key_jwt_client_credentials_{attempt}", bool(token.get("access_token")), str(token))
    hour_long = OAuth2Session(
        JWT_CLIENT, key_pem, scope="read", token_endpoint_auth_method=PrivateKeyJWT(token_endpoint=issuer, alg="ES256")
    )
    expect(
        "an_hour_long_assertion_is_refused",
        refused(lambda: hour_long.fetch_token(meta["token_endpoint"], grant_type="client_credentials"))
        == "invalid_client",
    )
    endpoint_aud = OAuth2Session(
        JWT_CLIENT, key_pem, scope="read", token_endpoint_auth_method=ShortLivedPrivateKeyJWT(alg="ES256")
    )
    expect(
        "private_key_jwt_with_the_token_endpoint_as_audience_is_refused",
        refused(lambda: endpoint_aud.fetch_token(meta["token_endpoint"], grant_type="client_credentials"))
        == "invalid_client",
    )


def write_clients(path):
    """The demo clients with the judge's secrets, and a private_key_jwt client with a fresh key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with open(path + KEY_FILE_SUFFIX, "wb") as f:
        f.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk = ECKey.import_key(public).as_dict(private=False)
    jwk.update({"kid": "judge-1", "alg": "ES256", "use": "sig"})
    clients = [
        {"client_id": "demo-app", "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT],
         "grant_types": ["authorization_code", "refresh_token"], "scope": "read write"},
        {"client_id": "demo-web", "secret": WEB_SECRET, "redirect_uris": [REDIRECT],
         "grant_types": ["authorization_code", "refresh_token"], "scope": "read write"},
        {"client_id": "demo-service", "secret": SERVICE_SECRET, "grant_types": ["client_credentials"],
         "scope": "read write", "introspection": True},
        {"client_id": JWT_CLIENT, "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [jwk]},
         "grant_types": ["client_credentials"], "scope": "read"},
    ]
    with open(path, "w") as f:
        json.dump(clients, f, indent=1)


def main():
    global INVERTED
    parser = argparse.ArgumentParser()
    parser.add_argument("issuer", nargs="?")
    parser.add_argument("--clients", help="the clients file the server loaded (its key is beside it)")
    parser.add_argument("--write-clients")
    parser.add_argument("--invert")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.write_clients:
        write_clients(args.write_clients)
        return 0
    if args.list:
        # The names, from a dry walk of the source: every expect("...") call.
        import re

        source = open(__file__).read()
        names = re.findall(r'expect\(\s*f?"([a-z0-9_{}]+)"', source)
        expansions = {"{method}": ("client_secret_basic", "client_secret_post"), "{attempt}": ("first", "second")}
        for name in names:
            for placeholder, values in expansions.items():
                if placeholder in name:
                    for value in values:
                        print(name.replace(placeholder, value))
                    break
            else:
                print(name)
        return 0
    INVERTED = args.invert
    with open(args.clients + KEY_FILE_SUFFIX, "rb") as f:
        key_pem = ECKey.import_key(f.read())
    try:
        run(args.issuer.rstrip("/"), key_pem)
    except CheckFailed as failure:
        print(f"FAIL {failure}")
        return 1
    if INVERTED and INVERTED not in CHECKS:
        print(f"FAIL no check is named {INVERTED}")
        return 1
    print(f"authlib judge: {len(CHECKS)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
