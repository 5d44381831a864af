"""`shipyard host setup`'s plan carried out: printed as a bash script to run as root
(`render_script`), or applied step by step over a privileged ssh login (`apply_plan`).

Why apart from setup.py: that module decides what the host needs (pure, reviewable);
this one only performs or prints a plan it is given.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.deploy.setup import FileStep, RunStep, SetupPlan, Step
from shipyard.deploy.target import Target
from shipyard.errors import ShipyardError, UsageError
from shipyard.tools import ssh
from shipyard.tools.process import Result

# -- printing --------------------------------------------------------------------------------------


def render_script(plan: SetupPlan) -> str:
    """The plan as a bash script to run as root on the host (no secret inside)."""
    setup = plan.setup
    out = [
        "#!/bin/bash",
        f"# shipyard host setup for {setup.environment}: run as root on {setup.target.host}.",
        "# Review it first. Each step is safe to run again.",
        "set -euo pipefail",
        "",
    ]
    for number, step in enumerate(plan.steps, 1):
        out.append(f"# {number}. {step.description}")
        command = shlex.join(step.command)
        if isinstance(step, FileStep):
            out += _heredoc(command, step.content)
        elif step.secret is not None:
            variable = "SHIPYARD_" + re.sub(r"\W", "_", step.secret).upper()
            out.append(f"read -rsp {shlex.quote(f'{step.secret}: ')} {variable}; echo")
            out.append(f'printf %s "${variable}" | {command}')
            out.append(f"unset {variable}")
        else:
            out.append(command)
        out.append("")
    return "\n".join(out)


def _heredoc(command: str, content: str) -> list[str]:
    delimiter = "SHIPYARD_EOF"
    while delimiter in content:
        delimiter += "_"
    body = content if content.endswith("\n") else content + "\n"
    return [f"{command} <<'{delimiter}'", body + delimiter]


# -- applying --------------------------------------------------------------------------------------


class SetupStepFailed(ShipyardError):
    """A setup step failed on the host; the message names the step."""


@dataclass(frozen=True)
class StepResult:
    number: int
    step: Step
    result: Result


def apply_plan(
    plan: SetupPlan,
    admin: Target,
    *,
    known_hosts_file: Path,
    key_file: Path | None,
    secrets: Mapping[str, str],
    on_step: Callable[[int, Step], None] = lambda number, step: None,
    on_output: Callable[[str], None] | None = None,
) -> list[StepResult]:
    """Run every step as root over ssh to `admin`, in order; stop at the first failure.

    `key_file` None uses the admin's own ssh agent and default keys (host key
    still strictly checked against `known_hosts_file`).
    """
    missing = sorted({s.secret for s in plan.steps if isinstance(s, RunStep) and s.secret}
                     - set(secrets))
    if missing:
        raise UsageError(f"the setup needs the {missing[0]}",
                         hint="give it on stdin or in a file, never as an argument")
    done: list[StepResult] = []
    for number, step in enumerate(plan.steps, 1):
        on_step(number, step)
        stdin = step.content if isinstance(step, FileStep) else (
            secrets[step.secret] if step.secret else None)
        result = ssh.run_remote(
            admin.destination, port=admin.port, key_file=key_file,
            known_hosts_file=known_hosts_file, remote=[shlex.join(step.command)],
            input=stdin, on_output=on_output, timeout=600,
        )
        if not result.ok:
            lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
            last = lines[-1].strip() if lines else "no output"
            raise SetupStepFailed(
                f"setup step {number} ({step.description}) failed on {admin.host} "
                f"with exit code {result.returncode}: {last}",
                hint="fix the cause on the host and run the setup again (steps are repeatable)",
                details=result.stdout,
            )
        done.append(StepResult(number, step, result))
    return done


