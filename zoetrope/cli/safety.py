"""`zoetrope verify` and `zoetrope moderate`: provenance and policy checks from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from zoetrope.cli import app

console = Console()


@app.command()
def verify(
    # Not click's own readability check: it would answer a usage error, not the JSON `--json` promises.
    file: Path = typer.Argument(..., help="an MP4, PNG, JPEG or WebP file", readable=False),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Check a file's C2PA content credentials and its invisible Zoetrope watermark.

    Reports the C2PA state (trusted, valid, invalid or not_present) and what the manifest says
    (issuer, actions, model, generation id, the files it was made from and their state), whether
    the watermark is found, with its payload and confidence, and the generation record in this
    machine's data directory. A file of any size is read, a picture at a time. Exits 1, naming the
    problems, when the manifest is invalid (the file changed after signing), claims to be
    Zoetrope's but was signed outside this installation, the watermark names another generation,
    or a file it was made from had been altered or forged; exits 2 when the file is not readable
    media (with --json, as `{"error": {"message", "param"}}` on stdout).
    Example: zoetrope verify clip.mp4 --json
    """
    from zoetrope.cli.media_io import check_input
    from zoetrope.errors import ZoetropeError
    from zoetrope.jobs.local import local_record_lookup
    from zoetrope.safety import verify as run_verify

    try:
        # Named as typed: the reader names the last part of a path alone (`null`, or nothing for `.`).
        check_input(file, "file", "an MP4, PNG, JPEG or WebP file")
        # The user's own file: any size, not an upload (the API keeps its upload limit).
        report = run_verify(file, local_record_lookup(), upload_limits=False)
    except ZoetropeError as e:
        if not as_json:
            raise
        typer.echo(json.dumps({"error": {"message": e.message, "param": e.param}}, indent=2))
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print_report(report)
    if report.problems:
        raise typer.Exit(1)  # tampered with or forged: a script can tell it from a file that checks out


def _print_report(report) -> None:
    c, w = report.c2pa, report.watermark
    colour = {"trusted": "green", "valid": "green", "invalid": "red"}.get(c.state, "yellow")
    console.print(f"[bold]C2PA[/]      [{colour}]{c.state}[/]")
    if c.state != "not_present":
        console.print(f"  issuer     {c.issuer or '-'} ({c.common_name or '-'})")
        console.print(f"  actions    {', '.join(c.actions) or '-'}")
        console.print(f"  model      {c.model or '-'}   generation {c.generation_id or '-'}")
        for source in c.ingredients:
            what = "parent" if source.relationship == "parentOf" and source.depth == 1 else "made from"
            state = f"[red]{source.state}[/]" if source in c.altered_sources else source.state
            console.print(f"  {what:<10} {'  ' * (source.depth - 1)}{source.title or '-'} ({state})")
        for failure in c.failures:
            console.print(f"  [red]failure[/]    {failure}")
    if w.found:
        console.print(f"[bold]Watermark[/] [green]found[/] payload {w.payload} confidence {w.confidence:.2f}")
    else:
        console.print("[bold]Watermark[/] [yellow]not found[/]")
    if report.record:
        r = report.record
        console.print(f"[bold]Record[/]    {r['id']} ({r['status']}, {r['model']}): {r['prompt']}")
    else:
        console.print("[bold]Record[/]    not found in this machine's data directory")
    for note in report.notes:
        console.print(f"[yellow]{note}[/]", soft_wrap=True)
    for problem in report.problems:
        console.print(f"[red]{problem}[/]", soft_wrap=True)


@app.command()
def moderate(
    prompt: str = typer.Argument(..., help="the prompt text to check"),
    as_json: bool = typer.Option(False, "--json", help="print the OpenAI-shaped moderation response"),
) -> None:
    """Check a prompt against the content policy, as the API does before queueing a job."""
    from zoetrope.safety import check_prompt, to_openai

    result = check_prompt(prompt)
    if as_json:
        typer.echo(json.dumps(to_openai([result], texts=[prompt]), indent=2))
        return
    if not result.flagged:
        console.print("[green]allowed[/]")
        return
    console.print(f"[red]blocked[/]: {result.category}")
    for name, why in result.reasons.items():
        console.print(f"  {name}: {why}")
    raise typer.Exit(1)
