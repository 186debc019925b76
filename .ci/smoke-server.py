import urllib.request, urllib.parse, http.cookiejar, re, json, sys
base = sys.argv[1]
jar = http.cookiejar.CookieJar()
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
q = "response_type=code&client_id=demo-app&scope=read%20write&state=demo&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
page = opener.open(base + "/authorize?" + q).read().decode()
fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
# wrong password shows the form again
r = opener.open(base + "/authorize", urllib.parse.urlencode({**fields, "username": "alice", "password": "nope", "decision": "approve"}).encode())
assert r.status == 200 and "Wrong username" in r.read().decode()
try:
    opener.open(base + "/authorize", urllib.parse.urlencode({**fields, "username": "alice", "password": "alice-password", "decision": "approve"}).encode())
    raise SystemExit("expected a redirect")
except urllib.error.HTTPError as e:
    assert e.code == 303, e.code
    loc = e.headers["Location"]
code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
body = urllib.parse.urlencode({"grant_type": "authorization_code", "client_id": "demo-app", "code": code,
    "redirect_uri": "http://127.0.0.1:8765/callback", "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}).encode()
tok = json.loads(urllib.request.urlopen(base + "/token", body).read())
assert tok["token_type"] == "Bearer" and tok["scope"] == "read write", tok
body = urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": "demo-app", "refresh_token": tok["refresh_token"]}).encode()
refreshed = json.loads(urllib.request.urlopen(base + "/token", body).read())
assert refreshed["refresh_token"] != tok["refresh_token"], refreshed
import base64
req = urllib.request.Request(base + "/token", b"grant_type=client_credentials&scope=read",
    {"Authorization": "Basic " + base64.b64encode(b"demo-service:demo-service-secret").decode()})
cc = json.loads(urllib.request.urlopen(req).read())
assert cc["scope"] == "read" and "refresh_token" not in cc, cc
me = json.loads(urllib.request.urlopen(urllib.request.Request(base + "/api/me", headers={"Authorization": "Bearer " + refreshed["access_token"]})).read())
assert me == {"sub": "alice", "client_id": "demo-app", "scope": "read write"}, me
meta = json.loads(urllib.request.urlopen(base + "/.well-known/oauth-authorization-server").read())
assert meta["issuer"] == base and meta["code_challenge_methods_supported"] == ["S256"], meta
svc_auth = {"Authorization": "Basic " + base64.b64encode(b"demo-service:demo-service-secret").decode()}
intro = json.loads(urllib.request.urlopen(urllib.request.Request(base + "/introspect", urllib.parse.urlencode({"token": refreshed["access_token"]}).encode(), svc_auth)).read())
assert intro["active"] is True and intro["sub"] == "alice", intro
urllib.request.urlopen(base + "/revoke", urllib.parse.urlencode({"token": refreshed["refresh_token"], "client_id": "demo-app"}).encode())
try:
    urllib.request.urlopen(urllib.request.Request(base + "/api/me", headers={"Authorization": "Bearer " + refreshed["access_token"]}))
    raise SystemExit("a revoked grant's access token still works")
except urllib.error.HTTPError as e:
    assert e.code == 401 and "invalid_token" in e.headers["WWW-Authenticate"], (e.code, e.headers)
print("smoke ok:", loc.split("?")[0], sorted(tok))
