"""Prints tempest's static accounts for the noauth2 cloud of run.sh.

Under noauth2 a token is `user:project` and the user named `admin` is the
admin; any password works. tempest locks one account per test class, so
there are enough of each kind for two workers: members in projects of
their own, readers beside them, and `admin` in several projects.
"""

ROWS = []
for i in range(1, 13):
    ROWS.append(("user%d" % i, "project%d" % i, "member"))
for i in range(1, 5):
    ROWS.append(("reader%d" % i, "project%d" % i, "reader"))
for i in range(1, 7):
    ROWS.append(("admin", "admin" if i == 1 else "admin%d" % i, "admin"))

for user, project, role in ROWS:
    print(
        "- {username: %s, project_name: %s, password: secret, "
        "domain_name: Default, roles: [%s]}" % (user, project, role)
    )
