"""The sandbox's web page as a person uses it: pair a device by typing its code, watch the upload, play the clip."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from c2c_helpers import C2CClient, make_test_clip, upload_file
from c2c_helpers.pairing import poll_for_tokens, request_device_code
from c2c_sandbox import Sandbox

pytestmark = pytest.mark.ui

CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll("h1, h2, p, label, button, .badge, .part, .meta, .sha, .folder, .name")) {
    if (!el.textContent.trim()) continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
    out.push({text: el.textContent.trim().slice(0, 30), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
  }
  return out;
}"""


@pytest.fixture
def sb(tmp_path) -> Iterator[Sandbox]:
    with Sandbox(data_dir=tmp_path / "sandbox", poll_interval=1) as sandbox:
        yield sandbox


def test_pairing_by_keyboard_then_upload_then_play(sb: Sandbox, page) -> None:
    code = request_device_code(sb.api_url, "SN-UI-0001", sb.client_secret)
    tokens: dict[str, object] = {}
    secret = sb.client_secret
    poller = threading.Thread(
        target=lambda: tokens.update(result=poll_for_tokens(sb.api_url, code, "SN-UI-0001", client_secret=secret)),
        daemon=True,
    )
    poller.start()

    page.goto(f"{sb.api_url}/")
    field = page.get_by_label("Pairing code")  # a labelled field
    assert field.get_attribute("inputmode") == "numeric"
    page.evaluate("document.activeElement.blur()")
    for _ in range(12):  # reach the field with the keyboard alone (it wraps round from the last control)
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "user_code":
            break
    assert page.evaluate("document.activeElement.id") == "user_code"
    page.keyboard.type(code.user_code)
    page.keyboard.press("Enter")
    notice = page.get_by_role("status")
    assert notice.inner_text().startswith(f"Paired: {code.name}")
    poller.join(timeout=15)
    assert not poller.is_alive() and tokens["result"].access_token  # the device's poll got its token

    camera = C2CClient(sb.api_url, tokens["result"].access_token)
    result = upload_file(make_test_clip(), client=camera)
    asset = page.locator(f'[data-asset-id="{result.asset.id}"]')
    asset.wait_for()  # the folder tree refreshes itself every two seconds
    assert asset.get_attribute("data-status") == "complete"
    assert [p.inner_text() for p in asset.locator(".part").all()] == ["part 1: received", "part 2: received"]
    folders = [f.inner_text() for f in page.locator(".folder").all()]
    assert folders[0].endswith("Cloud Devices") and folders[2].endswith("VIDEO") and folders[3].endswith(code.name)

    ranges = []
    page.on("response", lambda r: ranges.append(r.status) if "/original" in r.url else None)
    video = asset.locator("video")
    duration = video.evaluate("""v => new Promise((resolve, reject) => {
        if (v.readyState >= 1) resolve(v.duration);
        v.addEventListener('loadedmetadata', () => resolve(v.duration));
        v.addEventListener('error', () => reject(new Error('video error ' + v.error.code)));
        v.load();
    })""")
    assert duration == pytest.approx(16.0, abs=0.1)
    seeked = video.evaluate("""v => new Promise(resolve => {
        v.addEventListener('seeked', () => resolve(v.currentTime), {once: true});
        v.currentTime = 12;
    })""")
    assert seeked == pytest.approx(12.0, abs=0.5)
    assert 206 in ranges  # the browser fetched byte ranges, and got them


def test_a_wrong_code_is_announced_and_the_form_stays_usable(sb: Sandbox, page) -> None:
    page.goto(f"{sb.api_url}/pair")
    page.get_by_label("Pairing code").fill("123456")
    page.get_by_role("button", name="Pair device").click()
    alert = page.get_by_role("alert")
    assert "no pending pairing with code 123456" in alert.inner_text()
    assert page.get_by_label("Pairing code").get_attribute("aria-invalid") == "true"


def test_text_contrast_is_readable(sb: Sandbox, page) -> None:
    camera = C2CClient(sb.api_url, sb.access_token)
    upload_file(make_test_clip(), client=camera)
    page.goto(f"{sb.api_url}/")
    page.locator('.asset[data-status="complete"]').wait_for()
    ratios = page.evaluate(CONTRAST)
    assert len(ratios) > 10
    poor = [r for r in ratios if r["ratio"] < 4.5]  # WCAG AA for normal text
    assert not poor, poor


def test_no_console_error_players_only_for_playable_media_and_reset(sb: Sandbox, page, tmp_path) -> None:
    camera = C2CClient(sb.api_url, sb.access_token, controls=sb)
    mp4 = upload_file(make_test_clip(), client=camera, wait=True).asset.id
    mov_path = tmp_path / "A001_C003.mov"
    mov_path.write_bytes(make_test_clip().read_bytes()[:2_000_000])
    mov = upload_file(mov_path, client=camera, wait=True).asset.id
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(f"{sb.api_url}/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200
    assert page.locator(f'[data-asset-id="{mp4}"] video').count() == 1
    quicktime = page.locator(f'[data-asset-id="{mov}"]')
    assert quicktime.locator("video, audio").count() == 0
    assert "browsers do not play video/quicktime" in quicktime.inner_text()
    assert not problems, problems

    page.once("dialog", lambda dialog: dialog.accept())  # "Delete every asset ...?"
    page.get_by_role("button", name="Reset: delete all assets").click()
    assert "Deleted 2 assets" in page.get_by_role("status").inner_text()
    assert page.locator(".asset").count() == 0 and sb.store.assets() == []
    assert sb.store.devices()  # devices stay
    assert not problems, problems
