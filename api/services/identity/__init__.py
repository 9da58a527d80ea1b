"""Who is asking and what they may do: users and tokens, page sessions, passwords, the one
authorization policy and area scopes."""
