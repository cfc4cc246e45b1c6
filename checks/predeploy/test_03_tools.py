"""Pre-deploy gate: tooling (checklist sections 1 and 8)."""

import pytest

from releaseops import pg
from releaseops.release import commands

pytestmark = pytest.mark.order(30)


@pytest.mark.item("pre.tools")
@pytest.mark.parametrize("tool", pg.TOOLS)
def test_tool_available_and_new_enough(tool, target, db, evidence):
    """Verify tooling availability: pg_dump, pg_restore, psql."""
    found = pg.find(tool, target.child_environ())
    server = pg.server_major(db)
    evidence.json(tool, {**found.as_dict(), "server_major": server})
    pg.require_at_least(found, server)


@pytest.mark.item("cmd.canonical")
@pytest.mark.parametrize("command", commands.CANONICAL)
def test_canonical_command_available(command, target, evidence):
    """Canonical operation commands (backup, migrations, FTS sync, deploy) are available."""
    problem = commands.problem(target.repo_root, command)
    evidence.text("command", command)
    assert problem is None, problem
