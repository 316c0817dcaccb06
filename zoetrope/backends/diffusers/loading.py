"""Loading a diffusers pipeline from a folder or a hub id, then applying the memory and speed options."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from zoetrope.backends.diffusers.options import DiffusersOptions, Runtime
from zoetrope.errors import ConfigError, ModelUnavailable

log = logging.getLogger(__name__)

GiB = 1 << 30
# Room left on the GPU for activations and the VAE decode when deciding whether to offload.
HEADROOM_FRACTION, HEADROOM_MIN = 0.2, 6 * GiB


def import_diffusers() -> Any:
    """The diffusers module; ModelUnavailable with the install command when it is missing."""
    try:
        import diffusers
    except ImportError as e:
        raise ModelUnavailable(
            f"diffusers backends need the extra: pip install 'zoetrope[diffusers]' ({e})"
        ) from e
    return diffusers


def pipeline_class(name: str, allowed: tuple[str, ...]) -> Any:
    if name not in allowed:
        raise ConfigError(f"pipeline {name!r} is not one this backend runs; it runs {', '.join(allowed)}")
    return getattr(import_diffusers(), name)


def weights_source(weights: str) -> str:
    """A local folder as an absolute path, or the hub id as given."""
    path = Path(weights).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.is_absolute() or weights.startswith(".") or weights.count("/") != 1:
        raise ModelUnavailable(f"weights {weights!r}: no such folder, and not a hub id like 'org/name'")
    return weights


def check_folder(weights: str, kind: str, allowed: tuple[str, ...]) -> None:
    """For a local weights folder: ModelUnavailable unless it is a diffusers pipeline folder of one of the
    `allowed` classes with every component folder its model_index.json lists (a hub id is not checked)."""
    import json

    path = Path(weights).expanduser()
    if not path.is_dir():
        return
    index = path / "model_index.json"
    try:
        meta = json.loads(index.read_text())
    except FileNotFoundError:
        raise ModelUnavailable(f"weights {weights!r} has no model_index.json: point `weights` at a folder saved "
                               f"with save_pretrained (a *-Diffusers download), not a raw checkpoint") from None
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"weights {weights!r}: model_index.json cannot be read ({e}); "
                               f"download the model again") from None
    saved = meta.get("_class_name") if isinstance(meta, dict) else None
    if saved not in allowed:
        raise ModelUnavailable(f"weights {weights!r} hold a {saved} pipeline, which a {kind!r} model does not run "
                               f"({', '.join(allowed)}); fix the model's `backend` or `weights`")
    missing = [name for name, spec in meta.items() if not name.startswith("_") and isinstance(spec, list)
               and len(spec) == 2 and spec[0] is not None and spec[1] is not None and not (path / name).is_dir()]
    if missing:
        raise ModelUnavailable(f"weights {weights!r} lack the component folder(s) {', '.join(missing)} that its "
                               f"model_index.json lists; download the model again")


def check_device(device: str) -> None:
    """ConfigError naming `device` when this machine has no such device (only where torch is installed)."""
    try:
        import torch
    except ImportError:
        return
    kind = device.split(":")[0]
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r}: this machine has no CUDA GPU that torch can use; "
                              f"set the model's `device` to 'auto' or 'cpu'", param="device")
        index = int(device.split(":")[1]) if ":" in device and device.split(":")[1].isdigit() else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s); "
                              f"set the model's `device` to 'cuda:0'..'cuda:{torch.cuda.device_count() - 1}'",
                              param="device")
    elif kind == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError(f"device {device!r}: this machine has no Apple GPU (mps) that torch can use; "
                              f"set the model's `device` to 'auto' or 'cpu'", param="device")
    elif kind not in ("cpu", "auto"):
        raise ConfigError(f"device {device!r} is not one Zoetrope runs on; set the model's `device` to "
                          f"'auto', 'cuda', 'cuda:N', 'mps' or 'cpu'", param="device")


def load_pipeline(cls: Any, options: DiffusersOptions, runtime: Runtime) -> tuple[Any, str]:
    """`cls.from_pretrained(weights)` in the runtime's dtypes, configured and placed; and the offload used."""
    import torch

    source = weights_source(options.weights)
    dtypes = {"default": getattr(torch, runtime.dtype), "vae": getattr(torch, runtime.vae_dtype)}
    try:
        pipe = cls.from_pretrained(source, dtype=dtypes, local_files_only=options.local_files_only,
                                   revision=options.revision)
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"cannot load {cls.__name__} weights from {source!r}: {e}") from e
    pipe.set_progress_bar_config(disable=True)
    configure(pipe, options, runtime)
    offload = runtime.offload or decide_offload(pipe, runtime.device)
    place(pipe, offload, runtime.device)
    log.info("loaded %s on %s (%s, vae %s, offload %s, tiling %s, cache %s, compile %s)", cls.__name__,
             runtime.device, runtime.dtype, runtime.vae_dtype, offload, runtime.vae_tiling, options.cache,
             options.compile)
    if options.compile:
        for transformer in transformers_of(pipe):
            if getattr(transformer, "_repeated_blocks", None):
                transformer.compile_repeated_blocks(fullgraph=True)  # regional: the block, compiled once
            else:
                transformer.compile()
    return pipe, offload


def sibling_pipeline(cls: Any, pipe: Any) -> Any:
    """`cls` over the same modules and pipeline config as `pipe` (no copy, no dtype change, unlike from_pipe)."""
    import inspect

    params = inspect.signature(cls.__init__).parameters
    parts = {k: v for k, v in pipe.components.items() if k in params}
    parts.update({k: v for k, v in pipe.config.items() if k in params and k not in parts and not k.startswith("_")})
    sibling = cls(**parts)
    sibling.set_progress_bar_config(disable=True)
    return sibling


def transformers_of(pipe: Any) -> list[Any]:
    """The denoising transformers (Wan 2.2 A14B has a second one for the low-noise steps)."""
    return [m for m in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)) if m is not None]


def configure(pipe: Any, options: DiffusersOptions, runtime: Runtime) -> None:
    """Attention backend, step cache, VAE tiling and slicing: what lives on the modules themselves."""
    for transformer in transformers_of(pipe):
        if options.attention_backend:
            try:
                transformer.set_attention_backend(options.attention_backend)
            except (ValueError, ImportError, RuntimeError) as e:
                raise ConfigError(f"attention_backend {options.attention_backend!r}: {e}") from e
        if options.cache == "first_block":
            from diffusers.hooks import FirstBlockCacheConfig

            transformer.enable_cache(FirstBlockCacheConfig(threshold=options.cache_threshold))
    vae = pipe.vae
    if runtime.vae_tiling and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    if options.vae_slicing and hasattr(vae, "enable_slicing"):
        vae.enable_slicing()


def place(pipe: Any, offload: str, device: str) -> None:
    """All modules on `device`, or hooks that move each there only while it runs."""
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)


def parameter_bytes(pipe: Any) -> int:
    import torch

    modules = [m for m in pipe.components.values() if isinstance(m, torch.nn.Module)]
    return sum(p.numel() * p.element_size() for m in modules for p in m.parameters())


def decide_offload(pipe: Any, device: str) -> str:
    """'model' when the weights plus working room exceed the GPU's memory, else 'none'."""
    import torch

    if not device.startswith("cuda"):
        return "none"
    total = torch.cuda.get_device_properties(torch.device(device)).total_memory
    needed = parameter_bytes(pipe) + max(HEADROOM_MIN, int(HEADROOM_FRACTION * total))
    return "model" if needed > total else "none"
