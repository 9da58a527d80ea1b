"""Who is told what and how: outbox rules, texts, channels, the worker."""
