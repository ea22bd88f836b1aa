"""schemathesis against /api/openapi.json of a running forum: no server errors, every answer as documented.

Two passes over every operation: signed out, then as a consented admin (which reaches the handlers behind
the sign-in and CSRF checks). Checks: all of schemathesis's, except `positive_data_acceptance`, which expects
2xx for every schema-valid body; the forum refuses some on purpose with a documented 400 (a taken handle,
a password equal to the email, a topic in a category you may not start topics in).
Slow (about half a minute); runs in `make test` and CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import LiveForum, new_category, new_participant, new_topic, sign_in

pytestmark = pytest.mark.slow

ST = str(Path(sys.executable).parent / "st")
SEED = "20261125"
# ending the session or the account mid-run would turn the rest of the authenticated pass into 401s
SESSION_ENDING = ["DELETE /api/v1/session", "DELETE /api/v1/sessions", "DELETE /api/v1/me",
                  "DELETE /api/v1/consent", "POST /api/v1/me/password"]


def _run(base: str, tmp_path: Path, name: str, *extra: str) -> tuple[int, str]:
    result = subprocess.run(
        [ST, "run", f"{base}/api/openapi.json", "--checks", "all", "--exclude-checks", "positive_data_acceptance",
         "--max-examples", "25", "--phases", "examples,coverage,fuzzing", "--seed", SEED, "-w", "2",
         "--request-timeout", "30", "--report", "junit", "--report-junit-path", str(tmp_path / f"{name}.xml"),
         *extra],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    return result.returncode, result.stdout + result.stderr


async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(tmp_path, capsys):
    forum = LiveForum(tmp_path)
    email, password = forum.prepare()
    try:
        _, base = forum.start()
        admin = await sign_in(base, email, password)
        version = (await admin.get("/api/v1/consent")).json()["policy"]["version"]
        await admin.api("POST", "/api/v1/consent", {"policy_version": version})
        category = await new_category(admin)
        writer = await new_participant(base)
        for n in range(3):  # something behind the small ids the generator tries first
            topic = await new_topic(writer, category, f"Schema topic {n}")
            await writer.api("POST", f"/api/v1/topics/{topic}/posts", {"body": f"Reply {n}"})
        anon_code, anon_out = _run(base, tmp_path, "anonymous")
        # the document's own security schemes, so schemathesis also tries each operation without them
        (tmp_path / "signed-in").mkdir()
        (tmp_path / "signed-in" / "schemathesis.toml").write_text(
            f'[auth.openapi.session]\napi_key = "{admin.cookies["forum_session"]}"\n'
            f'[auth.openapi.csrf]\napi_key = "{admin.csrf}"\n')
        auth_code, auth_out = _run(base, tmp_path / "signed-in", "signed-in",
                                   *[arg for op in SESSION_ENDING for arg in ("--exclude-name", op)])
        await admin.aclose()
        await writer.aclose()
    finally:
        forum.stop_all()
    assert anon_code == 0, anon_out[-6000:]
    assert auth_code == 0, auth_out[-6000:]
    assert "Traceback" not in forum.log_text()
    with capsys.disabled():
        for label, out in (("signed out", anon_out), ("signed in", auth_out)):
            summary = [line.strip() for line in out.splitlines() if "generated," in line]
            print(f"\n[schemathesis] {label}: {summary[-1] if summary else '?'}")

