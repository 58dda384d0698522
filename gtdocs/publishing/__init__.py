"""The parts of `gtdocs publish`: target and URLs, S3 calls, the publish record, pages, upload, verification.

`gtdocs.publish` puts them together; docs/publish.md describes the command for users.
"""
