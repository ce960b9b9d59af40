"""A paste filter that stands where keystonemiddleware's `authtoken` stands
in nova's `keystone` pipeline, for the side-by-side benchmark only.

nova 32 removed `noauth2`; this restores its contract: `X-Auth-Token:
user:project` becomes the `X-User-Id`, `X-Project-Id` and `X-Roles` headers
(plus `X-Identity-Status: Confirmed`) that nova's own `keystonecontext`
filter turns into a request context. User `admin` gets the roles
`admin,member,reader`, every other user `member,reader`. A request without
a token, or with one that is not `user:project`, is answered 401.
"""

ROLES_ADMIN = "admin,member,reader"
ROLES_MEMBER = "member,reader"


class TokenHeaders:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        token = environ.get("HTTP_X_AUTH_TOKEN", "")
        user, sep, project = token.partition(":")
        if not sep or not user or not project:
            body = b'{"error": {"code": 401, "message": "The request you have made requires authentication."}}'
            start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                                 ("Content-Length", str(len(body)))])
            return [body]
        environ["HTTP_X_IDENTITY_STATUS"] = "Confirmed"
        environ["HTTP_X_USER_ID"] = user
        environ["HTTP_X_USER_NAME"] = user
        environ["HTTP_X_PROJECT_ID"] = project
        environ["HTTP_X_PROJECT_NAME"] = project
        environ["HTTP_X_ROLES"] = ROLES_ADMIN if user == "admin" else ROLES_MEMBER
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    return TokenHeaders
