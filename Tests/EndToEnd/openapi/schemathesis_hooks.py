"""Loaded by schemathesis (schemathesis.toml `hooks`): the CSV uploader's other spellings of CSV are
sent as text, as a browser or a spreadsheet program would send them."""
import schemathesis

for media_type in ("application/csv", "application/vnd.ms-excel"):
    schemathesis.serializer.alias(media_type, "text/plain")
