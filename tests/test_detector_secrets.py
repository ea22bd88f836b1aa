"""Issue 19: the secrets Yelp's detect-secrets finds are found here too (each built in the test, never pasted
whole), and the hashes, UUIDs and commit ids its entropy detectors hold stay quiet."""

import base64
import hashlib
import uuid

import pytest

from moderation.detectors import scan

ALNUM = "aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zA1bC2dE3fG4hJ5kL6"


def kinds(text: str) -> list[str]:
    return [finding.kind for finding in scan(text)]


AZURE_KEY = base64.b64encode(bytes(range(64))).decode()  # 88 characters ending in "=="
SECRETS = {
    "aws-secret-access-key": "aws_secret_access_key = " + ALNUM[:20] + "/" + ALNUM[20:39],
    "aws-secret-in-json": '"AWS_SECRET_ACCESS_KEY": "' + ALNUM[:40] + '"',
    "slack-webhook": "https://hooks.slack.com/services/T0" + "1234567/B0" + "1234567/" + ALNUM[:24],
    "azure-storage": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" + AZURE_KEY + ";",
    "npm-authtoken": "//registry.npmjs.org/:_authToken=" + "npm_" + ALNUM[:36],
    "npm-authtoken-uuid": "//npm.acme.no/:_authToken=" + str(uuid.UUID(int=12345678901234567890)),
    "gitlab": "token: glpat-" + ALNUM[:20],
    "gitlab-bare": "glpat-" + ALNUM[:20],
    "authorization-basic": "Authorization: Basic " + base64.b64encode(b"regnskap:Sommer2024!").decode(),
    "authorization-bearer": "curl -H 'Authorization: Bearer " + ALNUM[:32] + "' https://api.acme.no",
    "password-in-url": "https://integrasjon:Vinter2025x@api.acme.no/v1",
    "password-in-db-url": "DATABASE_URL=postgres://app:s3cretPass@db.internal:5432/regnskap",
    "xml-password": "<Password>Hemmelig123</Password>",
    "xml-appsetting": '<add key="SmtpPassword" value="Sommer2024!" />',
    "putty": "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20261201",
    "ssh2": "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: \"rsa-key\"\nP2/56wAAAi4AAAA3aWYt\n",
}
KIND = {"putty": "private_key", "ssh2": "private_key"}


@pytest.mark.parametrize("text", SECRETS.values(), ids=SECRETS.keys())
def test_secrets_detect_secrets_finds_are_found(text):
    name = next(key for key, value in SECRETS.items() if value == text)
    assert kinds(f"Konfigurasjonen:\n\n```\n{text}\n```\n") == [KIND.get(name, "api_key")]


HARMLESS = {
    "md5-in-log": f"2026-12-01 12:00:01 INFO upload ok md5={hashlib.md5(b'x').hexdigest()}",
    "sha256-in-log": f"sha256: {hashlib.sha256(b'x').hexdigest()}  faktura-2026.pdf",
    "sha256sum": f"{hashlib.sha256(b'y').hexdigest()}  regnskap-3.11.7.tar.gz",
    "sri": '<script src="/app.js" integrity="sha384-'
    + base64.b64encode(hashlib.sha384(b"z").digest()).decode() + '" crossorigin="anonymous"></script>',
    "uuid": f"request_id={uuid.UUID(int=98765432109876543210)} status=500",
    "commit": f"commit {hashlib.sha1(b'c').hexdigest()}\nAuthor: Ola <ola@example.no>",
    "etag": f'ETag: "{hashlib.md5(b"e").hexdigest()}"',
    "env-dump": "PWD=/srv/integrasjon2024\nOLDPWD=/home/ola\nHOME=/home/ola\nLANG=nb_NO.UTF-8",
    "token-url": "token_url: https://login.acme.no/oauth2/v2.0/token",
    "url-without-password": "https://ola@github.com/acme/regnskap.git",
    "url-placeholder": "postgres://app:${DB_PASSWORD}@db:5432/regnskap",
    "authorization-placeholder": "Authorization: Bearer <token>",
    "authorization-variable": 'Authorization: Bearer $TOKEN',
    "xml-placeholder": "<Password>********</Password>",
    "npm-env": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    "aws-access-key-name": "aws_secret_access_key = (hentes fra Parameter Store)",
}


@pytest.mark.parametrize("text", HARMLESS.values(), ids=HARMLESS.keys())
def test_hashes_uuids_commits_env_dumps_and_placeholders_are_no_secret(text):
    assert kinds(text) == []
