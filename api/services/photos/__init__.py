"""The case file's photos: decoding, storing, the stage rules and who sees which."""
