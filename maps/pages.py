"""Small pages around the map (the login form), in the map's look.

Plain HTML with the vendored Bootstrap; no script, so the form works with
JavaScript off and nothing on it can be injected through the query string
(every value is escaped).
"""

from __future__ import annotations

from html import escape

__all__ = ["render_login_page"]


def render_login_page(
    *,
    action: str = "/map/login",
    next_url: str = "/map",
    username: str = "",
    error: str = "",
    static: str = "/static",
) -> str:
    """The dispatcher's login form; posts ``username``, ``password`` and ``next``."""
    base = static.rstrip("/")
    alert = f'<div class="alert alert-danger" role="alert">{escape(error)}</div>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fieldroute · log in</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{escape(base)}/vendor/bootstrap/bootstrap.min.css">
</head>
<body class="bg-light">
<main class="container" style="max-width: 360px; margin-top: 12vh;">
  <h1 class="h4 mb-3">fieldroute <small class="text-muted">dispatch map</small></h1>
  {alert}
  <form method="post" action="{escape(action)}" class="card card-body">
    <input type="hidden" name="next" value="{escape(next_url)}">
    <label class="form-label" for="username">Username</label>
    <input class="form-control mb-2" id="username" name="username" autocomplete="username"
      value="{escape(username)}" required autofocus>
    <label class="form-label" for="password">Password</label>
    <input class="form-control mb-3" id="password" name="password" type="password"
      autocomplete="current-password" required>
    <button class="btn btn-primary" type="submit">Log in</button>
  </form>
</main>
</body>
</html>
"""
