"""The login page: a plain form (no map, no script), styled by gridgov.css."""

from __future__ import annotations

from html import escape


def login_page(*, next_url: str = "/", error: str | None = None, name: str = "") -> str:
    """HTML of the sign-in form; `error` is shown above it."""
    message = f'<p class="login-error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 Sign in · GridGov</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/gridgov.css">
</head>
<body class="login">
<main class="login-box">
<h1>GridGov 网格化治理</h1>
{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{escape(next_url)}">
<label>用户名 User name <input name="name" autocomplete="username" required
 value="{escape(name)}"></label>
<label>密码 Password <input name="password" type="password" autocomplete="current-password"
 required></label>
<button type="submit">登录 Sign in</button>
</form>
</main>
</body>
</html>
"""
