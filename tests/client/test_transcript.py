"""The transcript shows real exchanges with the sandbox as curl + answer, and never a secret."""

from __future__ import annotations

import os

import requests

from c2c_helpers import C2CClient, plan_chunks, upload_chunk
from c2c_helpers.lab.transcript import Transcript, curl
from c2c_helpers.pairing import pair_device
from c2c_sandbox import Sandbox


def test_create_asset_shows_as_curl_with_a_heredoc(sandbox: Sandbox) -> None:
    client = C2CClient(sandbox.api_url, sandbox.access_token)
    log = Transcript(client.session, client.api_url)
    asset = client.create_asset("clip.mp4", "video/mp4", 11 * 1024 * 1024, 10, parts=2)
    log.name_urls(asset.upload_urls)
    text = log.last().text()
    assert text.startswith('$ curl -X POST "$C2C_API_URL/v2/devices/assets"')
    assert '--header "Authorization: Bearer $C2C_ACCESS_TOKEN"' in text and "<<'__JSON__'" in text
    assert '"filesize": 11534336' in text and "HTTP 200 OK" in text and '"status": "created"' in text
    assert sandbox.access_token not in text and "X-Amz-Signature" not in text and "X-Amz-Credential" not in text
    assert "<signature redacted>" in text
    assert log.last()._repr_markdown_().startswith("```bash\n$ curl")


def test_a_part_put_shows_the_guides_pipe_and_the_s3_answer(sandbox: Sandbox, tmp_path) -> None:
    client = C2CClient(sandbox.api_url, sandbox.access_token)
    data = tmp_path / "clip.mp4"
    data.write_bytes(os.urandom(6 * 1024 * 1024))
    asset = client.create_asset("clip.mp4", "video/mp4", data.stat().st_size, 0)
    parts = requests.Session()
    log = Transcript(parts, client.api_url)
    log.name_urls(asset.upload_urls)
    chunk = plan_chunks(data.stat().st_size, asset.upload_urls)[0]
    upload_chunk(data, chunk, "video/mp4", session=parts)
    text = log.last(body_from=f"head -c {chunk.size} clip.mp4").text()
    assert text.startswith(f'$ head -c {chunk.size} clip.mp4 | \\\ncurl -X PUT "<upload_urls[0]>"')
    assert "--header 'x-amz-acl: private'" in text and "--data-binary @-" in text and 'ETag: "' in text
    wrong = parts.put(chunk.url, data=b"x", headers={"Content-Type": "video/quicktime", "x-amz-acl": "private"})
    assert wrong.status_code == 403
    answer = log.last().answer()
    assert "<Code>SignatureDoesNotMatch</Code>" in answer and "<AWSAccessKeyId><redacted></AWSAccessKeyId>" in answer
    assert sandbox.signer.access_key not in answer


def test_pairing_requests_keep_their_secrets_in_shell_variables(sandbox: Sandbox) -> None:
    session = requests.Session()
    log = Transcript(session, sandbox.api_url)
    pair_device(
        sandbox.api_url,
        "SN-TRANSCRIPT",
        sandbox.client_secret,
        session=session,
        show_code=lambda code: sandbox.approve(code.user_code),
    )
    texts = [e.text() for e in log.exchanges]
    assert "--form client_id=SN-TRANSCRIPT" in texts[0] and '--form "client_secret=$C2C_CLIENT_SECRET"' in texts[0]
    assert "boundary=" not in texts[0]
    assert '"device_code": "<redacted>"' in texts[0]
    assert '"access_token": "<redacted>"' in texts[-1] and '"refresh_token": "<redacted>"' in texts[-1]
    assert all(sandbox.client_secret not in t for t in texts)


def test_urls_outside_the_api_are_redacted() -> None:
    request = requests.Request(
        "PUT",
        "https://s3.example/b/k?partNumber=1&X-Amz-Signature=ab12",
        headers={"Content-Type": "video/mp4"},
        data=b"x",
    ).prepare()
    shown = curl(request, api_url="http://127.0.0.1:1")
    assert "ab12" not in shown and "<signature redacted>" in shown


def test_answers_show_the_api_as_a_variable_so_no_dead_port_is_saved(sandbox: Sandbox) -> None:
    """A sandbox's port dies with it: answers (pairing URIs, part URLs on the sandbox's host) hold none."""
    session = requests.Session()
    log = Transcript(session, sandbox.api_url)
    pair_device(
        sandbox.api_url,
        "SN-NO-PORT",
        sandbox.client_secret,
        session=session,
        show_code=lambda code: sandbox.approve(code.user_code),
    )
    code_answer = log.exchanges[0].answer()
    assert '"verification_uri": "$C2C_API_URL/pair"' in code_answer
    assert '"verification_uri_complete": "$C2C_API_URL/pair?code=' in code_answer
    client = C2CClient(sandbox.api_url, sandbox.access_token, session=session)
    asset = client.create_asset("clip.mp4", "video/mp4", 11 * 1024 * 1024, 10, parts=2)
    answer = log.last().answer()
    assert sandbox.api_url not in answer and "X-Amz-Signature" not in answer
    if asset.upload_urls[0].startswith(sandbox.api_url):  # the sandbox's own part store: same host
        assert '"$C2C_API_URL/' in answer and "partNumber=1&uploadId=" in answer and "<signature redacted>" in answer
    # an unnamed presigned URL on the API's host: the variable, and never its signature
    shown = log.last().answer() + curl(requests.Request("PUT", asset.upload_urls[0]).prepare(), api_url=sandbox.api_url)
    assert "X-Amz-Signature" not in shown and "X-Amz-Credential" not in shown


def test_only_the_api_url_itself_is_replaced() -> None:
    request = requests.Request("GET", "http://127.0.0.1:80/v2/me?fields=a,b").prepare()
    assert curl(request, api_url="http://127.0.0.1:80") == 'curl -X GET "$C2C_API_URL/v2/me?fields=a,b"'
    other = requests.Request("GET", "http://127.0.0.1:8080/v2/me").prepare()
    assert curl(other, api_url="http://127.0.0.1:80") == "curl -X GET http://127.0.0.1:8080/v2/me"
