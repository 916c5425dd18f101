"""S3 requests connect to the endpoint address the private-target check saw (no DNS rebinding), keeping the
endpoint's name for the Host header, the SigV4 signature and TLS. Names resolve through a resolver the test
controls; `localhost` is 127.0.0.1 to the system resolver, so a second resolution at connect time would reach
the local server."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from litestar import Litestar
from moto.server import ThreadedMotoServer

from app.domain.archives.storage import S3Location, S3Sink, StorageError, s3_client
from app.lib.targets import TargetPolicy, resolve_target
from app.sandbox import SandboxDC
from app.server.app import create_app
from tests.conftest import Backend, _reset, bearer, make_settings, register_and_login, sandbox_env
from tests.domain.archives.helpers import as_tuples, expected, wait_for
from tests.domain.archives.test_s3_targets import ready_profile, s3_target
from tests.domain.webhooks.test_pinning import PUBLIC, ScriptedResolver
from tests.live import Receiver, free_port, running_receiver

pytestmark = pytest.mark.asyncio

NAME = "s3.pinned.test"  # unknown to the system resolver: only the test's resolver answers it
BUCKET = "pinned"
STATIC_KEYS = {"region_name": "us-east-1", "aws_access_key_id": "k", "aws_secret_access_key": "s"}


@pytest.fixture
def resolver() -> ScriptedResolver:
    return ScriptedResolver()


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"ARCHIVE_BATCH_SIZE": "100", "ARCHIVE_POLL_INTERVAL_S": "0.05", "ARCHIVE_RETRY_AFTER_S": "0.2"}


@pytest.fixture
async def app(
    backend: Backend, sandbox: SandboxDC, settings_overrides: dict[str, str], resolver: ScriptedResolver
) -> AsyncIterator[Litestar]:
    env = {**backend.env, **sandbox_env(sandbox), **settings_overrides}
    application = create_app(make_settings(Path(backend.env["DATA_DIR"]), **env), resolver=resolver)
    yield application
    await _reset(application)


@pytest.mark.parametrize(
    "settings_overrides", [{"WEBHOOK_ALLOW_PRIVATE_TARGETS": "false", "ARCHIVE_POLL_INTERVAL_S": "0.05"}], indirect=True
)
async def test_the_bucket_check_never_connects_to_an_internal_address_behind_a_public_answer(
    client, app, sandbox, resolver
):
    resolver.answers["localhost"] = [PUBLIC]
    headers = bearer(await register_and_login(client, "ada@example.com"))
    channel = await ready_profile(client, app, sandbox, headers)
    async with running_receiver(Receiver()) as local_s3:
        endpoint = local_s3.url.removesuffix("/hook").replace("127.0.0.1", "localhost")
        body = {"channel": f"@{channel.username}", "target": s3_target(endpoint)}
        response = await client.post("/archives", json=body, headers=headers)
        assert local_s3.requests == []
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "s3_unreachable"
    assert "localhost" in resolver.asked


async def test_a_run_writes_only_to_the_address_checked_for_it():
    credentials: dict[str, str | None] = {"access_key_id": "k", "secret_access_key": "s"}
    answers = ScriptedResolver()
    answers.answers["localhost"] = [PUBLIC]
    async with running_receiver(Receiver()) as local_s3:
        endpoint = local_s3.url.removesuffix("/hook").replace("127.0.0.1", "localhost")
        location = S3Location(bucket=BUCKET, prefix="", endpoint_url=endpoint, region=None)
        public = await resolve_target(endpoint, TargetPolicy(allow_private=False, resolver=answers))
        with pytest.raises(StorageError):
            await S3Sink(location, credentials, "a", public).write_batch(b"{}\n", 0)
        assert local_s3.requests == []
    with pytest.raises(ValueError, match="checked"):  # an endpoint is never connected to without a checked address
        s3_client(location, credentials, None)

    # Once the checked answer is the server's own address, the same kind of sink writes there.
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        endpoint = f"http://localhost:{port}"
        location = S3Location(bucket=BUCKET, prefix="", endpoint_url=endpoint, region=None)
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", **STATIC_KEYS).create_bucket(Bucket=BUCKET)
        answers.answers["localhost"] = ["127.0.0.1"]
        local = await resolve_target(endpoint, TargetPolicy(allow_private=True, resolver=answers))
        assert await S3Sink(location, credentials, "a", local).write_batch(b"{}\n", 0) == 1
        stored = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", **STATIC_KEYS).get_object(
            Bucket=BUCKET, Key="a/messages/part-00000001.jsonl"
        )
        assert stored["Body"].read() == b"{}\n"
    finally:
        moto.stop()


@dataclass(frozen=True)
class AuthenticatingS3:
    """moto's S3 in its own process, over TLS with a certificate for NAME only, checking every SigV4 signature."""

    port: int
    certificate: Path
    access_key_id: str
    secret_access_key: str

    @property
    def endpoint(self) -> str:
        return f"https://{NAME}:{self.port}"

    def client(self):  # reached at 127.0.0.1, which the certificate does not name: the test's own reads skip it
        return boto3.client(
            "s3",
            endpoint_url=f"https://127.0.0.1:{self.port}",
            region_name="us-east-1",
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            verify=False,
        )


def certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "s3.pem", directory / "s3.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "moto server exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise AssertionError("moto server did not start")


@pytest.fixture
def authenticating_s3(tmp_path: Path) -> Iterator[AuthenticatingS3]:
    cert, key = certificate_for(NAME, tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "INITIAL_NO_AUTH_ACTION_COUNT": "4",  # the setup below; every later request must be signed correctly
        "S3_IGNORE_SUBDOMAIN_BUCKETNAME": "true",  # NAME is not a bucket subdomain
    }
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port), "-c", str(cert), "-k", str(key)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, process)
        setup = {"region_name": "us-east-1", "aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
        iam = boto3.client("iam", endpoint_url=f"https://127.0.0.1:{port}", verify=False, **setup)
        iam.create_user(UserName="archiver")
        access = iam.create_access_key(UserName="archiver")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="archiver", PolicyName="s3", PolicyDocument=json.dumps(policy))
        boto3.client("s3", endpoint_url=f"https://127.0.0.1:{port}", verify=False, **setup).create_bucket(Bucket=BUCKET)
        yield AuthenticatingS3(port, cert, access["AccessKeyId"], access["SecretAccessKey"])
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
async def test_an_export_reaches_s3_at_the_checked_address_under_the_endpoints_name(
    client, app, sandbox, resolver, authenticating_s3, monkeypatch
):
    # The certificate names only NAME and the system resolver does not know NAME: the export completes only if
    # every connection goes to the checked address while TLS verifies NAME and moto verifies each signature
    # over the Host header NAME:port. (Private targets are allowed here, as everywhere in tests.)
    resolver.answers[NAME] = ["127.0.0.1"]
    monkeypatch.setenv("AWS_CA_BUNDLE", str(authenticating_s3.certificate))
    headers = bearer(await register_and_login(client, "ada@example.com"))
    channel = await ready_profile(client, app, sandbox, headers)
    target = {
        "type": "s3",
        "bucket": BUCKET,
        "prefix": "ada",
        "endpoint_url": authenticating_s3.endpoint,
        "access_key_id": authenticating_s3.access_key_id,
        "secret_access_key": authenticating_s3.secret_access_key,
    }
    ref = f"@{channel.username}"
    created = await client.post("/archives", json={"channel": ref, "target": target}, headers=headers)
    assert created.status_code == 201, created.text
    done = await wait_for(client, headers, created.json()["id"], {"completed"})

    s3 = authenticating_s3.client()
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="ada/")["Contents"])
    lines = [
        json.loads(line)
        for key in keys
        for line in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    ]
    assert as_tuples(lines) == expected(channel)
    assert done["location"] == f"s3://{BUCKET}/ada/{done['id']}"

    forged = {**target, "secret_access_key": "not-the-secret"}  # the server does check signatures
    refused = await client.post("/archives", json={"channel": ref, "target": forged}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "s3_unreachable"
