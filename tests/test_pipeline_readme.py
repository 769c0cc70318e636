"""The README's "In your pipeline" lines, run as a CI job runs them: `sh -e` on exactly the block
the README shows, with `asm-mock` from this venv on PATH. Only what the block itself reads from
the environment differs from a real job: `ASM_MOCK_PORT` (a free port) and `CLIENT_TESTS` (a
client written here, instead of `npm test`).

Each job runs in a process group of its own, so the test can see whether anything it started
outlived it (the trap's work), and ends whatever did, whatever the assertions say.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
import yaml

from asm_mock.testing import (
    AGENT_CREDENTIALS,
    API_PATH,
    TOKEN_PATH,
    free_port,
    password_form,
    scrubbed_environment,
)
from tests.helpers import REPO

JUNIT_XSD = Path(__file__).with_name("data") / "junit-10.xsd"
HEADING = "## In your pipeline\n"
FIRST_LINE = (
    "# asm-mock in a CI job (tests/test_pipeline_readme.py runs exactly these lines, with sh -e)"
)
# What this test relies on the block reading and writing: without one of them it changed shape.
SHAPE = (
    '"${ASM_MOCK_PORT:-9002}"',
    "${CLIENT_TESTS:-npm test}",
    "asm-mock serve ",
    "asm-mock wait ",
    "trap ",
    "${GITHUB_STEP_SUMMARY:-asm-mock-report.md}",
    "--format junit --fail-on violations > asm-mock-report.xml",
)
VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's python is a symlink
JOB_TIMEOUT_S = 180.0  # the block waits up to 60 s for the mock; a hang fails, never blocks
SEARCH_200 = "GET /customers/search answers 200"

# A client's test suite: the demo agent logs in and searches, sending the extra query
# parameters it is given (`pageSize=lots` breaks the contract); `--exit N` fails the suite.
CLIENT = f"""
import os, sys
import httpx

exit_status = 0
query = {{"query": "weber", "baseSite": "electronics-spa"}}
for argument in sys.argv[1:]:
    if argument.startswith("--exit="):
        exit_status = int(argument.removeprefix("--exit="))
    else:
        name, value = argument.split("=", 1)
        query[name] = value
with httpx.Client(base_url=os.environ["ASM_MOCK_URL"], trust_env=False) as client:
    login = client.post({TOKEN_PATH!r}, data={password_form(**AGENT_CREDENTIALS)!r})
    token = login.raise_for_status().json()["access_token"]
    answer = client.get(
        {API_PATH + "/customers/search"!r}, params=query,
        headers={{"Authorization": "Bearer " + token}},
    )
    print("client: search answered", answer.status_code)
sys.exit(exit_status)
"""
# A job cancelled while the client's tests run: the runner signals the job's shell.
CANCEL = "import os, signal; os.kill(os.getppid(), signal.SIGTERM)"


def pipeline_section() -> str:
    readme = (REPO / "README.md").read_text()
    if readme.count(HEADING) != 1:
        pytest.fail(f"README.md needs exactly one {HEADING.strip()!r} section")
    return readme.split(HEADING, 1)[1].split("\n## ", 1)[0]


def fenced(section: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)


def pipeline_block() -> str:
    """The README's block, exactly; the test fails here when it is missing or changed shape."""
    blocks = fenced(pipeline_section(), "sh")
    if len(blocks) != 1:
        pytest.fail(f"{HEADING.strip()!r} needs exactly one ```sh block, has {len(blocks)}")
    block: str = blocks[0]
    if not block.startswith(FIRST_LINE + "\n"):
        pytest.fail(f"the pipeline block must start with the line {FIRST_LINE!r}")
    missing = [part for part in SHAPE if part not in block]
    if missing:
        pytest.fail(f"the pipeline block changed shape: no {missing}; update this test with it")
    return block


@dataclass(frozen=True)
class Job:
    returncode: int
    log: str  # the job's stdout and stderr, the mock's included
    directory: Path
    outlived_by: bool  # something the job started was still running when it ended

    def junit(self) -> ElementTree.Element:
        xml = (self.directory / "asm-mock-report.xml").read_text()
        xmlschema.XMLSchema(JUNIT_XSD).validate(xml)
        return ElementTree.fromstring(xml)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _end_group(job: subprocess.Popen[bytes]) -> None:
    """End what is left of the job's process group (its own: start_new_session)."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(job.pid):
            return
        os.killpg(job.pid, signum)
        try:
            job.wait(timeout=10)  # reaped, or the shell's zombie keeps the group alive
        except subprocess.TimeoutExpired:
            continue
        for _ in range(200):  # the rest are not our children: nothing to wait on but this
            if not _group_alive(job.pid):
                return
            time.sleep(0.05)


def run_job(directory: Path, client_tests: str, **environment: str) -> Job:
    """The README's block saved as ci/asm-mock.sh and run with `sh -e` in `directory`, with
    CLIENT_TESTS=`client_tests`, on a free port; the job's whole process group is ended
    before this returns, whatever happened."""
    script = directory / "ci" / "asm-mock.sh"  # where the README's snippets keep it
    script.parent.mkdir()
    script.write_text(pipeline_block())
    (directory / "client.py").write_text(CLIENT)
    (directory / "cancel.py").write_text(CANCEL)
    if not (VENV_BIN / "asm-mock").exists():
        pytest.fail(f"no asm-mock in {VENV_BIN}: run `make install`")
    env = scrubbed_environment()
    env.pop("GITHUB_STEP_SUMMARY", None)  # never write to the summary of a job running us
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', os.defpath)}",
        ASM_MOCK_PORT=str(free_port()),
        CLIENT_TESTS=client_tests,
        **environment,
    )
    log_path = directory / "job.log"
    with log_path.open("wb") as log:  # a file, not a pipe: the mock inherits it
        job = subprocess.Popen(
            ["sh", "-e", str(script)],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            returncode = job.wait(timeout=JOB_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _end_group(job)
            pytest.fail(f"the job did not end in {JOB_TIMEOUT_S:g} s:\n{log_path.read_text()}")
        outlived_by = _group_alive(job.pid)
    finally:
        _end_group(job)
    return Job(returncode, log_path.read_text(errors="replace"), directory, outlived_by)


def assert_ended_cleanly(job: Job) -> None:
    assert not job.outlived_by, f"a process of the job outlived it:\n{job.log}"
    assert "Traceback" not in job.log, job.log
    assert "asm-mock serving http://127.0.0.1:" in job.log, job.log


def exercised(junit: ElementTree.Element, name: str) -> bool:
    case = junit.find(f".//testcase[@name='{name}']")
    assert case is not None, ElementTree.tostring(junit, encoding="unicode")
    return case.find("skipped") is None


def test_a_client_that_keeps_the_contract_passes_the_job(tmp_path: Path) -> None:
    job = run_job(tmp_path, "python client.py")

    assert job.returncode == 0, job.log
    assert "client: search answered 200" in job.log
    junit = job.junit()
    assert junit.get("failures") == "0"
    assert exercised(junit, SEARCH_200)
    # no GITHUB_STEP_SUMMARY (GitLab, a laptop): the markdown goes next to the JUnit file
    assert "searchCustomers" in (tmp_path / "asm-mock-report.md").read_text()
    assert_ended_cleanly(job)


def test_a_client_that_breaks_the_contract_fails_the_job_through_the_report(
    tmp_path: Path,
) -> None:
    summary = tmp_path / "step-summary.md"
    job = run_job(tmp_path, "python client.py pageSize=lots", GITHUB_STEP_SUMMARY=str(summary))

    assert job.returncode == 1, job.log
    assert "client: search answered 400" in job.log  # the client's own tests did not notice
    assert "asm-mock: failing on violations: 1 requests broke the contract (1 kinds)" in job.log
    junit = job.junit()
    assert junit.get("failures") == "1"
    failures = [f.get("message") for f in junit.iter("failure")]
    assert failures == ["1 x parameter pageSize: invalid: value is not of type 'integer'"]
    assert "| searchCustomers | parameter pageSize |" in summary.read_text()
    assert not (tmp_path / "asm-mock-report.md").exists()
    assert_ended_cleanly(job)


def test_failed_client_tests_fail_the_job_and_still_leave_the_report(tmp_path: Path) -> None:
    job = run_job(tmp_path, "python client.py --exit=3")

    assert job.returncode == 3, job.log
    assert exercised(job.junit(), SEARCH_200)
    assert_ended_cleanly(job)


def test_a_cancelled_job_stops_the_mock(tmp_path: Path) -> None:
    job = run_job(tmp_path, "python cancel.py")

    assert job.returncode == 128 + signal.SIGTERM, job.log
    assert not (tmp_path / "asm-mock-report.xml").exists()
    assert_ended_cleanly(job)


def test_the_ci_snippets_run_the_block_and_keep_what_it_writes() -> None:
    snippets = fenced(pipeline_section(), "yaml")
    assert len(snippets) == 2  # GitHub Actions, GitLab CI
    for snippet in snippets:
        yaml.safe_load(snippet)
        assert "sh -e ci/asm-mock.sh" in snippet
        assert "CLIENT_TESTS" in snippet
        assert "asm-mock-report.xml" in snippet
    github, gitlab = snippets
    assert "report_paths: asm-mock-report.xml" in github
    assert "junit: asm-mock-report.xml" in gitlab and "asm-mock-report.md" in gitlab
