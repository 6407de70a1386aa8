"""Top-level help, examples and exit codes in every command's help, shell completion."""

import shutil
import subprocess

import pytest

from trail_validators.cli import help_text
from trail_validators.cli.main import _parser, main


def every_command(parser=None, path=()):
    parser = parser or _parser()
    for name, child in help_text.subcommands(parser).items():
        yield (*path, name), child
        yield from every_command(child, (*path, name))


COMMANDS = [path for path, _ in every_command()]


def test_top_level_help_names_every_command_with_its_line(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    top = help_text.subcommands(_parser())
    assert {"audit-access-logs", "validate-logs", "check-posture", "evidence", "analytics", "completion"} <= set(top)
    for name in top:
        assert f"    {name}" in out
    assert "exit status:" in out and "examples:" in out


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_help_has_examples_of_itself_and_the_exit_codes(path, capsys):
    with pytest.raises(SystemExit):
        main([*path, "--help"])
    out = capsys.readouterr().out
    examples = out.split("examples:\n", 1)[1].split("exit status:", 1)[0]
    assert f"secure-trail {path[-1]}" in examples or " ".join(path) in examples
    assert "  1  findings above info" in out and "  2  usage" in out


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_lists_every_command_and_option_of_the_parser(shell, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "--trail-arn" in script and "--min-tls" in script and '"analytics setup"' in script
    for path, child in every_command():
        assert f'"{" ".join(path)}") words=' in script
        for action in child._actions:
            for flag in action.option_strings:
                if flag.startswith("--"):
                    assert flag in script


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
@pytest.mark.parametrize(("line", "expected"), [
    ("secure-trail val", {"validate-logs"}),
    ("secure-trail validate-logs --trail", {"--trail-arn"}),
    ("secure-trail analytics setup --serv", {"--service"}),
    ("secure-trail completion z", {"zsh"}),
])
def test_bash_completion_completes_commands_and_options(line, expected, capsys):
    main(["completion", "bash"])
    script = capsys.readouterr().out
    words = line.split(" ")
    probe = (f"{script}\nCOMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; _secure_trail; "
             'printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout
    assert set(out.split()) == expected
