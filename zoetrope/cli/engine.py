"""`zoetrope train|generate|image`: the engine from the command line, with progress bars."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from zoetrope.cli import app
from zoetrope.cli.tasks import MAX_GUIDANCE, MAX_STEPS, STEPS_HELP
from zoetrope.errors import InvalidRequest

_DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]+)?|mps")


def _check_run(size: str, sizes: dict, device: str, out: Path, **files: Path | None) -> None:
    """Refuse a config name, a device, a missing input file or a run folder that cannot be made
    before a run renders any data."""
    if size not in sizes:
        raise InvalidRequest(f"--size {size!r} is not a config; use one of {', '.join(sizes)}", param="--size")
    if not _DEVICE.fullmatch(device):
        raise InvalidRequest(f"--device {device!r} is not a device; use auto, cpu, cuda (or cuda:N) or mps",
                             param="--device")
    for option, path in files.items():
        if path is not None and not path.exists():
            name = "--" + option.replace("_", "-")
            raise InvalidRequest(f"{name} {path} does not exist; give a checkpoint.pt or a weights folder",
                                 param=name)
    # Made now, as the run would make it, so a place it cannot be is said before any work; then
    # removed again, so a refusal further on (a bad --crop) leaves no empty run folder behind.
    missing = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidRequest(f"--out {out}: cannot make the run folder there ({e.strerror or e}); choose another "
                             "place", param="--out") from None
    for made in missing:  # deepest first
        made.rmdir()


train_app = typer.Typer(help="Train the bundled model's networks (resumable: rerun to continue).", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("vae")
def train_vae_cmd(
    out: Path = typer.Option(Path("runs/vae"), help="run folder (checkpoint.pt lives here)"),
    steps: int = typer.Option(4000, min=1, help="total optimizer steps"),
    batch: int = typer.Option(16, min=1),
    size: str = typer.Option("S", help="config: tiny or S"),
    minutes: float = typer.Option(None, help="stop after this many minutes (resume later)"),
    device: str = typer.Option("auto", help="cpu, cuda or auto"),
    lr: float = typer.Option(2e-3),
    init: Path = typer.Option(None, help="start from this VAE checkpoint's weights (or a weights folder "
                                         "such as zoetrope/weights)"),
    freeze_encoder: bool = typer.Option(False, help="train the decoder only (cached latents stay valid)"),
    temporal_weight: float = typer.Option(0.0, help="weight of the frame-to-frame change loss (against "
                                                    "jumps between latent frames)"),
    silhouette_weight: float = typer.Option(0.0, help="weight of a hinge that keeps each pixel on its side of the "
                                                      "analyzer's object/backdrop threshold (crisp small shapes)"),
    frames: int = typer.Option(9, help="video frames per training clip, 1 + 4k: 17 matches the DiT's windows"),
    crop: int = typer.Option(32, help="train on random crops of this size from 64x64 clips, a multiple of 8; "
                                      "64 trains on whole frames (slower, sharper at full size)"),
    pool: int = typer.Option(3000, min=1, help="clips rendered once into the run folder and drawn from at random"),
) -> None:
    """Train the causal video VAE on the procedural world."""
    from zoetrope.model.vae import VAE_CONFIGS
    from zoetrope.train.common import load_checkpoint, pick_device, save_checkpoint
    from zoetrope.train.vae import VAETrainConfig, evaluate_vae, latent_scale, train_vae

    _check_run(size, VAE_CONFIGS, device, out, init=init)
    try:
        cfg = VAETrainConfig(out=out, steps=steps, batch=batch, size=size, max_minutes=minutes, device=device, lr=lr,
                             init=init, freeze_encoder=freeze_encoder, temporal_weight=temporal_weight,
                             silhouette_weight=silhouette_weight, frames=frames,
                             crop=crop, pool=pool)
    except ValueError as e:
        field = str(e).split()[0]  # VAETrainConfig's errors open with the field's name
        raise typer.BadParameter(str(e), param_hint="--" + field.replace("_", "-")) from None
    path = train_vae(cfg)
    state = load_checkpoint(path)
    from zoetrope.model.vae import VAEConfig, VideoVAE

    c = state["vae_config"]
    vae = VideoVAE(VAEConfig.from_dict(c))
    vae.load_state_dict(state["model"])
    dev = pick_device(device)
    vae.to(dev).eval()
    state["scaling"] = latent_scale(vae, dev)
    state["psnr"] = evaluate_vae(vae, dev)
    save_checkpoint(path, **state)
    typer.echo(f"VAE step {state['step']}: held-out PSNR {state['psnr']:.2f} dB, latent scale {state['scaling']:.3f}")


@train_app.command("dit")
def train_dit_cmd(
    out: Path = typer.Option(Path("runs/dit"), help="run folder (cache.pt and checkpoint.pt live here)"),
    vae: Path = typer.Option(Path("runs/vae/checkpoint.pt"), help="trained VAE checkpoint (or a weights folder)"),
    init: Path = typer.Option(None, help="start from these DiT weights: a checkpoint or a weights folder "
                                         "such as zoetrope/weights"),
    steps: int = typer.Option(20000, min=1),
    batch: int = typer.Option(32, min=1),
    size: str = typer.Option("S", help="config: tiny, S or B"),
    lr: float = typer.Option(3e-4),
    minutes: float = typer.Option(None, help="stop after this many minutes (resume later)"),
    device: str = typer.Option("auto", help="cpu, cuda or auto"),
    data_seed: int = typer.Option(0, help="seed of the world clips in the cache (another seed: fresh clips)"),
    data_scale: float = typer.Option(1.0, help="multiplies every bucket's clip count"),
    masks: str = typer.Option("0.5,0.2,0.1,0.1,0.1", help="how often each conditioning mask is drawn, as five "
                                                           "weights: none, first frame, first k, last k, both ends"),
    late_start: int = typer.Option(0, min=0, help="video clips begin at a random frame 0..N of their scene, so windows "
                                           "that open mid-motion (extensions, long videos) are in the data"),
    video_only: bool = typer.Option(False, help="leave out the image buckets (a continuation DiT never denoises "
                                            "an image)"),
    varied_captions: float = typer.Option(0.0, min=0.0, max=1.0, help="share of captions in the 'varied' training "
                                          "style (other verbs, word orders, filler), the rest in the 'train' style"),
    time_mean: float = typer.Option(0.0, min=-3.0, max=3.0, help="location of the logit-normal that training times "
                                    "are drawn from: below 0 trains more on low noise, where outlines are decided"),
) -> None:
    """Train the diffusion transformer on cached latents (torchrun works unchanged)."""
    from zoetrope.model.dit import DIT_CONFIGS
    from zoetrope.train.dit import DiTTrainConfig, train_dit

    try:
        mask_weights = tuple(float(w) for w in masks.split(","))
        cfg = DiTTrainConfig(out=out, vae_checkpoint=vae, init=init, steps=steps, batch=batch, size=size, lr=lr,
                             max_minutes=minutes, device=device, data_seed=data_seed, data_scale=data_scale,
                             mask_weights=mask_weights, late_start=late_start, varied_captions=varied_captions,
                             video_only=video_only, time_mean=time_mean)
    except ValueError as e:  # not numbers, or not a mix DiTTrainConfig accepts
        raise typer.BadParameter(f"{masks!r}: {e}; give five weights such as 0.5,0.2,0.1,0.1,0.1",
                                 param_hint="--masks") from None
    _check_run(size, DIT_CONFIGS, device, out, vae=vae, init=init)  # after the forms: every typo before a missing file
    train_dit(cfg)


@train_app.command("export")
def export_cmd(
    vae: Path = typer.Option(Path("runs/vae/checkpoint.pt")),
    dit: Path = typer.Option(Path("runs/dit/checkpoint.pt")),
    out: Path = typer.Option(Path("zoetrope/weights"), help="where the bundled weights go"),
    continuation: Path = typer.Option(None, help="a DiT checkpoint fine-tuned on continuations (train dit "
                                      "--masks 0,w,w,0,0): denoises windows that start with known frames"),
) -> None:
    """Export fp16 EMA weights as the bundled model."""
    from zoetrope.train.export import export_weights

    for option, path in (("--vae", vae), ("--dit", dit), ("--continuation", continuation)):
        if path is not None and not path.exists():
            raise InvalidRequest(f"{option} {path} does not exist; give the checkpoint.pt that `zoetrope train` "
                                 "wrote, or a weights folder", param=option)
    typer.echo(f"wrote {export_weights(vae, dit, out, continuation=continuation)}")


DEFAULT_VIDEO = Path("out.mp4")


def _generate(prompt: str, seconds: float, size: str, seed: int, steps: int | None, guidance: float,
              out: Path, task: str = "t2v") -> Path:
    from zoetrope.settings import get_settings

    get_settings()  # a setting the engine cannot take is refused at once, not after torch loads (seconds)
    import math

    from zoetrope.backends.base import GenerationRequest
    from zoetrope.backends.bundled import BundledBackend
    from zoetrope.backends.checks import check_request
    from zoetrope.cli.media_io import check_output, release_video, writing
    from zoetrope.jobs.finalize import finalize
    from zoetrope.jobs.local import record_generation
    from zoetrope.jobs.models import new_video_id
    from zoetrope.jobs.request import check_length
    from zoetrope.jobs.sizes import parse_size, plan_size
    from zoetrope.safety import moderate_prompt
    from zoetrope.safety.keys import signing_identity

    # Everything a user can get wrong is refused before the weights load.
    if not prompt.strip():
        raise InvalidRequest("the prompt is empty; say what the video shows", param="prompt")
    check_length(prompt, "prompt")  # the API's limit: the model reads no further, moderation reads every word
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidRequest(f"--seconds must be 0 (one image) or more, got {seconds:g}", param="--seconds")
    width, height = parse_size(size, param="--size")
    if task == "t2i" and out == DEFAULT_VIDEO:  # `generate --seconds 0` with no -o: an image needs a .png
        out = out.with_suffix(".png")
    check_output(out, (".png",) if task == "t2i" else (".mp4", ".m4v", ".mov"))
    backend = BundledBackend()  # reads its config; the weights load when it first generates
    try:  # the API's rule: a size of an aspect the model makes, generated at its nearest native size
        plan = plan_size(size, backend.capabilities, backend.name)
    except InvalidRequest as e:
        raise InvalidRequest(e.message, param="--size") from None
    native = (plan.native_width, plan.native_height)
    request = GenerationRequest(prompt=prompt, width=native[0], height=native[1], seconds=seconds, seed=seed,
                                steps=steps, guidance=guidance, task=task)  # type: ignore[arg-type]
    try:
        check_request(request, fps=backend.capabilities.fps, max_seconds=backend.capabilities.max_seconds)
    except InvalidRequest as e:  # name the option that was typed: --seconds, --steps, --guidance, --seed
        option = f"--{e.param}" if e.param in ("seconds", "steps", "guidance", "seed") else e.param
        raise InvalidRequest(e.message, param=option) from None
    if native != (width, height):
        typer.echo(f"generating at native {native[0]}x{native[1]}, fitted to {width}x{height}")
    if (said := backend.plain_prompt(prompt)) is not None:
        typer.echo(f"the model reads it as: {said}")
    if task != "t2i":  # frames go to the encoder window by window: memory stays flat for any duration
        # Moderated and released like the API's videos (frame check, invisible watermark, C2PA) and
        # recorded locally, so `zoetrope verify` finds the record.
        release_video(backend, request, out, size=(width, height))
    else:
        signing_identity()  # a signing setup that would be refused at the end is refused first
        moderate_prompt(prompt)
        video_id, fps = new_video_id(), backend.capabilities.fps
        frames = next(iter(backend.generate(request)))
        with writing(out):
            frames = finalize(frames, out, generation_id=video_id, model=backend.name, width=width,
                              height=height, fps=fps, visible_watermark=False, prompt=prompt,
                              depicts_people=backend.capabilities.depicts_people)
        record_generation(video_id, out, frames, prompt=prompt, model=backend.name, task=task, seconds=0.0,
                          fps=fps)
        typer.echo(f"wrote {out} (1 frame, {width}x{height})")
        typer.echo(f"recorded as {video_id}")
    return out


@app.command()
def generate(
    prompt: str = typer.Argument(..., help="what the video shows"),
    seconds: float = typer.Option(4.0, help="duration; 0 makes one image"),
    size: str = typer.Option("64x64", help="WIDTHxHEIGHT, each side 16..4096: square (64x64), landscape (112x64) "
                             "or vertical (64x112) are native; other sizes of those aspects are generated at the nearest "
                             "and fitted"),
    seed: int = typer.Option(0, min=0,
                             help="random seed (0 or more): the same seed and options give the same video"),
    steps: int = typer.Option(None, min=1, max=MAX_STEPS, help=STEPS_HELP),
    guidance: float = typer.Option(4.0, min=0.0, help=f"classifier-free guidance scale (0 to {MAX_GUIDANCE:g})"),
    output: Path = typer.Option(DEFAULT_VIDEO, "-o", "--output", help="an .mp4 (a .png with --seconds 0); replaced if it exists"),
) -> None:
    """Generate a video (or, with --seconds 0, an image) from a prompt with the bundled model.

    Example: zoetrope generate "a red ball rolls right" --seconds 2 -o ball.mp4
    """
    _generate(prompt, seconds, size, seed, steps, guidance, output, "t2i" if seconds <= 0 else "t2v")


@app.command()
def image(
    prompt: str = typer.Argument(..., help="what the image shows"),
    size: str = typer.Option("64x64", help="WIDTHxHEIGHT, each side 16..4096"),
    seed: int = typer.Option(0, min=0, help="random seed (0 or more)"),
    steps: int = typer.Option(None, min=1, max=MAX_STEPS, help=STEPS_HELP),
    guidance: float = typer.Option(4.0, min=0.0, help=f"classifier-free guidance scale (0 to {MAX_GUIDANCE:g})"),
    output: Path = typer.Option(Path("out.png"), "-o", "--output", help="a .png file; replaced if it exists"),
) -> None:
    """Generate one image (a one-frame video) as a PNG.

    Example: zoetrope image "a blue star on grey" --size 112x64 -o star.png
    """
    _generate(prompt, 0, size, seed, steps, guidance, output, "t2i")
